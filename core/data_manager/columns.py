"""The Data Manager's task columns: what each one is in SQL, and the /api/dm/columns/ catalogue.

Task data fields (`data.<key>`) are read with dialect-specific SQL (json_extract/json_type on
SQLite, #> / #>> / jsonb_typeof on PostgreSQL) that yields the same values on both:

- `json_key_type`: 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array', NULL when missing;
- `json_key_text`: Label Studio's text of the value (JSON null -> 'null', booleans -> 'true'/'false',
  numbers and strings as they are), NULL when missing;
- `json_key_number`: that text read as a number the way SQLite's CAST does (longest numeric
  prefix, 0 when there is none), NULL when missing. Label Studio casts data fields like this for
  Number filters, so "12" and 12 compare alike.

`data.a.b` names the key "a.b" (as in Label Studio); `data.a__b` names key "b" inside "a"."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Boolean, Float, Text, bindparam, cast, exists, false, func, literal, null, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.files.models import FileUpload
from core.label_config import data_types as label_config_data_types
from core.organizations.models import OrganizationMember
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task

DATA_PREFIX = "data."
NESTED_KEY_SEPARATOR = "__"
# Label Studio's placeholder for a task imported as a bare value (`{"$undefined$": ...}`).
DATA_UNDEFINED_NAME = "$undefined$"
# SQLite's CAST(text AS REAL) reads the longest numeric prefix; the same prefix read on PostgreSQL
# (digit runs bounded: PostgreSQL's regex limit is 255 repetitions, and NUMERIC must not overflow).
NUMERIC_PREFIX = r"^\s*([-+]?([0-9]{1,250}\.?[0-9]{0,250}|\.[0-9]{1,250})([eE][-+]?[0-9]{1,4})?)"


def _pg_clamped_float(numeric_sql: str) -> str:
    """NUMERIC -> DOUBLE PRECISION without PostgreSQL's overflow error (SQLite gives +-Inf)."""
    return f"CAST(LEAST(GREATEST({numeric_sql}, -1e308), 1e308) AS DOUBLE PRECISION)"


def data_key_path(column: str) -> tuple[str, ...]:
    """`data.a__b` -> ("a", "b"). Raises ValidationError for an empty or unreadable key."""
    keys = tuple(column[len(DATA_PREFIX):].split(NESTED_KEY_SEPARATOR))
    if not all(keys) or any('"' in key for key in keys):
        raise ValidationError({"filters": [f"Unknown task data field: {column!r}"]})
    return keys


def undefined_alias(project: Project | None, keys: tuple[str, ...]) -> ColumnElement[bool] | None:
    """Label Studio reads `data.<key>` from "$undefined$" (tasks imported as bare values, e.g.
    uploaded images) when the labeling config reads that one key only (or none, and the key is
    "data") and every task of the project has "$undefined$". Returns the SQL condition "every
    task has it" (evaluated once per query) when the alias may apply, else None."""
    if project is None or len(keys) != 1:
        return None
    config_keys = list(label_config_data_types(project.label_config))
    if not (config_keys == [keys[0]] or (not config_keys and keys[0] == "data")):
        return None
    lacking = select(Task.id).where(Task.project_id == project.id, json_key_type(Task.data, (DATA_UNDEFINED_NAME,)).is_(None))
    return ~lacking.exists()


class _JsonKey(FunctionElement):
    """Base of the data-field readers: arguments are the JSON column; `keys` is the key path.
    Not cached: the path is rendered as bound parameters built at compile time."""

    inherit_cache = False

    def __init__(self, data: ColumnElement, keys: tuple[str, ...]):
        self.keys = keys
        super().__init__(data)


class json_key_type(_JsonKey):
    type = Text()
    name = "json_key_type"
    inherit_cache = False


class json_key_text(_JsonKey):
    type = Text()
    name = "json_key_text"
    inherit_cache = False


class json_key_number(_JsonKey):
    type = Float()
    name = "json_key_number"
    inherit_cache = False


