"""Long jobs on the embedded setup (stub broker, in-process Dramatiq worker), on SQLite and PostgreSQL:
a job runs to completed with progress, a redelivered message runs the work once, errors fail the
job readably, transient errors are retried, jobs left behind by a crash run at the next start."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from core.annotations.models import Annotation
from core.context import Context
from core.db.unit_of_work import run_in_transaction, transaction
from core.errors import NotFound, ValidationError
from core.jobs import recount_project
from core.jobs.models import COMPLETED, FAILED, QUEUED, RUNNING, Job
from core.jobs.recount_project import request_project_recount
from core.jobs.registry import DEFAULT_QUEUE, EXPORTS_QUEUE, IMPORTS_QUEUE, JOB_HANDLERS, JOB_QUEUES
from core.jobs.runner import SKIPPED, execute_job
from core.jobs.service import MAX_ATTEMPTS, claim_job, get_job, start_job
from core.projects.models import Project
from core.tasks.models import Task
from core.timeutil import utcnow
from core.users.models import User
from workers.dispatch import DramatiqJobQueue
from workers.runtime import JobSystem, WorkerOptions


class RecordingQueue:
    """A JobQueue that only remembers what it was asked to send."""

    def __init__(self):
        self.sent: list[tuple[str, int]] = []

    def enqueue(self, kind: str, job_id: int) -> None:
        self.sent.append((kind, job_id))


def seed_project(session_factory, actor, *, tasks: int, annotated: int) -> int:
    """A project whose counters are stale: annotations written behind the services' back."""
    with transaction(session_factory) as session:
        project = Project(organization_id=actor.organization_id, created_by_id=actor.user_id, title="Recount me")
        session.add(project)
        session.flush()
        session.execute(insert(Task), [{"project_id": project.id, "data": {"text": f"t{i}"}, "inner_id": i + 1} for i in range(tasks)])
        task_ids = session.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all()
        if annotated:
            session.execute(
                insert(Annotation),
                [{"task_id": task_id, "project_id": project.id, "result": [{"value": 1}], "completed_by_id": actor.user_id}
                 for task_id in task_ids[:annotated]],
            )
        return project.id


def call_service(app, actor, service, *args, ports=None):
    """Run a core use case as `actor` the way the API layers do: commit, then after-commit hooks."""
    session = app.state.session_factory()
    try:
        ctx = Context(session=session, settings=app.state.settings, user=session.get(User, actor.user_id),
                      organization_id=actor.organization_id, ports=app.state.ports if ports is None else ports)
        return run_in_transaction(session, lambda: service(ctx, *args))
    finally:
        session.close()


def wait_for_job(session_factory, job_id: int, statuses=(COMPLETED, FAILED), timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with transaction(session_factory) as session:
            job = session.get(Job, job_id)
            if job is not None and job.status in statuses:
                return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {job.status if job else 'gone'}, expected {statuses}")
        time.sleep(0.05)


def start_counting_job(app, actor, monkeypatch, behaviour=lambda job_id: None, ports=None, *, kind="count_runs",
                       queue=DEFAULT_QUEUE, runs: list[int] | None = None) -> tuple[int, list[int]]:
    """A job of a test kind (on `queue`) whose handler records each run in `runs` (then does `behaviour`)."""
    runs = [] if runs is None else runs

    def run(session_factory, settings, job_id):
        runs.append(job_id)
        behaviour(job_id)
        return {"runs": len(runs)}

    monkeypatch.setitem(JOB_HANDLERS, kind, run)
    monkeypatch.setitem(JOB_QUEUES, kind, queue)
    job = call_service(app, actor, lambda ctx: start_job(ctx, kind, {"note": "test"}), ports=ports)
    return job.id, runs


def test_recount_runs_in_process_to_completed_with_progress(app, actor, monkeypatch):
    monkeypatch.setattr(recount_project, "BATCH_SIZE", 2)
    project_id = seed_project(app.state.session_factory, actor, tasks=5, annotated=3)
    progress: list[tuple[int, int]] = []
    original = recount_project.report_progress
    monkeypatch.setattr(recount_project, "report_progress",
                        lambda session, job_id, done, total=None: (progress.append((done, total)), original(session, job_id, done, total)))

    job = call_service(app, actor, request_project_recount, project_id)
    assert job.status == QUEUED and job.project_id == project_id and job.created_by_id == actor.user_id

    done = wait_for_job(app.state.session_factory, job.id)
    assert done.status == COMPLETED, done.error
    assert (done.progress_done, done.progress_total, done.result, done.attempts) == (5, 5, {"tasks": 5}, 1)
    assert done.started_at and done.finished_at and done.error is None
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)], "progress is reported batch by batch"
    with transaction(app.state.session_factory) as session:
        counters = session.execute(select(Task.total_annotations, Task.is_labeled).where(Task.project_id == project_id).order_by(Task.id)).all()
    assert [tuple(row) for row in counters] == [(1, True)] * 3 + [(0, False)] * 2


