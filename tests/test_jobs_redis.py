"""Long jobs on the scale-out setup: PostgreSQL, a real Redis and real `labelgraph worker` processes.
Each test uses its own Redis namespace, so parallel runs never take each other's messages."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import select

from core.db.unit_of_work import transaction
from core.exports.snapshots import create_snapshot
from core.jobs.models import COMPLETED, QUEUED, RUNNING, Job
from core.jobs.recount_project import request_project_recount
from core.jobs.registry import DEFAULT_QUEUE, IMPORTS_QUEUE, QUEUES
from core.tasks.models import Task
from tests.conftest import BACKENDS, _free_port, _truncate_pg
from tests.test_jobs import call_service, seed_project, wait_for_job

LABELGRAPH = str(Path(sys.executable).parent / "labelgraph")
REDIS_URL = os.environ.get("LABELGRAPH_TEST_REDIS", "redis://127.0.0.1:6379/0")
# Short on purpose: the tests wait for sweeps and stale heartbeats.
FAST_SWEEPS = ["--sweep-interval", "0.3", "--requeue-after", "1", "--heartbeat-timeout", "2"]

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")


@pytest.fixture
def db_url(pg_database) -> str:
    """PostgreSQL only: workers are separate processes sharing the database."""
    _truncate_pg(pg_database)
    return pg_database


@pytest.fixture
def namespace():
    name = f"labelgraph-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(settings, namespace):
    return settings.with_(redis_url=REDIS_URL, redis_namespace=namespace)


@pytest.fixture
def start_worker(settings, tmp_path):
    """start_worker(*args) -> a running `labelgraph worker` (own process group); stopped at teardown."""
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "LABELGRAPH_REDIS_NAMESPACE": settings.redis_namespace, "SECRET_KEY": settings.secret_key,
           "LABELGRAPH_DATA_DIR": str(tmp_path)}

    def start(*args: str) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(procs)}.log", "w")
        proc = subprocess.Popen([LABELGRAPH, "worker", "--threads", "2", *FAST_SWEEPS, *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def queued_messages(settings, queues: tuple[str, ...] = QUEUES) -> int:
    """Messages waiting in Redis on `queues` (default: every job queue)."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return sum(client.llen(f"{settings.redis_namespace}:{queue}") for queue in queues)
    finally:
        client.close()


def job_status(app, job_id: int) -> tuple[str, int]:
    with transaction(app.state.session_factory) as session:
        job = session.get_one(Job, job_id)
        return job.status, job.attempts


def counters(app, project_id: int) -> list[tuple[int, bool]]:
    with transaction(app.state.session_factory) as session:
        rows = session.execute(select(Task.total_annotations, Task.is_labeled).where(Task.project_id == project_id).order_by(Task.id))
        return [tuple(row) for row in rows]


def test_job_runs_on_worker_processes(app, actor, settings, start_worker):
    project_id = seed_project(app.state.session_factory, actor, tasks=4, annotated=2)
    job = call_service(app, actor, request_project_recount, project_id)
    assert queued_messages(settings) == 1, "the API process only enqueues"
    assert wait_for_job(app.state.session_factory, job.id, statuses=(QUEUED,), timeout=1)

    start_worker("--processes", "2")
    done = wait_for_job(app.state.session_factory, job.id, timeout=60)
    assert (done.status, done.progress_done, done.progress_total, done.attempts) == (COMPLETED, 4, 4, 1)
    assert counters(app, project_id) == [(1, True)] * 2 + [(0, False)] * 2