class json_key_sort_number(_JsonKey):
    """The value when it is a JSON number, else NULL (ordering puts numbers before text, as
    SQLite does with the mixed values Label Studio orders by)."""

    type = Float()
    name = "json_key_sort_number"
    inherit_cache = False


class json_key_contains(_JsonKey):
    """True when the value at the path equals `value` (a JSON scalar): PostgreSQL answers with
    `data @> {...}` (served by the GIN index on tasks.data), SQLite compares type and value."""

    type = Boolean()
    name = "json_key_contains"
    inherit_cache = False

    def __init__(self, data: ColumnElement, keys: tuple[str, ...], value: str | int | float | bool):
        self.value = value
        super().__init__(data, keys)


def _sqlite_path(compiler, element, **kw) -> str:
    path = "$" + "".join(f'."{key}"' for key in element.keys)
    return compiler.process(bindparam(None, path, type_=Text()), **kw)


def _sqlite_parts(compiler, element, **kw) -> tuple[str, str]:
    return compiler.process(element.clauses.clauses[0], **kw), _sqlite_path(compiler, element, **kw)


def _pg_path(compiler, element, **kw) -> str:
    return "CAST(" + compiler.process(bindparam(None, list(element.keys), type_=ARRAY(Text())), **kw) + " AS TEXT[])"


def _pg_parts(compiler, element, **kw) -> tuple[str, str]:
    return compiler.process(element.clauses.clauses[0], **kw), _pg_path(compiler, element, **kw)


@compiles(json_key_type, "sqlite")
def _type_sqlite(element, compiler, **kw):
    data, path = _sqlite_parts(compiler, element, **kw)
    return (
        f"CASE json_type({data}, {path}) WHEN 'text' THEN 'string' WHEN 'integer' THEN 'number' "
        f"WHEN 'real' THEN 'number' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean' "
        f"ELSE json_type({data}, {path}) END"
    )


@compiles(json_key_type, "postgresql")
def _type_pg(element, compiler, **kw):
    data, path = _pg_parts(compiler, element, **kw)
    return f"jsonb_typeof({data} #> {path})"


def _text_sqlite_sql(compiler, element, **kw) -> str:
    data, path = _sqlite_parts(compiler, element, **kw)
    return (
        f"CASE WHEN json_type({data}, {path}) IN ('null', 'true', 'false') THEN json_type({data}, {path}) "
        f"ELSE CAST(json_extract({data}, {path}) AS TEXT) END"
    )


def _text_pg_sql(compiler, element, **kw) -> str:
    data, path = _pg_parts(compiler, element, **kw)
    return f"CASE WHEN jsonb_typeof({data} #> {path}) = 'null' THEN 'null' ELSE {data} #>> {path} END"


@compiles(json_key_text, "sqlite")
def _text_sqlite(element, compiler, **kw):
    return _text_sqlite_sql(compiler, element, **kw)


@compiles(json_key_text, "postgresql")
def _text_pg(element, compiler, **kw):
    return _text_pg_sql(compiler, element, **kw)


@compiles(json_key_number, "sqlite")
def _number_sqlite(element, compiler, **kw):
    return f"CAST({_text_sqlite_sql(compiler, element, **kw)} AS REAL)"


@compiles(json_key_number, "postgresql")
def _number_pg(element, compiler, **kw):
    text = _text_pg_sql(compiler, element, **kw)
    prefix = compiler.process(bindparam(None, NUMERIC_PREFIX, type_=Text()), **kw)
    zero = "'0'"  # no numeric prefix reads as 0, as in SQLite (GREATEST/LEAST would skip a NULL)
    return (
        f"CASE WHEN ({text}) IS NULL THEN NULL "
        f"ELSE {_pg_clamped_float(f'CAST(COALESCE(substring(({text}) FROM {prefix}), {zero}) AS NUMERIC)')} END"
    )


