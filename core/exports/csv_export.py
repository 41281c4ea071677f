"""CSV and TSV exports, as label_studio_sdk.converter (exports/csv2) writes them from the JSON export:
one row per task and submitted annotation, columns sorted by name, non-numbers quoted."""
from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterable, Iterator

import orjson

_FIXED_COLUMNS = ("annotator", "annotation_id", "created_at", "updated_at", "lead_time")
_ROWS_PER_CHUNK = 2000


def _dumps(value: Any) -> str:
    # The converter serialises with ujson: compact, non-ASCII kept, "/" escaped.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode().replace("/", "\\/")


def _is_chat(values: list) -> bool:
    return any(isinstance(region, dict) and region.get("type") in ("Chat", "chatmessage") for region in values)


def _transcript(pretty: Any) -> str:
    lines = []
    for message in pretty if isinstance(pretty, list) else []:
        if not isinstance(message, dict):
            continue
        role, content = str(message.get("role", "")), str(message.get("content", ""))
        lines.append((f"{role}: {content}" if content else f"{role}:") if role else content)
    return "\n".join(lines)


def _annotator(completed_by: Any) -> Any:
    # get_annotator() without int ids: an email for user objects, otherwise the id as a string.
    return completed_by.get("email") if isinstance(completed_by, dict) else str(completed_by)


def _row(item: dict, colliding: set[str], prettify) -> dict:
    row: dict[str, Any] = {}
    if item.get("id") is not None:
        row["id"] = item["id"]
    for name, values in item["output"].items():
        pretty = prettify(values)
        row[name] = pretty if isinstance(pretty, str) else _dumps(pretty)
        if _is_chat(values):
            row[f"{name}_transcript"] = _transcript(pretty)
    for name, value in item["input"].items():
        column = f"_data_{name}" if name in colliding else name
        row[column] = _dumps(value) if isinstance(value, (dict, list)) else value
    row["annotator"] = _annotator(item["completed_by"])
    for name in _FIXED_COLUMNS[1:]:
        row[name] = item[name]
    return row


def csv_chunks(read_items: Callable[[], Iterable[dict]], delimiter: str, prettify) -> Iterator[bytes]:
    """The file for converter items. The header needs every column before the first row, so the items
    are read twice (`read_items` gives a fresh iterator each time) instead of being held in memory."""
    input_keys: set[str] = set()
    output_keys: set[str] = set()
    transcripts: set[str] = set()
    has_id = False
    for item in read_items():
        input_keys.update(item["input"])
        output_keys.update(item["output"])
        has_id = has_id or item.get("id") is not None
        transcripts.update(f"{name}_transcript" for name, values in item["output"].items() if _is_chat(values))
    colliding = input_keys & output_keys
    columns = set(_FIXED_COLUMNS) | output_keys | transcripts
    columns |= {f"_data_{name}" if name in colliding else name for name in input_keys}
    if has_id:
        columns.add("id")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=sorted(columns), quoting=csv.QUOTE_NONNUMERIC, delimiter=delimiter)
    writer.writeheader()
    for number, item in enumerate(read_items(), start=1):
        writer.writerow(_row(item, colliding, prettify))
        if number % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
