"""Uploaded files -> task items, streamed: a file is read row by row, never loaded whole.

Formats (Label Studio's): CSV (',' or ';', guessed from the header line), TSV and TXT as lists
of tasks; JSON (one task or an array, parsed incrementally with ijson) and JSON Lines; any
other supported file (image, audio, video, PDF, ...) is one task that references the uploaded
file under the config's only object variable, and HTML/XML is one task with the body as value.

CSV/TSV columns get pandas' types as Label Studio does: a column whose values are all integers
becomes int (float when some are empty), all numbers float, anything else str. The types are
settled by a first pass over the file (`TableProfile`), so every row gets the same types."""
from __future__ import annotations

import csv
import mmap
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson
import orjson

DATA_UNDEFINED_NAME = "$undefined$"
SUPPORTED_EXTENSIONS = frozenset({
    ".bmp", ".csv", ".flac", ".gif", ".htm", ".html", ".jpg", ".jpeg", ".json", ".jsonl", ".m4a", ".mp3",
    ".ogg", ".png", ".svg", ".tsv", ".txt", ".wav", ".xml", ".mp4", ".webm", ".webp", ".pdf",
})
TASKS_LIST_FORMATS = frozenset({".csv", ".tsv", ".txt"})
HYPERTEXT_FORMATS = frozenset({".html", ".htm", ".xml"})
# A single CSV field may be big (long texts), not unbounded.
MAX_FIELD_BYTES = 10 * 1024 * 1024
csv.field_size_limit(min(sys.maxsize, MAX_FIELD_BYTES))

_INT = re.compile(r"[+-]?\d+\Z")
# Finite numbers only: inf/nan have no JSON form, such columns stay text.
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


class FileFormatError(Exception):
    """The file cannot be read as its format says; the message names the row (and field)."""


@dataclass
class TableProfile:
    """Columns of a CSV/TSV file and the type each column takes."""

    delimiter: str
    columns: list[str]
    kinds: list[str] = field(default_factory=list)  # "int", "float" or "str" per column
    rows: int = 0


def may_hold_nul(path: Path) -> bool:
    """Whether the file has a NUL byte or a JSON "\\u0000" escape: only then are its items checked
    one by one for NUL characters (which PostgreSQL cannot store)."""
    if path.stat().st_size == 0:
        return False
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as content:
        return content.find(b"\x00") >= 0 or content.find(b"\\u0000") >= 0


def _open_text(path: Path):
    # utf-8-sig: a byte-order mark is not part of the first column name.
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


def _decode_error(exc: UnicodeDecodeError, where: str) -> FileFormatError:
    return FileFormatError(f"{where}: the file is not valid UTF-8 ({exc.reason} at byte {exc.start})")


def _csv_delimiter(path: Path, file_format: str) -> str:
    if file_format == ".tsv":
        return "\t"
    with _open_text(path) as handle:
        first_line = handle.readline()
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every record after the header."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            for fields in reader:
                yield reader.line_num, fields
        except csv.Error as exc:
            raise FileFormatError(f"line {reader.line_num + 1}: malformed CSV ({exc})")
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, f"line {reader.line_num + 1}")


def profile_table(path: Path, file_format: str) -> TableProfile:
    """Read the whole CSV/TSV once: header, field counts and column types."""
    delimiter = _csv_delimiter(path, file_format)
    rows = _csv_rows(path, delimiter)
    try:
        _, header = next(rows)
    except StopIteration:
        raise FileFormatError("the file is empty (no header line)")
    if not any(name.strip() for name in header):
        raise FileFormatError("line 1: the header has no column names")
    profile = TableProfile(delimiter, header)
    width = len(header)
    all_int, all_float, has_empty = [True] * width, [True] * width, [False] * width
    for line, fields in rows:
        if not fields:
            continue  # blank line (pandas skips them too)
        if len(fields) > width:
            raise FileFormatError(f"line {line}: expected {width} fields, saw {len(fields)}")
        profile.rows += 1
        for index, value in enumerate(fields):
            if value == "":
                has_empty[index] = True
            elif all_float[index]:
                if all_int[index] and not _INT.match(value):
                    all_int[index] = False
                if not all_int[index] and not _FLOAT.match(value):
                    all_float[index] = False
        for index in range(len(fields), width):
            has_empty[index] = True
    profile.kinds = [
        "int" if all_int[i] and not has_empty[i] else "float" if all_float[i] else "str" for i in range(width)
    ]
    return profile


_CONVERTERS = {"int": int, "float": float, "str": None}


def read_table(path: Path, profile: TableProfile) -> Iterator[tuple[int, dict]]:
    """(line number, {"data": row}) for every record, typed by the profile."""
    converters = [_CONVERTERS[kind] for kind in profile.kinds]
    columns, width = profile.columns, len(profile.columns)
    rows = _csv_rows(path, profile.delimiter)
    next(rows, None)
    for line, fields in rows:
        if not fields:
            continue
        if len(fields) < width:
            fields = fields + [""] * (width - len(fields))
        data = {}
        for name, value, convert in zip(columns, fields, converters):
            # Empty cells stay "" (pandas' NaN after Label Studio's fillna('')).
            data[name] = convert(value) if convert is not None and value != "" else value
        yield line, {"data": data}


def read_text_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """TXT: one task per line (empty lines too, like Label Studio's splitlines)."""
    line_number = 0
    try:
        with open(path, encoding="utf-8-sig", errors="strict") as handle:
            for line_number, line in enumerate(handle, start=1):
                yield line_number, {"data": {DATA_UNDEFINED_NAME: line.rstrip("\r\n")}}
    except UnicodeDecodeError as exc:
        raise _decode_error(exc, f"line {line_number + 1}")


def _json_task(item: Any) -> dict:
    """Label Studio's rule: an item without a (truthy) "data" key is the data itself."""
    if isinstance(item, dict) and item.get("data"):
        return item
    return {"data": item}


def read_json(path: Path) -> Iterator[tuple[int, Any]]:
    """(item number from 1, item) of a JSON file holding one task or an array of them."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
            handle.seek(3)
        else:
            handle.seek(0)
        first = head.lstrip()[:1]
        if not first:
            raise FileFormatError("the file is empty")
        if first == b"{":
            try:
                yield 1, _json_task(orjson.loads(handle.read()))
            except orjson.JSONDecodeError as exc:
                raise FileFormatError(f"invalid JSON ({exc})")
            return
        if first != b"[":
            raise FileFormatError("invalid JSON: the root must be an object or an array of tasks")
        number = 0
        try:
            for number, item in enumerate(ijson.items(handle, "item", use_float=True), start=1):
                yield number, _json_task(item)
        except ijson.JSONError as exc:
            raise FileFormatError(f"item {number + 1}: invalid JSON ({exc})")
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, f"item {number + 1}")


def read_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """JSON Lines: one task per non-blank line."""
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line_number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                yield line_number, _json_task(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise FileFormatError(f"line {line_number}: invalid JSON ({exc})")


def read_hypertext(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        body = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _decode_error(exc, "body")
    yield 1, {"data": {DATA_UNDEFINED_NAME: body}}
