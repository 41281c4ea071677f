r"""Label Studio's Data Manager filter language compiled to one SQLAlchemy condition.

    {"conjunction": "and" | "or",
     "items": [{"filter": "filter:tasks:<column>", "operator": ..., "type": ..., "value": ...,
                "child_filter": {...optional, AND-ed with its parent...}}]}

Works the same on SQLite and PostgreSQL. Semantics follow Label Studio 1.23.2 (data_manager/
managers.py apply_filters): items whose value is null are ignored; "not_*" operators on task
data keep only tasks that have the key; Number filters on task data compare the value read as a
number ("12" equals 12); Boolean "equal" on task data matches JSON true/false and also the
strings "true"/"false" (what CSV imports store); "in_list"/"not_in_list" take a list of values;
ordering ties fall back to the task id (see ordering.py). As in Label Studio, two columns keep
its odd meanings:
- predictions_model_versions "contains"/"not_contains" take a list of versions (what the Data
  Manager sends) and match substrings of any of them; a string value is read, as Label Studio
  iterates it, as the list of its characters.
- annotations_results and predictions_results "empty" both look at the task's annotations:
  empty = no annotation, or one whose result is null or []; not empty = an annotation with a
  result (and, for annotations_results, none whose result is []).
Bad input raises core.errors.ValidationError (400).

Deliberate differences from Label Studio:
- "starts_with"/"ends_with" are prefix/suffix tests (case-insensitive, as "contains"); Label
  Studio treats them as "equal".
- "exists"/"not_exists" test whether a task data key is present (on other columns: whether
  the value is empty, as "empty" false/true); the value is ignored. Label Studio treats them as
  "equal"/"not_equal".
- An unknown operator is a 400; Label Studio treats it as "equal".
- "not_in_list" on task data keeps only tasks that have the key, as the other "not_*"
  operators, also for an empty list (where Label Studio keeps every task).
- "empty" on a task data field means a missing key, JSON null or "", whatever the filter type
  and whatever the first task holds; in Label Studio the answer depends on the type of that
  field in the project's first task.
- "regex" patterns are RE2 patterns, matched in time linear in the text: a pattern RE2 refuses
  (backreferences, lookarounds, \Z, repetitions over 1000) or that does not compile, or that is
  longer than MAX_REGEX_LENGTH, is a 400; Label Studio answers an invalid pattern with no tasks.
  SQLite matches with RE2 itself (`\w`, `\d`, `\s`, `\b` are ASCII there; Python's re, which
  Label Studio uses on SQLite, reads them as Unicode). PostgreSQL matches with its own engine
  (the pattern is validated by RE2 first, then tried on the database), where a few escapes
  mean something else: `\b` is a backspace, not a word boundary (PostgreSQL's is `\y`, which
  RE2 refuses), `\w`/`\d`/`\s` follow the database's locale, and `.` matches a newline.
  Patterns PostgreSQL refuses (`\z`, `\pL`, `(?P<name>...)`, flags after the start) are a 400
  there.
  A Data Manager list with a regex on PostgreSQL runs under a statement timeout
  (REGEX_STATEMENT_TIMEOUT_MS); a filter that exceeds it is a 400.
- On SQLite, Label Studio takes the string "null" for JSON null (in "equal"); here JSON null
  and "" are told apart by type, as Label Studio does on PostgreSQL."""
from __future__ import annotations

import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import Text, and_, cast, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from core.annotations.models import Annotation
from core.data_manager.columns import (
    BOOLEAN, DATA_PREFIX, DATA_UNDEFINED_NAME, DATETIME, LIST, NUMBER, STRING, TaskColumn, binary_order, data_key_path, json_key_contains,
    json_key_in, json_key_number, json_key_text, json_key_type, parse_json_value, strip_column_prefix, task_column, undefined_alias,
)
from core.db.engine import compile_regex
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
IN_LIST, NOT_IN_LIST = "in_list", "not_in_list"
CONTAINS, NOT_CONTAINS = "contains", "not_contains"
STARTS_WITH, ENDS_WITH = "starts_with", "ends_with"
EXISTS, NOT_EXISTS = "exists", "not_exists"
EMPTY, REGEX = "empty", "regex"
OPERATORS = frozenset({
    EQUAL, NOT_EQUAL, LESS, GREATER, LESS_OR_EQUAL, GREATER_OR_EQUAL, IN, NOT_IN, IN_LIST, NOT_IN_LIST,
    CONTAINS, NOT_CONTAINS, STARTS_WITH, ENDS_WITH, EXISTS, NOT_EXISTS, EMPTY, REGEX,
})
# in_list / not_in_list take at most this many values (each is a bound parameter, and SQLite
# allows 32766 per statement).
MAX_LIST_LENGTH = 5000
# A regex filter's pattern is at most this long (bounds the work of compiling it on the database).
MAX_REGEX_LENGTH = 2000
# On PostgreSQL, a Data Manager list with a regex filter may run this long per statement.
REGEX_STATEMENT_TIMEOUT_MS = 10_000
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by its timeout
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