def test_same_message_delivered_twice_runs_the_work_once(app, actor, monkeypatch):
    system = JobSystem(app.state.settings, app.state.session_factory, WorkerOptions(threads=2))
    queue = DramatiqJobQueue(system.actors)  # no worker yet: both messages wait in the stub broker
    job_id, runs = start_counting_job(app, actor, monkeypatch, ports={"jobs": queue})
    queue.enqueue("count_runs", job_id)  # the redelivery
    assert system.broker.queues[DEFAULT_QUEUE].qsize() == 2
    system.start_worker(sweep=False)
    try:
        system.broker.join(DEFAULT_QUEUE, timeout=20_000)
    finally:
        system.close()
    job = wait_for_job(app.state.session_factory, job_id)
    assert runs == [job_id]
    assert (job.status, job.attempts, job.result) == (COMPLETED, 1, {"runs": 1})


def test_concurrent_deliveries_claim_once(app, actor, monkeypatch):
    started, release = threading.Event(), threading.Event()
    job_id, runs = start_counting_job(app, actor, monkeypatch, lambda _: (started.set(), release.wait(10)), ports={"jobs": RecordingQueue()})
    first = threading.Thread(target=execute_job, args=(app.state.session_factory, app.state.settings, "count_runs", job_id))
    first.start()
    assert started.wait(10)
    # While the first delivery works (fresh heartbeat), a second one finds nothing to claim.
    assert execute_job(app.state.session_factory, app.state.settings, "count_runs", job_id) == SKIPPED
    release.set()
    first.join(10)
    assert runs == [job_id]
    assert wait_for_job(app.state.session_factory, job_id).status == COMPLETED
    assert execute_job(app.state.session_factory, app.state.settings, "count_runs", job_id) == SKIPPED, "finished jobs are not run again"


def test_claim_takes_over_a_running_job_only_when_its_heartbeat_is_stale(app, actor, monkeypatch):
    job_id, _ = start_counting_job(app, actor, monkeypatch, ports={"jobs": RecordingQueue()})
    factory = app.state.session_factory
    with transaction(factory) as session:
        assert claim_job(session, job_id).attempts == 1
    with transaction(factory) as session:
        assert claim_job(session, job_id) is None, "held by a worker with a fresh heartbeat"
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(seconds=120)))
    with transaction(factory) as session:
        job = claim_job(session, job_id)
        assert (job.status, job.attempts) == (RUNNING, 2)
    with transaction(factory) as session:
        session.execute(update(Job).where(Job.id == job_id).values(attempts=MAX_ATTEMPTS, heartbeat_at=None))
    with transaction(factory) as session:
        assert claim_job(session, job_id) is None
    job = wait_for_job(factory, job_id, timeout=1)
    assert job.status == FAILED and "Gave up after" in job.error, "a job that keeps killing its worker stops"