@compiles(json_key_sort_number, "sqlite")
def _sort_number_sqlite(element, compiler, **kw):
    data, path = _sqlite_parts(compiler, element, **kw)
    return f"CASE WHEN json_type({data}, {path}) IN ('integer', 'real') THEN json_extract({data}, {path}) END"


@compiles(json_key_sort_number, "postgresql")
def _sort_number_pg(element, compiler, **kw):
    data, path = _pg_parts(compiler, element, **kw)
    number = _pg_clamped_float(f"CAST({data} #>> {path} AS NUMERIC)")
    return f"CASE WHEN jsonb_typeof({data} #> {path}) = 'number' THEN {number} END"


def _json_scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


@compiles(json_key_contains, "sqlite")
def _contains_sqlite(element, compiler, **kw):
    kind = _json_scalar_type(element.value)
    type_sql = _type_sqlite(element, compiler, **kw)
    if kind == "boolean":
        expected = compiler.process(bindparam(None, "true" if element.value else "false", type_=Text()), **kw)
        return f"(({type_sql}) = 'boolean' AND ({_text_sqlite_sql(compiler, element, **kw)}) = {expected})"
    data, path = _sqlite_parts(compiler, element, **kw)
    value_type = Float() if kind == "number" else Text()
    expected = compiler.process(bindparam(None, element.value, type_=value_type), **kw)
    return f"(({type_sql}) = '{kind}' AND json_extract({data}, {path}) = {expected})"


@compiles(json_key_contains, "postgresql")
def _contains_pg(element, compiler, **kw):
    document: Any = element.value
    for key in reversed(element.keys):
        document = {key: document}
    data = compiler.process(element.clauses.clauses[0], **kw)
    return f"({data} @> " + compiler.process(bindparam(None, document, type_=JSONB()), **kw) + ")"


class json_key_in(_JsonKey):
    """True when the value at the path equals one of `values` (JSON scalars of one kind: all
    strings, all numbers or all booleans), compared as json_key_contains compares one. One IN
    list, however many values (an OR of equalities would exceed SQLite's expression depth)."""

    type = Boolean()
    name = "json_key_in"
    inherit_cache = False

    def __init__(self, data: ColumnElement, keys: tuple[str, ...], values: list[str | int | float | bool]):
        kinds = {_json_scalar_type(value) for value in values}
        if len(kinds) != 1:
            raise ValueError("json_key_in takes a non-empty list of values of one JSON kind")
        self.kind = kinds.pop()
        self.values = values
        super().__init__(data, keys)


@compiles(json_key_in, "sqlite")
def _in_sqlite(element, compiler, **kw):
    type_sql = _type_sqlite(element, compiler, **kw)
    if element.kind == "boolean":
        listed = [("true" if value else "false") for value in element.values]
        found = _text_sqlite_sql(compiler, element, **kw)
    else:
        listed = element.values
        data, path = _sqlite_parts(compiler, element, **kw)
        found = f"json_extract({data}, {path})"
    value_type = Float() if element.kind == "number" else Text()
    params = ", ".join(compiler.process(bindparam(None, value, type_=value_type), **kw) for value in listed)
    return f"(({type_sql}) = '{element.kind}' AND {found} IN ({params}))"


@compiles(json_key_in, "postgresql")
def _in_pg(element, compiler, **kw):
    data, path = _pg_parts(compiler, element, **kw)
    documents = [json.dumps(value) for value in element.values]
    return f"(({data} #> {path}) = ANY(CAST(" + compiler.process(bindparam(None, documents, type_=ARRAY(Text())), **kw) + " AS JSONB[])))"


class binary_order(FunctionElement):
    """Text compared byte-wise (SQLite's default; COLLATE "C" on PostgreSQL), so that both
    databases order data values alike whatever the server's locale."""

    type = Text()
    name = "binary_order"
    inherit_cache = True


@compiles(binary_order, "sqlite")
def _binary_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(binary_order, "postgresql")
def _binary_pg(element, compiler, **kw):
    return "(" + compiler.process(element.clauses.clauses[0], **kw) + ') COLLATE "C"'


