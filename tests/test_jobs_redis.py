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

from core.jobs.models import COMPLETED, QUEUED, RUNNING, Job
from core.jobs.recount_project import request_project_recount
from core.db.engine import transaction
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


def queued_messages(settings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return client.llen(f"{settings.redis_namespace}:jobs")
    finally:
        client.close()


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