@pytest.mark.parametrize(
    "error, message",
    [
        (ValidationError({"file": ["Unsupported format."]}), "Validation error: file: Unsupported format."),
        (NotFound("The file upload is gone."), "The file upload is gone."),
        (RuntimeError("boom"), "RuntimeError: boom"),
    ],
)
def test_a_handler_that_raises_marks_the_job_failed_with_the_error(app, actor, monkeypatch, error, message):
    def fail(job_id):
        raise error

    job_id, runs = start_counting_job(app, actor, monkeypatch, fail)
    job = wait_for_job(app.state.session_factory, job_id)
    assert (job.status, job.error, job.result) == (FAILED, message, None)
    assert job.finished_at is not None and runs == [job_id], "domain errors are not retried"


def test_transient_database_error_gives_the_claim_back_and_the_retry_completes(app, actor, monkeypatch):
    def flaky(job_id):
        if len(runs) == 1:
            raise OperationalError("UPDATE tasks", {}, Exception("server closed the connection unexpectedly"))

    job_id, runs = start_counting_job(app, actor, monkeypatch, flaky, ports={"jobs": RecordingQueue()})
    args = (app.state.session_factory, app.state.settings, "count_runs", job_id)
    with pytest.raises(OperationalError):
        execute_job(*args)  # the actor lets it propagate: Dramatiq retries with backoff
    with transaction(app.state.session_factory) as session:
        assert session.get(Job, job_id).status == QUEUED, "released, so the retry need not wait for a stale heartbeat"
    execute_job(*args)
    job = wait_for_job(app.state.session_factory, job_id)
    assert (job.status, job.attempts, len(runs)) == (COMPLETED, 2, 2)


def test_unknown_kind_fails_the_job(app, actor):
    job = call_service(app, actor, lambda ctx: start_job(ctx, "no_such_kind", {}), ports={"jobs": RecordingQueue()})
    execute_job(app.state.session_factory, app.state.settings, "no_such_kind", job.id)
    assert wait_for_job(app.state.session_factory, job.id).error == "Unknown job kind 'no_such_kind'."