def test_worker_refuses_to_start_without_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run([LABELGRAPH, "worker", "--data-dir", str(tmp_path)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "needs REDIS_URL" in result.stderr


def test_job_requested_while_the_broker_is_down_runs_once_a_worker_sweeps(app, actor, settings, start_worker):
    from labelgraph.app import create_app

    down = create_app(settings.with_(redis_url=f"redis://127.0.0.1:{_free_port()}/0"))  # nothing listens there
    try:
        project_id = seed_project(app.state.session_factory, actor, tasks=3, annotated=3)
        began = time.monotonic()
        job = call_service(down, actor, request_project_recount, project_id)  # the request still succeeds
        assert time.monotonic() - began < 5
    finally:
        down.state.engine.dispose()
    assert queued_messages(settings) == 0
    assert wait_for_job(app.state.session_factory, job.id, statuses=(QUEUED,), timeout=1)

    start_worker()  # a good broker: its sweep sends the forgotten job
    done = wait_for_job(app.state.session_factory, job.id, timeout=60)
    assert (done.status, done.attempts) == (COMPLETED, 1)
    assert counters(app, project_id) == [(1, True)] * 3


def test_worker_killed_mid_job_and_restarted_finishes_it(app, actor, settings, start_worker):
    project_id = seed_project(app.state.session_factory, actor, tasks=5, annotated=5)
    # Hold the project's task rows so the worker blocks inside its first batch: it is mid-job when killed.
    blocker = psycopg.connect(settings.database_url)
    try:
        blocker.execute("SELECT id FROM tasks WHERE project_id = %s FOR UPDATE", (project_id,))
        job = call_service(app, actor, request_project_recount, project_id)
        first = start_worker()
        running = wait_for_job(app.state.session_factory, job.id, statuses=(RUNNING,), timeout=60)
        assert running.attempts == 1
        time.sleep(1)  # past the claim and the first progress report, into the blocked batch
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
    with transaction(app.state.session_factory) as session:
        orphan = session.get(Job, job.id)
        assert (orphan.status, orphan.progress_done) == (RUNNING, 0), "the killed worker finished nothing"

    start_worker()  # sees the heartbeat go stale, re-enqueues, reclaims
    done = wait_for_job(app.state.session_factory, job.id, timeout=60)
    assert (done.status, done.attempts, done.progress_done) == (COMPLETED, 2, 5)
    assert counters(app, project_id) == [(1, True)] * 5


def test_a_short_job_runs_while_long_work_fills_its_own_worker(app, actor, settings, start_worker):
    """A Data Manager action job is taken by the `--queues default` worker while an export holds
    the one thread of the `--queues imports,exports` worker."""
    app.state.settings = app.state.settings.with_(dm_action_job_threshold=1)
    exported = seed_project(app.state.session_factory, actor, tasks=3, annotated=3)
    acted_on = seed_project(app.state.session_factory, actor, tasks=4, annotated=0)
    # Hold the snapshot's row: the export job blocks in its final UPDATE, still running.
    blocker = psycopg.connect(settings.database_url)
    try:
        snapshot = call_service(app, actor, create_snapshot, exported, {})
        blocker.execute("SELECT id FROM exports WHERE id = %s FOR UPDATE", (snapshot.export.id,))
        start_worker("--queues", "imports,exports", "--threads", "1")
        start_worker("--queues", "default", "--threads", "1")
        wait_for_job(app.state.session_factory, snapshot.export.job_id, statuses=(RUNNING,), timeout=60)

        response = actor.client.post("/api/dm/actions/", params={"id": "delete_tasks", "project": acted_on},
                                     json={"selectedItems": {"all": True, "excluded": []}})
        assert response.status_code == 200, response.text
        action = wait_for_job(app.state.session_factory, response.json()["job"], timeout=30)
        assert (action.status, action.result["processed_items"]) == (COMPLETED, 4), action.error
        assert job_status(app, snapshot.export.job_id) == (RUNNING, 1), "the export is still at work"
    finally:
        blocker.rollback()
        blocker.close()
    assert wait_for_job(app.state.session_factory, snapshot.export.job_id, timeout=60).status == COMPLETED


def test_a_default_queue_worker_leaves_imports_to_import_workers(app, actor, settings, start_worker):
    app.state.settings = app.state.settings.with_(import_sync_max_bytes=0)
    project_id = seed_project(app.state.session_factory, actor, tasks=1, annotated=0)
    response = actor.client.post(f"/api/projects/{project_id}/import", files={"file": ("rows.csv", b"text\none\ntwo\n")})
    assert response.status_code == 201, response.text
    with transaction(app.state.session_factory) as session:
        import_job_id = session.scalar(select(Job.id).where(Job.kind == "import"))
    recount = call_service(app, actor, request_project_recount, project_id)

    start_worker("--queues", "default")
    assert wait_for_job(app.state.session_factory, recount.id, timeout=60).status == COMPLETED
    time.sleep(2.5)  # the import's message is more than `--requeue-after 1` old: swept at least once
    assert job_status(app, import_job_id) == (QUEUED, 0)
    assert queued_messages(settings, (DEFAULT_QUEUE,)) == 0
    assert queued_messages(settings, (IMPORTS_QUEUE,)) >= 2, "the sweeper re-sends to the kind's queue"

    start_worker("--queues", "imports")
    assert wait_for_job(app.state.session_factory, import_job_id, timeout=60).status == COMPLETED
    assert counters(app, project_id) == [(0, False)] * 3, "the seeded task and the two imported rows"