class group_concat(FunctionElement):
    """Label Studio's GroupConcat on SQLite: the related values joined with ','. PostgreSQL
    joins them in id order (SQLite reads them in that order too, through the task_id index)."""

    type = Text()
    name = "group_concat"
    inherit_cache = True


@compiles(group_concat, "sqlite")
def _group_concat_sqlite(element, compiler, **kw):
    value, _order = element.clauses.clauses
    return f"group_concat({compiler.process(value, **kw)})"


@compiles(group_concat, "postgresql")
def _group_concat_pg(element, compiler, **kw):
    value, order = element.clauses.clauses
    return f"string_agg(CAST({compiler.process(value, **kw)} AS TEXT), ',' ORDER BY {compiler.process(order, **kw)})"


def _joined(model, column, *, empty_as_blank: bool) -> ColumnElement:
    """The ordering value of a stacked column, as Label Studio's SQLite annotation computes it."""
    joined = select(group_concat(column, model.id)).where(model.task_id == Task.id).scalar_subquery()
    return binary_order(func.coalesce(joined, "") if empty_as_blank else joined)


# --- Task columns -----------------------------------------------------------------------------

NUMBER, STRING, BOOLEAN, DATETIME, LIST = "Number", "String", "Boolean", "Datetime", "List"


@dataclass(frozen=True)
class TaskColumn:
    """A Data Manager column over `tasks`: `value(project)` is its SQL expression (a column of
    the task row or a correlated subquery); `nullable_negation` says whether "not ..." filters
    keep rows where the value is NULL (Label Studio does for nullable model fields)."""

    name: str
    type: str
    value: Callable[[Project | None], ColumnElement]
    nullable_negation: bool = False


def _predictions_score(project: Project | None) -> ColumnElement:
    # Label Studio: the project's model version when it has one ("" included), else all.
    conditions = [Prediction.task_id == Task.id]
    if project is not None and project.model_version is not None:
        conditions.append(Prediction.model_version == project.model_version)
    return select(func.avg(Prediction.score)).where(*conditions).scalar_subquery()


def _has_ground_truth(_project) -> ColumnElement:
    return exists().where(Annotation.task_id == Task.id, Annotation.ground_truth.is_(True))


TASK_COLUMNS: dict[str, TaskColumn] = {
    column.name: column
    for column in [
        TaskColumn("id", NUMBER, lambda _p: Task.id),
        TaskColumn("inner_id", NUMBER, lambda _p: Task.inner_id),
        TaskColumn("total_annotations", NUMBER, lambda _p: Task.total_annotations),
        TaskColumn("cancelled_annotations", NUMBER, lambda _p: Task.cancelled_annotations),
        TaskColumn("total_predictions", NUMBER, lambda _p: Task.total_predictions),
        TaskColumn("is_labeled", BOOLEAN, lambda _p: Task.is_labeled),
        TaskColumn("comments", NUMBER, lambda _p: Task.comment_count),
        TaskColumn("comment_count", NUMBER, lambda _p: Task.comment_count),
        TaskColumn("unresolved_comment_count", NUMBER, lambda _p: Task.unresolved_comment_count),
        TaskColumn("completed_at", DATETIME, lambda _p: Task.completed_at),
        TaskColumn("created_at", DATETIME, lambda _p: Task.created_at),
        TaskColumn("updated_at", DATETIME, lambda _p: Task.updated_at),
        TaskColumn("last_comment_updated_at", DATETIME, lambda _p: Task.last_comment_updated_at, nullable_negation=True),
        TaskColumn("predictions_score", NUMBER, _predictions_score),
        TaskColumn("avg_lead_time", NUMBER, lambda _p: select(func.avg(Annotation.lead_time)).where(Annotation.task_id == Task.id).scalar_subquery()),
        TaskColumn("ground_truth", BOOLEAN, _has_ground_truth),
        TaskColumn("file_upload", STRING, lambda _p: select(FileUpload.file).where(FileUpload.id == Task.file_upload_id).scalar_subquery()),
        # No drafts, reviews or storage links are stored: the values every task has in Label
        # Studio Community without them.
        TaskColumn("draft_exists", BOOLEAN, lambda _p: false()),
        TaskColumn("reviewed", BOOLEAN, lambda _p: false()),
        TaskColumn("reviews_accepted", NUMBER, lambda _p: literal(0)),
        TaskColumn("reviews_rejected", NUMBER, lambda _p: literal(0)),
        TaskColumn("storage_filename", STRING, lambda _p: cast(null(), Text)),
        # Stacked values of related rows: filters on them use EXISTS (see filters.py); ordering
        # uses their joined text as Label Studio does.
        TaskColumn("annotators", LIST, lambda _p: _joined(Annotation, Annotation.completed_by_id, empty_as_blank=True)),
        TaskColumn("updated_by", LIST, lambda _p: Task.updated_by_id, nullable_negation=True),
        TaskColumn("annotations_results", STRING, lambda _p: _joined(Annotation, Annotation.result, empty_as_blank=True)),
        TaskColumn("predictions_results", STRING, lambda _p: _joined(Prediction, Prediction.result, empty_as_blank=True)),
        TaskColumn("annotations_ids", STRING, lambda _p: _joined(Annotation, Annotation.id, empty_as_blank=False)),
        TaskColumn("predictions_model_versions", LIST, lambda _p: _joined(Prediction, Prediction.model_version, empty_as_blank=False)),
    ]
}

