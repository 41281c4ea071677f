"""The per-task part of the JSON export rendered by the database (SQLite json_object, PostgreSQL
json_build_object): big exports then never build a Python dict per task.

`task_tail_json(dialect)` is the JSON object text of every task key after "predictions", in Label
Studio's order (the keys and order of core.shapes.tasks.exported_task_json); Python only prepends id,
annotations, drafts and predictions."""
from __future__ import annotations

from sqlalchemy import Numeric, Text, case, cast, extract, func, literal, literal_column, null, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from core.tasks.models import Task


def _sqlite_time(column) -> ColumnElement:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff"; Label Studio drops a zero fraction.
    text = type_coerce(column, Text)
    date, clock = func.substr(text, 1, 10), func.substr(text, 12, 8)
    return case(
        (column.is_(None), null()),
        (func.substr(text, 21) == "000000", date + "T" + clock + "Z"),
        else_=date + "T" + func.substr(text, 12) + "Z",
    )


def _postgres_time(column) -> ColumnElement:
    whole = func.to_char(column, literal('YYYY-MM-DD"T"HH24:MI:SS'))
    fraction = case(
        (func.mod(cast(extract("microseconds", column), Numeric), 1000000) == 0, ""),
        else_=func.to_char(column, literal(".US")),
    )
    return case((column.is_(None), null()), else_=whole + fraction + "Z")


def _sqlite_tail() -> ColumnElement:
    raw_json = func.json
    meta = case(
        (or_(Task.meta.is_(None), type_coerce(Task.meta, Text) == "null"), raw_json("{}")),
        else_=raw_json(type_coerce(Task.meta, Text)),
    )
    allow_skip = case(
        (Task.allow_skip.is_(None), null()),
        (Task.allow_skip.is_(True), raw_json("true")),
        else_=raw_json("false"),
    )
    return func.json_object(
        "data", raw_json(type_coerce(Task.data, Text)),
        "meta", meta,
        "created_at", _sqlite_time(Task.created_at),
        "updated_at", _sqlite_time(Task.updated_at),
        "allow_skip", allow_skip,
        "inner_id", Task.inner_id,
        "total_annotations", Task.total_annotations,
        "cancelled_annotations", Task.cancelled_annotations,
        "total_predictions", Task.total_predictions,
        "comment_count", Task.comment_count,
        "unresolved_comment_count", Task.unresolved_comment_count,
        "last_comment_updated_at", _sqlite_time(Task.last_comment_updated_at),
        "project", Task.project_id,
        "updated_by", Task.updated_by_id,
        "comment_authors", raw_json("[]"),
    )


def _postgres_tail() -> ColumnElement:
    empty_object = literal_column("'{}'::jsonb")
    meta = case((or_(Task.meta.is_(None), Task.meta == literal_column("'null'::jsonb")), empty_object), else_=Task.meta)
    return func.json_build_object(
        literal("data"), Task.data,
        literal("meta"), meta,
        literal("created_at"), _postgres_time(Task.created_at),
        literal("updated_at"), _postgres_time(Task.updated_at),
        literal("allow_skip"), Task.allow_skip,
        literal("inner_id"), Task.inner_id,
        literal("total_annotations"), Task.total_annotations,
        literal("cancelled_annotations"), Task.cancelled_annotations,
        literal("total_predictions"), Task.total_predictions,
        literal("comment_count"), Task.comment_count,
        literal("unresolved_comment_count"), Task.unresolved_comment_count,
        literal("last_comment_updated_at"), _postgres_time(Task.last_comment_updated_at),
        literal("project"), Task.project_id,
        literal("updated_by"), Task.updated_by_id,
        literal("comment_authors"), literal_column("'[]'::json"),
    )


def task_tail_json(dialect_name: str) -> ColumnElement | None:
    """The tail expression for this database, or None where the export builds it in Python."""
    if dialect_name == "sqlite":
        return type_coerce(_sqlite_tail(), Text).label("tail")
    if dialect_name == "postgresql":
        return cast(_postgres_tail(), Text).label("tail")
    return None
