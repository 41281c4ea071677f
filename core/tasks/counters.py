"""Per-task counters (total/cancelled annotations, predictions, is_labeled, completed_at).

They live on the task row so lists, filters and project summaries never count rows per task.
Every write of annotations or predictions calls `refresh_task_counters` for the touched tasks
in the same transaction: one UPDATE with correlated subqueries, whatever the number of tasks."""
from __future__ import annotations

import functools
from typing import Iterable

from sqlalchemy import Text, and_, bindparam, case, cast, func, select, update
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.timeutil import utcnow

IGNORE_SKIPPED = "IGNORE_SKIPPED"
_CHUNK = 5000


def refresh_task_counters(session: Session, task_ids: Iterable[int], *, touched_by: int | None = None) -> None:
    """`touched_by`: also mark the tasks updated now by this user (LS does on annotation and
    prediction writes), in the same statement."""
    ids = sorted(set(task_ids))
    if not ids:
        return
    session.flush()
    statement = _statement(touched=touched_by is not None)
    params = {"touched_at": utcnow(), "touched_by": touched_by} if touched_by is not None else {}
    for start in range(0, len(ids), _CHUNK):
        session.execute(statement, {**params, "ids": ids[start:start + _CHUNK]}, execution_options={"synchronize_session": False})
    # Loaded Task objects would show stale counters otherwise.
    refreshed = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Task) and obj.id in refreshed:
            session.expire(obj)


@functools.cache
def _statement(touched: bool):
    # Built once: constructing this UPDATE costs more Python time than running it.
    statement = _update_statement(bindparam("ids", expanding=True))
    if touched:
        statement = statement.values(updated_at=bindparam("touched_at"), updated_by_id=bindparam("touched_by"))
    return statement


def _count(*conditions):
    return select(func.count(Annotation.id)).where(Annotation.task_id == Task.id, *conditions).scalar_subquery()


# A missing result: SQL NULL, or JSON null (what the JSON column type stores for None).
_HAS_RESULT = and_(Annotation.result.is_not(None), cast(Annotation.result, Text) != "null")


def _distinct_annotators(*conditions):
    # LS counts distinct `completed_by` values (a missing author counts as one).
    annotator = func.coalesce(Annotation.completed_by_id, 0)
    return select(func.count(func.distinct(annotator))).where(Annotation.task_id == Task.id, *conditions).scalar_subquery()


def _update_statement(ids):
    # Label Studio: a task is labeled when the number of distinct annotators of its finished
    # annotations (not cancelled, with a result) reaches its overlap; in IGNORE_SKIPPED
    # projects skipped (cancelled) annotations count too.
    skip_queue = select(Project.skip_queue).where(Project.id == Task.project_id).scalar_subquery()
    annotators = case(
        (skip_queue == IGNORE_SKIPPED, _distinct_annotators()),
        else_=_distinct_annotators(Annotation.was_cancelled.is_(False), _HAS_RESULT),
    )
    labeled = annotators >= Task.overlap
    # The Data Manager's completed_at: creation time of the newest annotation of a labeled task.
    newest_annotation_time = (
        select(Annotation.created_at).where(Annotation.task_id == Task.id).order_by(Annotation.id.desc()).limit(1).scalar_subquery()
    )
    return (
        update(Task)
        .where(Task.id.in_(ids))
        .values(
            updated_at=Task.updated_at,  # counters are not an edit of the task
            total_annotations=_count(Annotation.was_cancelled.is_(False)),
            cancelled_annotations=_count(Annotation.was_cancelled.is_(True)),
            total_predictions=select(func.count(Prediction.id)).where(Prediction.task_id == Task.id).scalar_subquery(),
            is_labeled=labeled,
            completed_at=case((labeled, newest_annotation_time), else_=None),
        )
    )
