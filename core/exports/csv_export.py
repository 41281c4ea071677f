"""CSV and TSV exports, as label_studio_sdk.converter (exports/csv2) writes them from the JSON export:
one row per task and submitted annotation, columns sorted by name, non-numbers quoted."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator

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


def csv_chunks(items: Iterable[dict], delimiter: str, prettify) -> Iterator[bytes]:
    """The file for converter items: the header needs every column, so the items are read first."""
    items = list(items)
    input_keys = {key for item in items for key in item["input"]}
    output_keys = {key for item in items for key in item["output"]}
    colliding = input_keys & output_keys
    rows = [_row(item, colliding, prettify) for item in items]
    columns = set(_FIXED_COLUMNS).union(*rows) if rows else set(_FIXED_COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=sorted(columns), quoting=csv.QUOTE_NONNUMERIC, delimiter=delimiter)
    writer.writeheader()
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        writer.writerows(rows[start:start + _ROWS_PER_CHUNK])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
