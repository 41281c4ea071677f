"""Task and project counters stay exact on PostgreSQL while many transactions write the same tasks.

Under READ COMMITTED a recount that waited for another writer's row lock would count with the
snapshot taken before the wait and miss that writer's annotation; core.tasks.counters locks the
task rows in a statement of their own first, so the recount sees every committed write."""
from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.annotations.service import bulk_delete_annotations, create_annotation, delete_annotation
from core.context import Context
from core.db.unit_of_work import run_in_transaction
from core.predictions.models import Prediction
from core.predictions.service import create_prediction, delete_prediction
from core.projects.queries import project_counters
from core.tasks.models import Task
from core.users.models import User
from tests.conftest import BACKENDS, _truncate_pg
from tests.test_annotations import RESULT, make_project, make_tasks

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")

WRITERS = 16
ANNOTATORS = 4
OVERLAP = 3
WRITE_SECONDS = 3.0


@pytest.fixture
def db_url(pg_database):
    _truncate_pg(pg_database)
    return pg_database


def run_as(app, user_id: int, organization_id: int, use_case, *args):
    """One use case in its own session and transaction, as a REST request runs it."""
    session = app.state.session_factory()
    try:
        ctx = Context(session=session, settings=app.state.settings, user=session.get(User, user_id),
                      organization_id=organization_id, ports=app.state.ports)
        return run_in_transaction(session, lambda: use_case(ctx, *args))
    finally:
        session.close()


def write_for_a_while(app, actor, user_id: int, project_id: int, task_ids: list[int], seed: int, start: threading.Barrier) -> None:
    """Creates annotations (some skipped) and predictions on the same few tasks, deleting some of
    them again (one at a time and in bulk), until WRITE_SECONDS have passed."""
    rng = random.Random(seed)
    org = actor.organization_id
    annotations: list[int] = []
    predictions: list[int] = []
    start.wait()
    deadline = time.monotonic() + WRITE_SECONDS
    while time.monotonic() < deadline:
        task_id = rng.choice(task_ids)
        roll = rng.random()
        if roll < 0.55:
            body = {"result": RESULT if rng.random() < 0.9 else [], "was_cancelled": rng.random() < 0.15}
            annotation = run_as(app, user_id, org, create_annotation, task_id, body)
            annotations.append(annotation.id)
        elif roll < 0.7:
            predictions.append(run_as(app, actor.user_id, org, create_prediction, {"task": task_id, "result": RESULT}).id)
        elif roll < 0.8 and annotations:
            run_as(app, user_id, org, delete_annotation, annotations.pop(rng.randrange(len(annotations))))
        elif roll < 0.9 and len(annotations) >= 3:
            chosen = [annotations.pop(rng.randrange(len(annotations))) for _ in range(3)]
            run_as(app, user_id, org, bulk_delete_annotations, {"ids": chosen, "project": project_id})
        elif predictions:
            run_as(app, actor.user_id, org, delete_prediction, predictions.pop(rng.randrange(len(predictions))))


def expected_counters(db, task: Task) -> dict:
    """The task's counters recounted from its rows, as Label Studio defines them."""
    rows = db.execute(
        select(Annotation.completed_by_id, Annotation.was_cancelled, Annotation.result, Annotation.created_at)
        .where(Annotation.task_id == task.id).order_by(Annotation.id)
    ).all()
    finished_by = {author for author, cancelled, result, _ in rows if not cancelled and result is not None}
    labeled = len(finished_by) >= task.overlap
    return {
        "total_annotations": sum(1 for row in rows if not row.was_cancelled),
        "cancelled_annotations": sum(1 for row in rows if row.was_cancelled),
        "total_predictions": db.scalar(select(func.count(Prediction.id)).where(Prediction.task_id == task.id)),
        "is_labeled": labeled,
        "completed_at": rows[-1].created_at if labeled else None,
    }


def stored_counters(task: Task) -> dict:
    return {name: getattr(task, name) for name in ("total_annotations", "cancelled_annotations", "total_predictions", "is_labeled", "completed_at")}


def test_counters_stay_exact_under_concurrent_writes(app, actor, make_actor, db):
    project_id = make_project(actor, maximum_annotations=OVERLAP)
    task_ids = make_tasks(actor, project_id, count=3)
    annotators = [actor.user_id] + [make_actor(f"annotator{n}@example.com", same_org_as=actor).user_id for n in range(1, ANNOTATORS)]
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            write_for_a_while(app, actor, annotators[number % ANNOTATORS], project_id, task_ids, number, start)
        except BaseException as exc:  # a deadlock or any other error fails the test
            failures.append(exc)
            start.abort()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures

    db.expire_all()
    tasks = db.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id)).all()
    assert sum(expected_counters(db, task)["total_annotations"] for task in tasks) > 50, "the writers barely overlapped"
    for task in tasks:
        assert stored_counters(task) == expected_counters(db, task), f"task {task.id}"

    [counters] = project_counters(db, [project_id]).values()
    expected = [expected_counters(db, task) for task in tasks]
    assert counters["total_annotations_number"] == db.scalar(
        select(func.count(Annotation.id)).where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False))
    ) == sum(task["total_annotations"] for task in expected)
    assert counters["skipped_annotations_number"] == db.scalar(
        select(func.count(Annotation.id)).where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(True))
    )
    assert counters["total_predictions_number"] == db.scalar(select(func.count(Prediction.id)).where(Prediction.project_id == project_id))
    assert counters["finished_task_number"] == sum(task["is_labeled"] for task in expected)