def as_list(value: Any, convert) -> list[Any]:
    if not isinstance(value, list):
        raise _error(f'"in_list" and "not_in_list" need a list of values, got {value!r}.')
    if len(value) > MAX_LIST_LENGTH:
        raise _error(f"A list of values may have at most {MAX_LIST_LENGTH} items.")
    return [convert(item) for item in value]


def checked_regex(value: Any) -> str:
    """The pattern of a regex filter, refused (400) unless RE2 compiles it."""
    pattern = as_text(value)
    if len(pattern) > MAX_REGEX_LENGTH:
        raise _error(f"A regular expression may have at most {MAX_REGEX_LENGTH} characters.")
    try:
        compile_regex(pattern)
    except Exception as exc:  # re2.error, or anything else the compiler raises on odd input
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise _error(f"Invalid regular expression {pattern[:100]!r}: {reason[:200]}")
    return pattern


# --- compilation ----------------------------------------------------------------------------------

def compile_item(item: FilterItem, project: Project | None) -> ColumnElement[bool]:
    if item.column.startswith(DATA_PREFIX):
        keys = data_key_path(item.column)
        alias = undefined_alias(project, keys)
        if alias is None:
            return _data_condition(item, keys)
        return or_(and_(alias, _data_condition(item, (DATA_UNDEFINED_NAME,))), and_(~alias, _data_condition(item, keys)))
    column = task_column(item.column)
    if item.operator in (EXISTS, NOT_EXISTS):
        # Outside task data there is no key to be missing: "exists" is "not empty".
        item = FilterItem(item.column, EMPTY, item.type, item.operator == NOT_EXISTS)
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
    if operator in (IN_LIST, NOT_IN_LIST):
        listed = expression.in_(as_list(value, convert))
        return listed if operator == IN_LIST else not_(listed)
    converted = convert(value)
    if operator == EQUAL:
        return expression == converted
    if operator == NOT_EQUAL:
        return not_(expression == converted)
    return COMPARISONS[operator](expression, converted)


def _text_condition(operator: str, text, value) -> ColumnElement[bool] | None:
    """contains / not_contains / starts_with / ends_with / regex over a text expression (None
    for other operators)."""
    if operator in (CONTAINS, NOT_CONTAINS):
        matched = text.icontains(as_text(value), autoescape=True)
        return matched if operator == CONTAINS else not_(matched)
    if operator == STARTS_WITH:
        return text.istartswith(as_text(value), autoescape=True)
    if operator == ENDS_WITH:
        return text.iendswith(as_text(value), autoescape=True)
    if operator == REGEX:
        return text.regexp_match(checked_regex(value))
    return None


def _data_condition(item: FilterItem, keys: tuple[str, ...]) -> ColumnElement[bool]:
    value_type = json_key_type(Task.data, keys)
    present = value_type.is_not(None)
    text = json_key_text(Task.data, keys)
    operator, value = item.operator, item.value
    if operator in (EXISTS, NOT_EXISTS):
        return present if operator == EXISTS else value_type.is_(None)
    if operator == EMPTY:
        blank = or_(value_type.is_(None), value_type == "null", text == "")
        return blank if as_bool(value) else not_(blank)
    if item.type == NUMBER:
        number = json_key_number(Task.data, keys)
        text_condition = _text_condition(operator, text, value)
        if text_condition is not None:
            return text_condition
        condition = _compare(operator, number, value, as_number)
        # NOT (x IN ()) would keep the tasks without the key.
        return and_(present, condition) if operator == NOT_IN_LIST else condition
    text_condition = _text_condition(operator, text, value)
    if text_condition is not None:
        return text_condition
    if operator in (EQUAL, NOT_EQUAL):
        equal = _data_equal(keys, item.type, value)
        return equal if operator == EQUAL else and_(present, not_(equal))
    if operator in (IN_LIST, NOT_IN_LIST):
        listed = _data_in_list(keys, item.type, value)
        return listed if operator == IN_LIST else and_(present, not_(listed))
    convert = (lambda v: as_datetime(v).strftime("%Y-%m-%dT%H:%M:%S.%f")) if item.type == DATETIME else as_text
    # Byte-wise, as SQLite compares text, whatever PostgreSQL's locale.
    return _compare(operator, binary_order(text), value, convert)


