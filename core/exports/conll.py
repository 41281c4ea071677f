"""CONLL2003 export (result.conll): one "token -X- _ tag" line per token of the task's text, BIO tags
from the first Labels control's spans, as label_studio_sdk's converter writes it."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable

from core.errors import ValidationError


@lru_cache(maxsize=1)
def _tokenizer():
    """NLTK's Treebank tokenizer, the converter's: the same tokens. Imported on first use so the
    other formats work without NLTK installed."""
    try:
        from nltk.tokenize.treebank import TreebankWordTokenizer
    except ImportError as missing:
        raise ValidationError({"export_type": ["CONLL2003 export needs the nltk package on the server"]}) from missing
    return TreebankWordTokenizer()


def tokens_and_tags(text: str, spans: list[dict] | None) -> tuple[list[str], list[str]]:
    tokens_at = [(text[start:end], start) for start, end in _tokenizer().span_tokenize(text)]
    if not spans or not all(span.get("start") is not None and span.get("end") is not None for span in spans):
        return [token for token, _ in tokens_at], ["O"] * len(tokens_at)
    pending = sorted(spans, key=lambda span: span["start"])
    span = pending.pop(0)
    span_start, span_end, prefix = span["start"], span["end"] - 1, "B-"
    tokens, tags = [], []
    for token, token_start in tokens_at:
        tokens.append(token)
        token_end = token_start + len(token) - 1
        if token_start > span_end:
            while pending:
                span = pending.pop(0)
                span_start, span_end, prefix = span["start"], span["end"] - 1, "B-"
                if token_start <= span_end:
                    break
        if not span or token_end < span_start or not span.get("labels"):
            tags.append("O")
        elif span_start <= token_end and span_end >= token_start:
            tags.append(prefix + span["labels"][0])
            prefix = "I-"
        else:
            tags.append("O")
    return tokens, tags


def write_conll(items: Iterable[dict], output_dir: Path, data_key: str | None) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / "result.conll", "w", encoding="utf8") as out:
        out.write("-DOCSTART- -X- O\n")
        for item in items:
            text = item["input"].get(data_key) if data_key else None
            if not isinstance(text, str):
                continue
            spans = next((values for values in item["output"].values() if values[0]["type"].lower() == "labels"), None)
            tokens, tags = tokens_and_tags(text, spans)
            out.write("".join(f"{token} -X- _ {tag}\n" for token, tag in zip(tokens, tags)))
            out.write("\n")
