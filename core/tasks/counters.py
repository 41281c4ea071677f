"""Per-task counters (total/cancelled annotations, predictions, is_labeled, completed_at).

They live on the task row so lists, filters and project summaries never count rows per task.
Every write of annotations or predictions calls `refresh_task_counters` for the touched tasks
in the same transaction: one UPDATE with correlated subqueries, whatever the number of tasks."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task

IGNORE_SKIPPED = "IGNORE_SKIPPED"
_CHUNK = 5000


def refresh_task_counters(session: Session, task_ids: Iterable[int]) -> None:
    ids = sorted(set(task_ids))
    if not ids:
        return
    session.flush()
    for start in range(0, len(ids), _CHUNK):
        session.execute(_update_statement(ids[start:start + _CHUNK]), execution_options={"synchronize_session": False})
    # Loaded Task objects would show stale counters otherwise.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Task) and obj.id in ids:
            session.expire(obj)


def _count(*conditions):
    return select(func.count(Annotation.id)).where(Annotation.task_id == Task.id, *conditions).scalar_subquery()


def _update_statement(ids: list[int]):
    # Label Studio: an annotation counts toward completion when it is not cancelled and has a
    # result; in IGNORE_SKIPPED projects cancelled (skipped) annotations count too.
    finished = _count(Annotation.was_cancelled.is_(False), Annotation.result.is_not(None))
    cancelled = _count(Annotation.was_cancelled.is_(True))
    skip_queue = select(Project.skip_queue).where(Project.id == Task.project_id).scalar_subquery()
    completed = case((skip_queue == IGNORE_SKIPPED, finished + cancelled), else_=finished)
    return (
        update(Task)
        .where(Task.id.in_(ids))
        .values(
            updated_at=Task.updated_at,  # counters are not an edit of the task
            total_annotations=_count(Annotation.was_cancelled.is_(False)),
            cancelled_annotations=cancelled,
            total_predictions=select(func.count(Prediction.id)).where(Prediction.task_id == Task.id).scalar_subquery(),
            is_labeled=completed >= Task.overlap,
            completed_at=select(func.max(Annotation.created_at))
            .where(Annotation.task_id == Task.id, Annotation.was_cancelled.is_(False))
            .scalar_subquery(),
        )
    )