def test_jobs_left_by_a_crash_run_when_the_server_starts(app, actor, monkeypatch):
    project_id = seed_project(app.state.session_factory, actor, tasks=3, annotated=1)
    long_ago = utcnow() - timedelta(minutes=10)
    with transaction(app.state.session_factory) as session:
        rows = [
            Job(kind="recount_project", organization_id=actor.organization_id, project_id=project_id, status=QUEUED, payload={}),
            # Its worker died ten minutes ago, mid-job.
            Job(kind="recount_project", organization_id=actor.organization_id, project_id=project_id, status=RUNNING,
                payload={}, attempts=1, started_at=long_ago, heartbeat_at=long_ago, created_at=long_ago, updated_at=long_ago),
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    with TestClient(app):  # a restart: the lifespan re-enqueues what the crash left
        jobs = [wait_for_job(app.state.session_factory, job_id) for job_id in ids]
    assert [(job.status, job.attempts, job.progress_done) for job in jobs] == [(COMPLETED, 1, 3), (COMPLETED, 2, 3)]


def test_start_job_enqueues_only_after_commit(app, actor):
    queue = RecordingQueue()
    session = app.state.session_factory()
    ctx = Context(session=session, settings=app.state.settings, user=session.get(User, actor.user_id),
                  organization_id=actor.organization_id, ports={"jobs": queue})

    def start_then_fail() -> None:
        start_job(ctx, "recount_project", {"why": "test"})
        raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        run_in_transaction(session, start_then_fail)
    session.close()
    assert queue.sent == []  # a failed request: its hooks never run
    job = call_service(app, actor, lambda ctx: start_job(ctx, "recount_project", {}), ports={"jobs": queue})
    assert queue.sent == [("recount_project", job.id)]


def test_jobs_are_scoped_to_the_organization(app, actor, stranger):
    queue = RecordingQueue()
    project_id = seed_project(app.state.session_factory, actor, tasks=1, annotated=0)
    job = call_service(app, actor, request_project_recount, project_id, ports={"jobs": queue})
    assert call_service(app, actor, get_job, job.id).id == job.id
    for job_id in (job.id, 2**31, 0, -1):
        with pytest.raises(NotFound):
            call_service(app, stranger, get_job, job_id)
    with pytest.raises(NotFound):
        call_service(app, stranger, request_project_recount, project_id, ports={"jobs": queue})
    with pytest.raises(NotFound):
        call_service(app, stranger, lambda ctx: start_job(ctx, "recount_project", {}, project_id=project_id), ports={"jobs": queue})
    assert queue.sent == [("recount_project", job.id)]


def test_time_limit_fails_the_job_without_retrying(app, actor, monkeypatch):
    system = JobSystem(app.state.settings, app.state.session_factory, WorkerOptions(threads=1, time_limit=0.5))
    job_id, runs = start_counting_job(app, actor, monkeypatch, lambda _: [time.sleep(0.05) for _ in range(200)],
                                      ports={"jobs": system.queue})
    system.start_worker(sweep=False)
    try:
        job = wait_for_job(app.state.session_factory, job_id, timeout=20)
    finally:
        system.close()
    assert (job.status, job.error, runs) == (FAILED, "The job did not finish within 0:00:00.500000.", [job_id])


def test_a_short_job_completes_while_a_long_one_runs(app, actor, monkeypatch):
    """Embedded worker (every queue, shared threads): a blocked export-queue job does not hold up a
    default-queue job sent after it."""
    system = JobSystem(app.state.settings, app.state.session_factory, WorkerOptions(threads=2))
    release = threading.Event()
    try:
        long_id, _ = start_counting_job(app, actor, monkeypatch, lambda _: release.wait(30), ports={"jobs": system.queue},
                                        kind="long_export", queue=EXPORTS_QUEUE)
        wait_for_job(app.state.session_factory, long_id, statuses=(RUNNING,))
        short_id, _ = start_counting_job(app, actor, monkeypatch, ports={"jobs": system.queue}, kind="short_action")
        assert wait_for_job(app.state.session_factory, short_id, timeout=10).status == COMPLETED
        with transaction(app.state.session_factory) as session:
            assert session.get(Job, long_id).status == RUNNING
        release.set()
        assert wait_for_job(app.state.session_factory, long_id).status == COMPLETED
    finally:
        release.set()
        system.close()


def test_waiting_short_jobs_run_before_waiting_long_ones(app, actor, monkeypatch):
    """One thread, busy with an export: of the jobs that wait for it, the default-queue one
    runs first even though an import was sent before it."""
    system = JobSystem(app.state.settings, app.state.session_factory, WorkerOptions(threads=1))
    release, order = threading.Event(), []
    ports = {"jobs": system.queue}
    try:
        blocking_id, _ = start_counting_job(app, actor, monkeypatch, lambda _: release.wait(30), ports=ports,
                                            kind="long_export", queue=EXPORTS_QUEUE, runs=order)
        wait_for_job(app.state.session_factory, blocking_id, statuses=(RUNNING,))
        import_id, _ = start_counting_job(app, actor, monkeypatch, ports=ports, kind="long_import", queue=IMPORTS_QUEUE, runs=order)
        short_id, _ = start_counting_job(app, actor, monkeypatch, ports=ports, kind="short_action", runs=order)
        deadline = time.monotonic() + 10
        while any(system.broker.queues[queue].qsize() for queue in (IMPORTS_QUEUE, DEFAULT_QUEUE)):
            assert time.monotonic() < deadline, "the worker never fetched the waiting jobs"
            time.sleep(0.01)  # both wait in the worker for its one thread now
        release.set()
        for job_id in (import_id, short_id):
            assert wait_for_job(app.state.session_factory, job_id).status == COMPLETED
    finally:
        release.set()
        system.close()
    assert order == [blocking_id, short_id, import_id]
