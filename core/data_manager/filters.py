"""Label Studio's Data Manager filter language compiled to one SQLAlchemy condition.

    {"conjunction": "and" | "or",
     "items": [{"filter": "filter:tasks:<column>", "operator": ..., "type": ..., "value": ...,
                "child_filter": {...optional, AND-ed with its parent...}}]}

Works the same on SQLite and PostgreSQL. Semantics follow Label Studio 1.23.2 (data_manager/
managers.py apply_filters): items whose value is null are ignored; "not_*" operators on task
data keep only tasks that have the key; Number filters on task data compare the value read as a
number ("12" equals 12); "empty" on task data is true for a missing key, JSON null or "".
Bad input raises core.errors.ValidationError (400).

Deliberate differences from Label Studio on SQLite, whose quirks come from its SQL there: it
takes the string "null" for JSON null (in "equal" and "empty"), and counts "" as empty only when
the first task's value is a string. Here JSON null and "" are told apart by type, as Label Studio
does on PostgreSQL."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Text, and_, cast, exists, false, literal, not_, or_, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from core.annotations.models import Annotation
from core.data_manager.columns import (
    BOOLEAN, DATA_PREFIX, DATA_UNDEFINED_NAME, DATETIME, LIST, NUMBER, STRING, TaskColumn, binary_order, data_key_path, json_key_contains,
    json_key_number, json_key_text, json_key_type, parse_json_value, strip_column_prefix, task_column, undefined_alias,
)
from core.errors import ValidationError
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.validation import parse_bool

FILTER_PREFIX = "filter:tasks:"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

EQUAL, NOT_EQUAL = "equal", "not_equal"
LESS, GREATER, LESS_OR_EQUAL, GREATER_OR_EQUAL = "less", "greater", "less_or_equal", "greater_or_equal"
IN, NOT_IN = "in", "not_in"
CONTAINS, NOT_CONTAINS = "contains", "not_contains"
EMPTY, REGEX = "empty", "regex"
OPERATORS = frozenset({EQUAL, NOT_EQUAL, LESS, GREATER, LESS_OR_EQUAL, GREATER_OR_EQUAL, IN, NOT_IN, CONTAINS, NOT_CONTAINS, EMPTY, REGEX})
COMPARISONS = {
    LESS: lambda x, v: x < v,
    GREATER: lambda x, v: x > v,
    LESS_OR_EQUAL: lambda x, v: x <= v,
    GREATER_OR_EQUAL: lambda x, v: x >= v,
}

# Filter types the frontend sends: the value types, and column display types (media columns
# filter as strings; "Time" is avg_lead_time's, a number of seconds).
TYPE_ALIASES = {
    "String": STRING, "Unknown": STRING, "Number": NUMBER, "Boolean": BOOLEAN, "Datetime": DATETIME, "List": LIST,
    "Image": STRING, "Audio": STRING, "AudioPlus": STRING, "Video": STRING, "Text": STRING, "HyperText": STRING,
    "Time": NUMBER,
}


@dataclass(frozen=True)
class FilterItem:
    column: str  # without the "filter:tasks:" prefix
    operator: str
    type: str  # one of STRING, NUMBER, BOOLEAN, DATETIME, LIST
    value: Any


def _error(message: str) -> ValidationError:
    return ValidationError({"filters": [message]})


def parse_filter_item(raw: Any) -> FilterItem | None:
    """A validated filter item, or None when Label Studio would ignore it (null value)."""
    if not isinstance(raw, dict):
        raise _error("Each filter item must be an object with filter, operator, type and value.")
    missing = [key for key in ("filter", "operator", "type") if not isinstance(raw.get(key), str)]
    if missing or "value" not in raw:
        raise _error(f"Filter item is missing {', '.join(missing) or 'value'}: {raw!r}")
    column = strip_column_prefix(raw["filter"], FILTER_PREFIX)
    if "__" in column and not column.startswith(DATA_PREFIX):
        raise _error('"__" is not generally allowed in filters.')
    if raw["operator"] not in OPERATORS:
        raise _error(f"Unknown filter operator: {raw['operator']!r}")
    if raw["type"] not in TYPE_ALIASES:
        raise _error(f"Unknown filter type: {raw['type']!r}")
    value = raw["value"]
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise _error("Filter values must be finite numbers.")
    if not isinstance(value, (str, int, float, bool, dict, list)):
        raise _error(f"Unsupported filter value: {value!r}")
    return FilterItem(column, raw["operator"], TYPE_ALIASES[raw["type"]], value)


def compile_filters(filters: dict[str, Any] | None, project: Project | None) -> ColumnElement[bool]:
    """One boolean SQL expression over `tasks` (true when there is nothing to filter)."""
    if not filters:
        return true()
    if not isinstance(filters, dict):
        raise _error("filters must be an object: {conjunction, items}.")
    conjunction = filters.get("conjunction", "and")
    if conjunction not in ("and", "or"):
        raise _error(f"Unknown conjunction: {conjunction!r}, expected 'and' or 'or'.")
    items = filters.get("items") or []
    if not isinstance(items, list):
        raise _error("filters.items must be a list.")
    lines = []
    for raw in items:
        line = [item for item in (parse_filter_item(raw), _child(raw)) if item is not None]
        if line:
            lines.append(and_(*(compile_item(item, project) for item in line)))
    if not lines:
        return true()
    return or_(*lines) if conjunction == "or" else and_(*lines)


def _child(raw: Any) -> FilterItem | None:
    child = raw.get("child_filter") if isinstance(raw, dict) else None
    return parse_filter_item(child) if child is not None else None


# --- values ---------------------------------------------------------------------------------------

def as_number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _error(f"A number is required, got {value!r}.")
    if not math.isfinite(number):
        raise _error("Filter values must be finite numbers.")
    return number


def as_datetime(value: Any) -> datetime:
    """Label Studio's '%Y-%m-%dT%H:%M:%S.%fZ'; other ISO 8601 forms are accepted too."""
    if isinstance(value, str):
        try:
            return datetime.strptime(value, DATETIME_FORMAT)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                if parsed.tzinfo is not None:
                    parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)  # stored as naive UTC
                return parsed
    raise _error(f"A datetime in the format {DATETIME_FORMAT} is required, got {value!r}.")


