"""Bulk writes of tasks, annotations and predictions (imports): multi-row INSERTs in batches,
ids returned in input order. Callers validate first and refresh counters afterwards."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.timeutil import utcnow

BATCH_SIZE = 2000


def _insert_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    connection = session.connection()
    ids: list[int] = []
    for start in range(0, len(rows), BATCH_SIZE):
        ids.extend(connection.execute(statement, rows[start:start + BATCH_SIZE]).scalars())
    return ids


def lock_project(session: Session, project_id: int) -> None:
    """Serialize writers that number tasks of one project (PostgreSQL row lock; SQLite has
    one writer at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Project.id).where(Project.id == project_id).with_for_update())


def next_inner_id(session: Session, project_id: int) -> int:
    return (session.scalar(select(func.max(Task.inner_id)).where(Task.project_id == project_id)) or 0) + 1


def insert_tasks(session: Session, project: Project, tasks: Sequence[dict[str, Any]], *, import_id: int | None = None,
                 updated_by_id: int | None = None) -> list[int]:
    """Insert tasks (dicts with `data` and optional `meta`, `allow_skip`, `file_upload_id`) numbered
    max(inner_id)+1... in the project, overlap from project.maximum_annotations; returns their ids."""
    if not tasks:
        return []
    session.flush()
    lock_project(session, project.id)
    first_inner_id = next_inner_id(session, project.id)
    now = utcnow()
    overlap = project.maximum_annotations or 1
    rows = [
        {
            "project_id": project.id,
            "data": task["data"],
            "meta": task.get("meta") if task.get("meta") is not None else {},
            "inner_id": first_inner_id + index,
            "overlap": overlap,
            "is_labeled": False,
            "total_annotations": 0,
            "cancelled_annotations": 0,
            "total_predictions": 0,
            "completed_at": None,
            "allow_skip": task.get("allow_skip", True),
            "updated_by_id": updated_by_id,
            "file_upload_id": task.get("file_upload_id"),
            "import_id": import_id,
            "comment_count": 0,
            "unresolved_comment_count": 0,
            "last_comment_updated_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for index, task in enumerate(tasks)
    ]
    return _insert_returning_ids(session, Task.__table__, rows)


def insert_annotations(session: Session, annotations: Sequence[dict[str, Any]]) -> list[int]:
    """Insert annotations; each dict needs task_id, project_id, result, completed_by_id and may
    carry was_cancelled, ground_truth, lead_time, import_id."""
    now = utcnow()
    rows = [
        {
            "task_id": item["task_id"],
            "project_id": item["project_id"],
            "result": item["result"],
            "completed_by_id": item["completed_by_id"],
            "updated_by_id": None,
            "last_created_by_id": None,
            "was_cancelled": bool(item.get("was_cancelled", False)),
            "ground_truth": bool(item.get("ground_truth", False)),
            "lead_time": item.get("lead_time"),
            "draft_created_at": None,
            "parent_prediction_id": None,
            "parent_annotation_id": None,
            "last_action": item.get("last_action"),
            "import_id": item.get("import_id"),
            "bulk_created": False,
            "unique_id": None,
            "created_at": now,
            "updated_at": now,
        }
        for item in annotations
    ]
    return _insert_returning_ids(session, Annotation.__table__, rows)


def insert_predictions(session: Session, predictions: Sequence[dict[str, Any]]) -> list[int]:
    """Insert predictions; each dict needs task_id, project_id, result and may carry score, model_version."""
    now = utcnow()
    rows = [
        {
            "task_id": item["task_id"],
            "project_id": item["project_id"],
            "result": item["result"],
            "score": item.get("score"),
            "model_version": item.get("model_version") or "",
            "cluster": item.get("cluster"),
            "neighbors": item.get("neighbors"),
            "mislabeling": item.get("mislabeling") or 0.0,
            "model_id": None,
            "model_run_id": None,
            "created_at": now,
            "updated_at": now,
        }
        for item in predictions
    ]
    return _insert_returning_ids(session, Prediction.__table__, rows)