# Columns whose values the task list evaluates only when a filter or the ordering uses them
# (Label Studio's DATA_MANAGER_ANNOTATIONS_MAP).
COMPUTED_COLUMNS = frozenset({
    "completed_at", "predictions_score", "avg_lead_time", "draft_exists", "annotators", "annotations_ids",
    "annotations_results", "predictions_results", "predictions_model_versions", "file_upload", "storage_filename",
})


def strip_column_prefix(raw: str, prefix: str) -> str:
    if not raw.startswith(prefix):
        raise ValidationError({"filters": [f"Unknown column: {raw!r}, expected {prefix}<column>"]})
    return raw[len(prefix):]


def task_column(name: str) -> TaskColumn:
    column = TASK_COLUMNS.get(name)
    if column is None:
        raise ValidationError({"filters": [f"Unknown column: {name!r}"]})
    return column


# --- The column catalogue (GET /api/dm/columns/) -----------------------------------------------

MEDIA_TYPES = ("Image", "Audio", "AudioPlus", "Video", "Unknown")


def _column(id_: str, title: str, type_: str, help_: str, explore: bool = False, labeling: bool = False, **extra) -> dict:
    return {
        "id": id_, "title": title, "type": type_, "target": "tasks", "help": help_, **extra,
        "visibility_defaults": {"explore": explore, "labeling": labeling}, "project_defined": False,
    }