def _json_scalar(filter_type: str, value: Any) -> str | int | float | bool:
    if filter_type == BOOLEAN:
        return as_bool(value)
    if isinstance(value, (dict, list)) or value is None:
        raise _error(f"A single value is required, got {value!r}.")
    return value


def _data_equal(keys: tuple[str, ...], filter_type: str, value: Any) -> ColumnElement[bool]:
    """The data field equals `value` as JSON (typed: "12" is not 12). A Boolean filter also
    matches the strings "true"/"false", as Label Studio does."""
    scalar = _json_scalar(filter_type, value)
    if filter_type == BOOLEAN:
        return or_(json_key_contains(Task.data, keys, scalar), json_key_contains(Task.data, keys, "true" if scalar else "false"))
    return json_key_contains(Task.data, keys, scalar)


def _data_in_list(keys: tuple[str, ...], filter_type: str, value: Any) -> ColumnElement[bool]:
    """The data field equals one of the listed values, each as _data_equal compares it."""
    scalars = as_list(value, lambda v: _json_scalar(filter_type, v))
    if filter_type == BOOLEAN:
        scalars += ["true" if flag else "false" for flag in scalars]
    by_kind: dict[type, list] = {}
    for scalar in scalars:
        kind = bool if isinstance(scalar, bool) else str if isinstance(scalar, str) else float
        by_kind.setdefault(kind, []).append(scalar)
    return or_(false(), *(json_key_in(Task.data, keys, values) for values in by_kind.values()))


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
        if operator in (CONTAINS, NOT_CONTAINS, STARTS_WITH, ENDS_WITH, REGEX):
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

def _row_id(value: Any, kind: str = "user") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise _error(f"A {kind} id is required, got {value!r}.")
    return int(value)


def _annotators(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    """Label Studio: contains/not_contains a user id, or empty; in_list/not_in_list any of the
    listed users; other operators are refused."""
    if item.operator == EMPTY:
        no_author = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id.is_(None))
        authored = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id.is_not(None))
        no_annotation = ~exists().where(Annotation.task_id == Task.id)
        return or_(no_annotation, no_author) if as_bool(item.value) else authored
    if item.operator in (IN_LIST, NOT_IN_LIST):
        by_any = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id.in_(as_list(item.value, _row_id)))
        return by_any if item.operator == IN_LIST else ~by_any
    if item.operator not in (CONTAINS, NOT_CONTAINS):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    by_user = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id == _row_id(item.value))
    return by_user if item.operator == CONTAINS else ~by_user


