"""Bulk writes of tasks, annotations and predictions (imports).

Imports are the hot path (tens of thousands of tasks per request), so rows skip the ORM and
are written in one pass: COPY on PostgreSQL, the driver's executemany on SQLite. Ids are
reserved up front and returned in input order. Callers validate first and refresh counters
afterwards (core.tasks.counters)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Sequence

import orjson
from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.timeutil import utcnow

BATCH_SIZE = 5000


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _take_sqlite_write_lock(session: Session) -> None:
    # A write that touches nothing still starts the write transaction: later reads of max(...)
    # cannot be overtaken by another writer.
    session.execute(text("UPDATE projects SET id = id WHERE 0"))


def lock_project(session: Session, project_id: int) -> None:
    """Serialize writers that number tasks of one project (a row lock on PostgreSQL, the
    database write lock on SQLite)."""
    if _is_postgresql(session):
        session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
    else:
        _take_sqlite_write_lock(session)


def next_inner_id(session: Session, project_id: int) -> int:
    return (session.scalar(select(func.max(Task.inner_id)).where(Task.project_id == project_id)) or 0) + 1


def _reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids for `count` new rows, ascending. PostgreSQL draws them from the table's sequence;
    SQLite takes the ids after the largest ever given (the AUTOINCREMENT counter in sqlite_sequence,
    which the insert then advances; or max(id)), after taking the database write lock, so no writer
    can interleave."""
    if _is_postgresql(session):
        drawn = session.scalar(
            text("SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) FROM generate_series(1, :count)"),
            {"table": table.name, "count": count},
        )
        return sorted(drawn)
    _take_sqlite_write_lock(session)
    largest_given = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table.name})
    first = max(session.scalar(select(func.max(table.c.id))) or 0, largest_given or 0) + 1
    return list(range(first, first + count))


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False)


def _copy_value(value: Any, is_json: bool) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if is_json:
        # JSON escapes control characters itself; only backslashes need COPY escaping.
        return _json_text(value).replace("\\", "\\\\")
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def _sqlite_value(value: Any, is_json: bool) -> Any:
    """One value as SQLAlchemy would store it in SQLite."""
    if value is None:
        return None
    if is_json:
        return _json_text(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def _write_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], constants: dict[str, Any]) -> None:
    """Insert rows: each a tuple of values for `columns`, completed with the same `constants`."""
    json_flags = [isinstance(table.c[name].type, JSON) for name in columns]
    constant_names = list(constants)
    all_columns = ", ".join([*columns, *constant_names])
    dbapi_connection = session.connection().connection.dbapi_connection
    if _is_postgresql(session):
        suffix = "\t".join(_copy_value(constants[name], isinstance(table.c[name].type, JSON)) for name in constant_names)
        cursor = dbapi_connection.cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({all_columns}) FROM STDIN") as copy:
                lines = []
                for row in rows:
                    lines.append("\t".join([*map(_copy_value, row, json_flags), suffix]))
                    if len(lines) >= BATCH_SIZE:
                        copy.write("\n".join(lines) + "\n")
                        lines = []
                if lines:
                    copy.write("\n".join(lines) + "\n")
        finally:
            cursor.close()
        return
    constant_values = tuple(_sqlite_value(constants[name], isinstance(table.c[name].type, JSON)) for name in constant_names)
    placeholders = ", ".join("?" for _ in range(len(columns) + len(constant_names)))
    statement = f"INSERT INTO {table.name} ({all_columns}) VALUES ({placeholders})"
    cursor = dbapi_connection.cursor()
    try:
        batch = []
        for row in rows:
            batch.append((*map(_sqlite_value, row, json_flags), *constant_values))
            if len(batch) >= BATCH_SIZE:
                cursor.executemany(statement, batch)
                batch = []
        if batch:
            cursor.executemany(statement, batch)
    finally:
        cursor.close()


def insert_tasks(session: Session, project: Project, tasks: Sequence[dict[str, Any]], *, import_id: int | None = None,
                 updated_by_id: int | None = None) -> list[int]:
    """Insert tasks (dicts with `data` and optional `meta`, `allow_skip`, `file_upload_id`) numbered
    max(inner_id)+1... in the project, overlap from project.maximum_annotations; returns their ids."""
    if not tasks:
        return []
    session.flush()
    lock_project(session, project.id)
    first_inner_id = next_inner_id(session, project.id)
    ids = _reserve_ids(session, Task.__table__, len(tasks))
    now = utcnow()
    constants = {
        "project_id": project.id,
        "overlap": project.maximum_annotations or 1,
        "is_labeled": False,
        "total_annotations": 0,
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "completed_at": None,
        "updated_by_id": updated_by_id,
        "import_id": import_id,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "created_at": now,
        "updated_at": now,
    }
    rows = (
        (
            task_id,
            task["data"],
            task.get("meta") if task.get("meta") is not None else {},
            first_inner_id + index,
            task.get("allow_skip", True),
            task.get("file_upload_id"),
        )
        for index, (task_id, task) in enumerate(zip(ids, tasks))
    )
    _write_rows(session, Task.__table__, ("id", "data", "meta", "inner_id", "allow_skip", "file_upload_id"), rows, constants)
    return ids


def insert_annotations(session: Session, annotations: Sequence[dict[str, Any]]) -> list[int]:
    """Insert annotations; each dict needs task_id, project_id, result, completed_by_id and may
    carry was_cancelled, ground_truth, lead_time, import_id, last_action."""
    if not annotations:
        return []
    ids = _reserve_ids(session, Annotation.__table__, len(annotations))
    now = utcnow()
    constants = {
        "updated_by_id": None,
        "last_created_by_id": None,
        "draft_created_at": None,
        "parent_prediction_id": None,
        "parent_annotation_id": None,
        "bulk_created": False,
        "unique_id": None,
        "created_at": now,
        "updated_at": now,
    }
    columns = ("id", "task_id", "project_id", "result", "completed_by_id", "was_cancelled", "ground_truth",
               "lead_time", "import_id", "last_action")
    rows = (
        (
            annotation_id,
            item["task_id"],
            item["project_id"],
            item["result"],
            item["completed_by_id"],
            bool(item.get("was_cancelled", False)),
            bool(item.get("ground_truth", False)),
            item.get("lead_time"),
            item.get("import_id"),
            item.get("last_action"),
        )
        for annotation_id, item in zip(ids, annotations)
    )
    _write_rows(session, Annotation.__table__, columns, rows, constants)
    return ids


def insert_predictions(session: Session, predictions: Sequence[dict[str, Any]]) -> list[int]:
    """Insert predictions; each dict needs task_id, project_id, result and may carry score, model_version."""
    if not predictions:
        return []
    ids = _reserve_ids(session, Prediction.__table__, len(predictions))
    now = utcnow()
    constants = {"model_id": None, "model_run_id": None, "created_at": now, "updated_at": now}
    columns = ("id", "task_id", "project_id", "result", "score", "model_version", "cluster", "neighbors", "mislabeling")
    rows = (
        (
            prediction_id,
            item["task_id"],
            item["project_id"],
            item["result"],
            item.get("score"),
            item.get("model_version") or "",
            item.get("cluster"),
            item.get("neighbors"),
            item.get("mislabeling") or 0.0,
        )
        for prediction_id, item in zip(ids, predictions)
    )
    _write_rows(session, Prediction.__table__, columns, rows, constants)
    return ids