def _imported_data_keys(ctx: Context, project_id: int) -> list[str]:
    """Top-level task data keys of a project, in order of first appearance."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        keys = select(func.jsonb_object_keys(Task.data).label("key"), Task.id.label("task_id")).where(
            Task.project_id == project_id, func.jsonb_typeof(Task.data) == "object"
        ).subquery()
    else:
        each = func.json_each(Task.data).table_valued("key").alias("each")
        keys = select(each.c.key.label("key"), Task.id.label("task_id")).select_from(Task).join(each, literal(True)).where(
            Task.project_id == project_id, func.json_type(Task.data) == "object"
        ).subquery()
    rows = ctx.session.execute(select(keys.c.key).group_by(keys.c.key).order_by(func.min(keys.c.task_id), keys.c.key))
    return [row.key for row in rows]


def _model_versions(ctx: Context, project_id: int) -> list[str]:
    rows = ctx.session.execute(
        select(Prediction.model_version).where(Prediction.project_id == project_id).group_by(Prediction.model_version).order_by(Prediction.model_version)
    )
    return [row.model_version for row in rows]


def _member_ids(ctx: Context, organization_id: int) -> list[int]:
    rows = ctx.session.execute(
        select(OrganizationMember.user_id).where(OrganizationMember.organization_id == organization_id, OrganizationMember.deleted_at.is_(None)).order_by(OrganizationMember.user_id)
    )
    return [row.user_id for row in rows]


@use_case(policy.PROJECTS_VIEW)
def get_all_columns(ctx: Context, project: Project) -> dict:
    """Label Studio's data_manager.functions.get_all_columns: data columns first (labeling
    config keys, then imported keys), task columns, then the `data` root."""
    config_types = {k: v for k, v in label_config_data_types(project.label_config).items() if "[" not in k}
    data_types: dict[str, str] = dict(config_types)
    for key in _imported_data_keys(ctx, project.id):
        data_types.setdefault(key, "Unknown")
    if config_types:
        data_types.pop(DATA_UNDEFINED_NAME, None)
    columns = [
        {
            "id": key,
            "title": key if key != DATA_UNDEFINED_NAME else "data",
            "type": data_type if data_type in MEDIA_TYPES else "String",
            "target": "tasks",
            "parent": "data",
            "visibility_defaults": {"explore": True, "labeling": key in config_types or key == DATA_UNDEFINED_NAME},
            "project_defined": True,
        }
        for key, data_type in data_types.items()
    ]
    children = [column["id"] for column in columns]
    members = {"items": _member_ids(ctx, project.organization_id)}
    columns += [
        _column("id", "ID", "Number", "Task ID", explore=True),
        _column("inner_id", "Inner ID", "Number", "Internal task ID starting from 1 for the current project"),
        _column("completed_at", "Completed", "Datetime", "Last annotation date", explore=True),
        _column("total_annotations", "Annotations", "Number", "Total annotations per task", explore=True, labeling=True),
        _column("cancelled_annotations", "Cancelled", "Number", "Total cancelled (skipped) annotations", explore=True),
        _column("total_predictions", "Predictions", "Number", "Total predictions per task", explore=True),
        _column("annotators", "Annotated by", "List", "All users who completed the task", explore=True, schema=members),
        _column("annotations_results", "Annotation results", "String", "Annotation results stacked over all annotations"),
        _column("annotations_ids", "Annotation IDs", "String", "Annotation IDs stacked over all annotations"),
        _column("predictions_score", "Prediction score", "Number", "Average prediction score over all task predictions"),
        _column(
            "predictions_model_versions", "Prediction model versions", "List", "Model versions aggregated over all predictions",
            schema={"items": _model_versions(ctx, project.id), "multiple": True},
        ),
        _column("predictions_results", "Prediction results", "String", "Prediction results stacked over all predictions"),
        _column("file_upload", "Upload filename", "String", "Filename of uploaded file"),
        _column("storage_filename", "Storage filename", "String", "Filename from import storage"),
        _column("created_at", "Created at", "Datetime", "Task creation time"),
        _column("updated_at", "Updated at", "Datetime", "Task update time"),
        _column("updated_by", "Updated by", "List", "User who did the last task update", schema=members),
        _column("avg_lead_time", "Lead Time", "Time", "Average lead time over all annotations"),
        _column("draft_exists", "Drafts", "Boolean", "True if at least one draft exists for the task"),
    ]
    columns.append({"id": "data", "title": "data", "type": "List", "target": "tasks", "children": children, "project_defined": False})
    return {"columns": columns}


def parse_json_value(raw: str) -> tuple[bool, Any]:
    """(ok, value) for a JSON document given as text."""
    try:
        return True, json.loads(raw)
    except (TypeError, ValueError):
        return False, None


def numeric_prefix(text: str | None) -> float | None:
    """What SQLite's CAST(text AS REAL) gives (the plain-Python twin of json_key_number)."""
    if text is None:
        return None
    match = re.match(NUMERIC_PREFIX, text)
    return float(match.group(1)) if match else 0.0


