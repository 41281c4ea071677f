"""Per-task counters (total/cancelled annotations, predictions, is_labeled, completed_at).

They live on the task row so lists, filters and project summaries never count rows per task
(project counters are sums over them, core.projects.queries.project_counters). Every write of
annotations or predictions calls `refresh_task_counters` for the touched tasks in the same
transaction, after its own writes: one UPDATE with correlated subqueries per 5,000 tasks,
preceded on PostgreSQL by a statement that locks those task rows.

Why the lock, in a statement of its own: under READ COMMITTED a statement reads with the snapshot
taken when it starts. A recount UPDATE that has to wait for another writer's lock on a task row
re-reads that row once the writer commits, but its subqueries still count with the old snapshot,
which lacks the writer's annotation: the counters drift low (or high, after deletes). Locking
first means the UPDATE starts after every earlier writer of those tasks has committed, so its
snapshot holds all their rows; a later writer waits for our lock and recounts after our commit.
A recount rather than atomic increments because is_labeled and completed_at depend on which
annotations exist (distinct annotators, newest one), which no increment can track.

The lock is FOR NO KEY UPDATE, the mode the UPDATE takes anyway: it does not conflict with the FOR
KEY SHARE lock that inserting an annotation or prediction takes on its task (the foreign key
check), whereas FOR UPDATE would, and two such writers would deadlock. Rows are locked in id order
(chunks in id order) and callers lock last, after their own writes, so writers of several tasks
(bulk deletes, Data Manager actions) take their task locks in one global order and cannot
deadlock on them. SQLite has one writer at a time, whose reads already see every commit; it
skips the lock statement."""
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
    """Recount the tasks' counters; call it after the transaction's own writes to their annotations
    and predictions (the lock it takes must be the writer's last, see above). `touched_by`: also
    mark the tasks updated now by this user (LS does on annotation and prediction writes), in the
    same statement."""
    ids = sorted(set(task_ids))
    if not ids:
        return
    session.flush()
    statement = _statement(touched=touched_by is not None)
    params = {"touched_at": utcnow(), "touched_by": touched_by} if touched_by is not None else {}
    lock_rows = session.get_bind().dialect.name != "sqlite"
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        if lock_rows:
            session.execute(_LOCK_TASKS, {"ids": chunk}).all()
        session.execute(statement, {**params, "ids": chunk}, execution_options={"synchronize_session": False})
    # Loaded Task objects would show stale counters otherwise.
    refreshed = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Task) and obj.id in refreshed:
            session.expire(obj)


# Rows come back, and are locked, in the ORDER BY's order (PostgreSQL sorts before it locks).
_LOCK_TASKS = select(Task.id).where(Task.id.in_(bindparam("ids", expanding=True))).order_by(Task.id).with_for_update(key_share=True)


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