def as_bool(value: Any) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise _error(f"A boolean is required, got {value!r}.")
    return parsed


def as_range(value: Any, convert) -> tuple[Any, Any]:
    if not isinstance(value, dict) or "min" not in value or "max" not in value:
        raise _error('"in" and "not_in" need a value like {"min": 1, "max": 7}.')
    return convert(value["min"]), convert(value["max"])


def as_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise _error(f"A string is required, got {value!r}.")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def valid_regex(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


# --- compilation ----------------------------------------------------------------------------------

def compile_item(item: FilterItem, project: Project | None) -> ColumnElement[bool]:
    if item.column.startswith(DATA_PREFIX):
        keys = data_key_path(item.column)
        alias = undefined_alias(project, keys)
        if alias is None:
            return _data_condition(item, keys)
        return or_(and_(alias, _data_condition(item, (DATA_UNDEFINED_NAME,))), and_(~alias, _data_condition(item, keys)))
    column = task_column(item.column)
    special = _SPECIAL.get(column.name)
    if special is not None:
        return special(item, column, project)
    return _column_condition(item, column, column.value(project))


def _compare(operator: str, expression, value, convert) -> ColumnElement[bool]:
    """equal/not_equal/less/greater/.../in/not_in of an SQL expression against converted values.
    A NULL expression matches nothing, negations included (SQL's NOT keeps NULL unknown)."""
    if operator in (IN, NOT_IN):
        low, high = as_range(value, convert)
        between = and_(expression >= low, expression <= high)
        return between if operator == IN else not_(between)
    converted = convert(value)
    if operator == EQUAL:
        return expression == converted
    if operator == NOT_EQUAL:
        return not_(expression == converted)
    return COMPARISONS[operator](expression, converted)


def _text_condition(operator: str, text, value) -> ColumnElement[bool] | None:
    """contains / not_contains / regex over a text expression (None for other operators)."""
    if operator in (CONTAINS, NOT_CONTAINS):
        matched = text.icontains(as_text(value), autoescape=True)
        return matched if operator == CONTAINS else not_(matched)
    if operator == REGEX:
        pattern = as_text(value)
        # Label Studio answers an invalid pattern with no tasks.
        return text.regexp_match(pattern) if valid_regex(pattern) else false()
    return None


def _data_condition(item: FilterItem, keys: tuple[str, ...]) -> ColumnElement[bool]:
    value_type = json_key_type(Task.data, keys)
    present = value_type.is_not(None)
    text = json_key_text(Task.data, keys)
    operator, value = item.operator, item.value
    if item.type == NUMBER:
        number = json_key_number(Task.data, keys)
        if operator == EMPTY:
            return number.is_(None) if as_bool(value) else number.is_not(None)
        text_condition = _text_condition(operator, text, value)
        return text_condition if text_condition is not None else _compare(operator, number, value, as_number)
    if operator == EMPTY:
        blank = or_(value_type.is_(None), value_type == "null", text == "")
        return blank if as_bool(value) else not_(blank)
    text_condition = _text_condition(operator, text, value)
    if text_condition is not None:
        return text_condition
    if operator in (EQUAL, NOT_EQUAL):
        equal = json_key_contains(Task.data, keys, _scalar(item))
        return equal if operator == EQUAL else and_(present, not_(equal))
    convert = (lambda v: as_datetime(v).strftime("%Y-%m-%dT%H:%M:%S.%f")) if item.type == DATETIME else as_text
    # Byte-wise, as SQLite compares text, whatever PostgreSQL's locale.
    return _compare(operator, binary_order(text), value, convert)


def _scalar(item: FilterItem) -> str | int | float | bool:
    """The JSON value a data-field equality looks for."""
    if item.type == BOOLEAN:
        return as_bool(item.value)
    if isinstance(item.value, (dict, list)):
        raise _error(f"A single value is required for {item.operator!r}, got {item.value!r}.")
    return item.value


def _column_condition(item: FilterItem, column: TaskColumn, expression) -> ColumnElement[bool]:
    operator, value = item.operator, item.value
    if operator == EMPTY:
        if column.name in ("total_annotations", "cancelled_annotations", "total_predictions"):
            # Label Studio: no annotations/predictions is "empty".
            return (expression == 0) if as_bool(value) else (expression != 0)
        if column.type == BOOLEAN:
            return (expression.is_(True)) if as_bool(value) else not_(expression.is_(True))
        return expression.is_(None) if as_bool(value) else expression.is_not(None)
    if column.type == NUMBER:
        text_condition = _text_condition(operator, cast(expression, Text), value)
        condition = text_condition if text_condition is not None else _compare(operator, expression, value, as_number)
    elif column.type == DATETIME:
        if operator in (CONTAINS, NOT_CONTAINS, REGEX):
            raise _error(f"Operator {operator!r} does not apply to the date column {column.name!r}.")
        condition = _compare(operator, expression, value, as_datetime)
    elif column.type == BOOLEAN:
        if operator not in (EQUAL, NOT_EQUAL):
            raise _error(f"Operator {operator!r} does not apply to the boolean column {column.name!r}.")
        condition = expression.is_(as_bool(value)) if operator == EQUAL else not_(expression.is_(as_bool(value)))
    else:
        text_condition = _text_condition(operator, expression, value)
        condition = text_condition if text_condition is not None else _compare(operator, expression, value, as_text)
    if column.nullable_negation and operator.startswith("not_"):
        return or_(expression.is_(None), condition)
    return condition


# --- columns over related rows --------------------------------------------------------------------

def _user_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise _error(f"A user id is required, got {value!r}.")
    return int(value)


def _annotators(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    """Label Studio: contains/not_contains a user id, or empty; other operators are refused."""
    if item.operator == EMPTY:
        no_author = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id.is_(None))
        authored = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id.is_not(None))
        no_annotation = ~exists().where(Annotation.task_id == Task.id)
        return or_(no_annotation, no_author) if as_bool(item.value) else authored
    if item.operator not in (CONTAINS, NOT_CONTAINS):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    by_user = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id == _user_id(item.value))
    return by_user if item.operator == CONTAINS else ~by_user