def _updated_by(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
    if item.operator == EMPTY:
        return Task.updated_by_id.is_(None) if as_bool(item.value) else Task.updated_by_id.is_not(None)
    if item.operator in (IN_LIST, NOT_IN_LIST):
        listed = Task.updated_by_id.in_(as_list(item.value, _row_id))
        return listed if item.operator == IN_LIST else or_(Task.updated_by_id.is_(None), not_(listed))
    if item.operator not in (CONTAINS, NOT_CONTAINS, EQUAL, NOT_EQUAL):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    user_id = _row_id(item.value)
    if item.operator in (CONTAINS, EQUAL):
        return Task.updated_by_id == user_id
    return or_(Task.updated_by_id.is_(None), Task.updated_by_id != user_id)


def _results_empty(item: FilterItem) -> ColumnElement[bool]:
    """Label Studio's "empty" on annotations_results and predictions_results alike: both read
    the task's annotations (its SQL joins annotations for either column). Empty: no annotation,
    or one whose result is null or []. Not empty: an annotation with a result; for
    annotations_results also no annotation whose result is [] (there the join is a subquery)."""
    related = Annotation.task_id == Task.id
    text = cast(Annotation.result, Text)
    filled = exists().where(related, Annotation.result.is_not(None), text != "null", text != "[]")
    if as_bool(item.value):
        blank = exists().where(related, or_(Annotation.result.is_(None), text == "null", text == "[]"))
        return or_(~exists().where(related), blank)
    if item.column == "annotations_results":
        return and_(filled, ~exists().where(related, text == "[]"))
    return filled


def _results(model):
    def condition(item: FilterItem, column: TaskColumn, _project) -> ColumnElement[bool]:
        related = model.task_id == Task.id
        if item.operator == EMPTY:
            return _results_empty(item)
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
    if item.operator in (CONTAINS, NOT_CONTAINS, IN_LIST, NOT_IN_LIST):
        if item.operator in (CONTAINS, NOT_CONTAINS):
            # Label Studio: "1 2,3" names annotations 1, 2 and 3.
            ids = [int(part) for part in re.split(",|;| ", as_text(item.value)) if part.isdigit()]
        else:
            ids = as_list(item.value, lambda v: _row_id(v, "annotation"))
        listed = exists().where(related, Annotation.id.in_(ids))
        return listed if item.operator in (CONTAINS, IN_LIST) else ~listed
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
    if item.operator in (IN_LIST, NOT_IN_LIST):
        listed = exists().where(related, Prediction.model_version.in_(as_list(item.value, as_text)))
        return listed if item.operator == IN_LIST else ~listed
    if item.operator not in (CONTAINS, NOT_CONTAINS):
        raise _error(f"Not supported filter type: {item.operator!r} on {column.name!r}.")
    # Label Studio iterates the value: the versions of a list, the characters of a string.
    versions = [as_text(v) for v in item.value] if isinstance(item.value, list) else list(as_text(item.value))
    matches = [exists().where(related, Prediction.model_version.contains(v, autoescape=True)) for v in versions]
    if item.operator == CONTAINS:
        return or_(*matches) if matches else true()
    return and_(*(~m for m in matches)) if matches else true()


_SPECIAL = {
    "annotators": _annotators,
    "updated_by": _updated_by,
    "annotations_results": _results(Annotation),
    "predictions_results": _results(Prediction),
    "annotations_ids": _annotation_ids,
    "predictions_model_versions": _model_versions,
}


# --- regular expressions on the database ----------------------------------------------------------

def _regex_patterns(filters: Any) -> set[str]:
    """The patterns of the regex items (children included), each checked by checked_regex."""
    if not isinstance(filters, dict) or not isinstance(filters.get("items"), list):
        return set()
    patterns = set()
    for raw in filters["items"]:
        for item in (raw, raw.get("child_filter") if isinstance(raw, dict) else None):
            if isinstance(item, dict) and item.get("operator") == REGEX and item.get("value") is not None:
                patterns.add(checked_regex(item["value"]))
    return patterns


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def check_patterns_on_database(session: Session, filters: dict[str, Any] | None) -> None:
    """Refuses (ValidationError) a regex filter whose pattern RE2 or the database refuses.
    PostgreSQL's regular expressions are not RE2's: a pattern RE2 accepts may still be refused
    there, which would fail the whole query, so each is tried first (in a savepoint)."""
    patterns = _regex_patterns(filters)
    if not patterns or not _is_postgresql(session):
        return
    for pattern in sorted(patterns):
        try:
            with session.begin_nested():
                session.execute(select(literal("").regexp_match(pattern)))
        except DBAPIError:
            raise _error(f"Invalid regular expression: {pattern!r}")


@contextmanager
def bounded_regex_work(session: Session, filters: dict[str, Any] | None) -> Iterator[None]:
    """Runs the statements of a Data Manager list under a statement timeout on PostgreSQL when
    its filters hold a regex (whose matching there is the database's, not RE2's), answering a
    cancelled statement with a ValidationError. The timeout is the transaction's only inside."""
    if not _is_postgresql(session) or not _regex_patterns(filters):
        yield
        return
    previous = session.execute(select(func.current_setting("statement_timeout"))).scalar_one()
    try:
        with session.begin_nested():
            session.execute(select(func.set_config("statement_timeout", str(REGEX_STATEMENT_TIMEOUT_MS), True)))
            yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
        raise _error(
            f"The filter is too expensive: its query ran longer than {REGEX_STATEMENT_TIMEOUT_MS // 1000} s. "
            "Use a simpler regular expression or narrow the filter."
        )
    # Released savepoints keep SET LOCAL; the rest of the transaction runs as before.
    session.execute(select(func.set_config("statement_timeout", previous, True)))