def _updated_by(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    if item.operator == EMPTY:
        return Task.updated_by_id.is_(None) if as_bool(item.value) else Task.updated_by_id.is_not(None)
    if item.operator not in (CONTAINS, NOT_CONTAINS, EQUAL, NOT_EQUAL):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    user_id = _user_id(item.value)
    if item.operator in (CONTAINS, EQUAL):
        return Task.updated_by_id == user_id
    return or_(Task.updated_by_id.is_(None), Task.updated_by_id != user_id)


def _results(model):
    def condition(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
        related = model.task_id == Task.id
        has_result = and_(model.result.is_not(None), cast(model.result, Text) != "null")
        if item.operator == EMPTY:
            filled = exists().where(related, has_result, cast(model.result, Text) != "[]")
            return ~filled if as_bool(item.value) else filled
        if item.operator in (EQUAL, NOT_EQUAL):
            ok, expected = parse_json_value(as_text(item.value))
            if not ok:
                return false()  # Label Studio answers a result that is not JSON with no tasks
            same = exists().where(related, model.result == _json_document(model, expected))
            return same if item.operator == EQUAL else ~same
        text_condition = _text_condition(item.operator, cast(model.result, Text), item.value)
        if text_condition is None:
            raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
        if item.operator == NOT_CONTAINS:
            return ~exists().where(related, not_(text_condition))
        return exists().where(related, text_condition)

    return condition


def _json_document(model, document: Any):
    return literal(document, type_=model.__table__.c.result.type)


def _annotation_ids(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    related = Annotation.task_id == Task.id
    if item.operator in (CONTAINS, NOT_CONTAINS):
        ids = [int(part) for part in re.split(",|;| ", as_text(item.value)) if part.isdigit()]
        listed = exists().where(related, Annotation.id.in_(ids))
        return listed if item.operator == CONTAINS else ~listed
    if item.operator in (EQUAL, NOT_EQUAL):
        text = as_text(item.value)
        same = exists().where(related, Annotation.id == (int(text) if text.isdigit() else 0))
        return same if item.operator == EQUAL else ~same
    if item.operator == EMPTY:
        any_annotation = exists().where(related)
        return ~any_annotation if as_bool(item.value) else any_annotation
    raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")


def _model_versions(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    related = Prediction.task_id == Task.id
    if item.operator == EMPTY:
        any_prediction = exists().where(related)
        return ~any_prediction if as_bool(item.value) else any_prediction
    if item.operator not in (CONTAINS, NOT_CONTAINS):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    versions = item.value if isinstance(item.value, list) else [item.value]
    matches = [exists().where(related, Prediction.model_version.contains(as_text(v), autoescape=True)) for v in versions]
    if item.operator == CONTAINS:
        return or_(*matches) if matches else false()
    return and_(*(~m for m in matches)) if matches else true()


_SPECIAL = {
    "annotators": _annotators,
    "updated_by": _updated_by,
    "annotations_results": _results(Annotation),
    "predictions_results": _results(Prediction),
    "annotations_ids": _annotation_ids,
    "predictions_model_versions": _model_versions,
}


def check_patterns_on_database(session: Session, filters: dict[str, Any] | None) -> None:
    """PostgreSQL's regular expressions are not Python's: a pattern Python accepts may still be
    refused there, which would fail the whole query. Each regex filter's pattern is tried first
    (in a savepoint) and refused as a ValidationError."""
    if not isinstance(filters, dict) or session.get_bind().dialect.name != "postgresql":
        return
    patterns = set()
    for raw in filters.get("items") or []:
        for item in (raw, raw.get("child_filter") if isinstance(raw, dict) else None):
            if isinstance(item, dict) and item.get("operator") == REGEX and isinstance(item.get("value"), str) and valid_regex(item["value"]):
                patterns.add(item["value"])
    for pattern in sorted(patterns):
        try:
            with session.begin_nested():
                session.execute(select(literal("").regexp_match(pattern)))
        except DBAPIError:
            raise _error(f"Invalid regular expression: {pattern!r}")
