"""Imports that run as jobs (files bigger than settings.import_sync_max_bytes): POST .../import
answers {"import": id}, the status goes created -> in_progress -> completed/failed, tasks are
written in batches with progress, a crashed import resumes without loss or duplicates, and a
failed import leaves no tasks. First on the embedded setup (SQLite and PostgreSQL, in-process
worker), then on PostgreSQL + Redis + real `labelgraph worker` processes."""
from __future__ import annotations

import json
import os
import signal
import time

import psycopg
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from core.db.unit_of_work import transaction
from core.imports.pipeline import ImportPlan
from core.jobs.models import COMPLETED, FAILED, QUEUED, RUNNING, Job
from core.jobs.runner import SKIPPED, execute_job
from core.tasks.models import ProjectImport, Task
from tests.conftest import BACKENDS, _free_port, _truncate_pg
from tests.openapi_contract import assert_matches_spec
from tests.test_jobs import RecordingQueue, wait_for_job
from tests.test_jobs_redis import namespace, queued_messages, start_worker  # noqa: F401 (fixtures)

CONFIG = '<View><Text name="text" value="$text"/><Choices name="s" toName="text"><Choice value="pos"/></Choices></View>'
POSITIVE = [{"from_name": "s", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
SYNC_LIMIT = 200  # bytes: anything bigger runs as a job in these tests
BATCH = 7


@pytest.fixture
def settings(settings):
    return settings.with_(import_sync_max_bytes=SYNC_LIMIT, import_batch_size=BATCH)


def csv_rows(count: int) -> bytes:
    return ("text,number\n" + "".join(f"row {i},{i}\n" for i in range(count))).encode()


def make_project(client) -> int:
    response = client.post("/api/projects/", json={"title": "Job imports", "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def start_import(client, project_id: int, name: str, content: bytes, query: str = "") -> int:
    response = client.post(f"/api/projects/{project_id}/import{query}", files={"file": (name, content)})
    assert response.status_code == 201, response.text
    body = assert_matches_spec(response, "POST", "/api/projects/{id}/import")
    assert list(body) == ["import"], body
    return body["import"]


def wait_for_import(client, project_id: int, import_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/projects/{project_id}/imports/{import_id}/")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("completed", "failed"):
            return body
        assert body["status"] in ("created", "in_progress")
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} still {body['status']}")
        time.sleep(0.05)


def task_rows(session_factory, project_id: int) -> list[tuple]:
    with transaction(session_factory) as session:
        return [tuple(row) for row in session.execute(
            select(Task.data, Task.inner_id, Task.import_id).where(Task.project_id == project_id).order_by(Task.id))]


def assert_exact_rows(session_factory, project_id: int, count: int) -> None:
    """Every row of the file once, in order, numbered 1..count: no loss, no duplicates."""
    rows = task_rows(session_factory, project_id)
    assert [data["number"] for data, _, _ in rows] == list(range(count))
    assert [inner_id for _, inner_id, _ in rows] == list(range(1, count + 1))


def job_of(session_factory, import_id: int) -> Job:
    with transaction(session_factory) as session:
        job_id = session.get(ProjectImport, import_id).job_id
        return session.get(Job, job_id)


def finished_job_of(session_factory, import_id: int) -> Job:
    """The import's job once the runner has finished it (it does so just after the handler
    finished the import, so a finished import may still show a running job for a moment)."""
    return wait_for_job(session_factory, job_of(session_factory, import_id).id)


# ---------------------------------------------------------------- embedded worker


def test_big_csv_runs_as_a_job_in_batches_with_progress(app, actor):
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(100), "?return_task_ids=true")
    body = wait_for_import(actor.client, project_id, import_id)
    assert body["status"] == "completed", body["error"]
    assert_matches_spec(actor.client.get(f"/api/projects/{project_id}/imports/{import_id}/"), "GET", "/api/projects/{id}/imports/{import_pk}/")
    assert (body["task_count"], body["annotation_count"], body["prediction_count"]) == (100, 0, 0)
    assert body["found_formats"] == {".csv": 1} and body["data_columns"] == ["text", "number"]
    assert body["could_be_tasks_list"] is True and len(body["file_upload_ids"]) == 1 and body["finished_at"]
    assert_exact_rows(app.state.session_factory, project_id, 100)
    with transaction(app.state.session_factory) as session:
        ids = list(session.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)))
    assert body["task_ids"] == ids
    job = finished_job_of(app.state.session_factory, import_id)
    assert (job.kind, job.status, job.progress_done, job.progress_total, job.attempts) == ("import", COMPLETED, 100, 100, 1)
    assert job.project_id == project_id and job.created_by_id == actor.user_id


def test_status_goes_created_then_in_progress_then_completed(app, actor, monkeypatch):
    queue = RecordingQueue()
    monkeypatch.setitem(app.state.ports, "jobs", queue)
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(30))
    assert actor.client.get(f"/api/projects/{project_id}/imports/{import_id}/").json()["status"] == "created"
    seen = []
    original = ImportPlan.write

    def spy(plan, session, tasks, import_id_):
        with transaction(app.state.session_factory) as other:
            seen.append(other.get(ProjectImport, import_id_).status)
        return original(plan, session, tasks, import_id_)

    monkeypatch.setattr(ImportPlan, "write", spy)
    [(kind, job_id)] = queue.sent
    assert execute_job(app.state.session_factory, app.state.settings, kind, job_id) == COMPLETED
    assert seen and set(seen) == {"in_progress"}
    assert wait_for_import(actor.client, project_id, import_id)["status"] == "completed"


def test_json_file_with_annotations_as_a_job(app, actor):
    project_id = make_project(actor.client)
    items = [{"data": {"text": f"t{i}", "number": i}, "annotations": [{"result": POSITIVE}],
              "predictions": [{"result": POSITIVE, "model_version": "m"}]} for i in range(20)]
    import_id = start_import(actor.client, project_id, "tasks.json", json.dumps(items).encode())
    body = wait_for_import(actor.client, project_id, import_id)
    assert (body["status"], body["task_count"], body["annotation_count"], body["prediction_count"]) == ("completed", 20, 20, 20)
    listed = actor.client.get(f"/api/tasks/?project={project_id}").json()
    assert (listed["total"], listed["total_annotations"], listed["total_predictions"]) == (20, 20, 20)


def test_big_upload_without_commit_answers_in_the_request_then_reimport_runs_as_a_job(app, actor):
    project_id = make_project(actor.client)
    response = actor.client.post(f"/api/projects/{project_id}/import?commit_to_project=false",
                                 files={"file": ("later.csv", csv_rows(40))})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["task_count"], body["annotation_count"], body["could_be_tasks_list"]) == (40, None, True)
    assert task_rows(app.state.session_factory, project_id) == []
    response = actor.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": body["file_upload_ids"]})
    assert response.status_code == 201 and list(response.json()) == ["reimport"]
    reimport_id = response.json()["reimport"]
    status = actor.client.get(f"/api/projects/{project_id}/reimports/{reimport_id}/")
    assert status.status_code == 200
    assert wait_for_import(actor.client, project_id, reimport_id)["task_count"] == 40
    assert_exact_rows(app.state.session_factory, project_id, 40)


@pytest.mark.parametrize("name,content,fragment", [
    ("late.csv", csv_rows(50) + b'"broken,1\n', "line 53"),
    ("late.jsonl", b"".join(json.dumps({"text": f"t{i}", "number": i}).encode() + b"\n" for i in range(30)) + b'{"number": 1}\n',
     "line 31: \"text\" key is expected"),
    ("cut.json", json.dumps([{"text": f"t{i}", "number": i} for i in range(30)]).encode()[:-20], "invalid JSON"),
])
def test_a_bad_row_anywhere_fails_the_import_before_any_task_is_written(app, actor, name, content, fragment):
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, name, content)
    body = wait_for_import(actor.client, project_id, import_id)
    assert body["status"] == "failed" and fragment in body["error"] and name.split(".")[0] in body["error"]
    assert body["task_count"] == 0 and task_rows(app.state.session_factory, project_id) == []
    # The runner marks the job failed just after the handler marked the import: wait for it.
    assert finished_job_of(app.state.session_factory, import_id).status == FAILED


def test_a_failure_while_writing_removes_the_tasks_already_written(app, actor, monkeypatch):
    project_id = make_project(actor.client)
    original, calls = ImportPlan.write, []

    def fail_on_third_batch(plan, session, tasks, import_id):
        calls.append(len(tasks))
        if len(calls) == 3:
            raise ValueError("disk full")
        return original(plan, session, tasks, import_id)

    monkeypatch.setattr(ImportPlan, "write", fail_on_third_batch)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(60))
    body = wait_for_import(actor.client, project_id, import_id)
    assert body["status"] == "failed" and "disk full" in body["error"] and body["task_count"] == 0
    assert task_rows(app.state.session_factory, project_id) == [], "all or nothing"


def test_a_crashed_import_resumes_after_its_committed_batches(app, actor, monkeypatch):
    queue = RecordingQueue()
    monkeypatch.setitem(app.state.ports, "jobs", queue)
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(50))
    [(kind, job_id)] = queue.sent

    class WorkerDied(BaseException):
        """Stands for the process dying: not an error the handler may handle."""

    original, batches = ImportPlan.write, []

    def die_in_fourth_batch(plan, session, tasks, import_id_):
        batches.append(tasks[0]["data"]["number"])
        result = original(plan, session, tasks, import_id_)
        if len(batches) == 4:
            raise WorkerDied()  # after writing, before the commit: this batch is lost
        return result

    monkeypatch.setattr(ImportPlan, "write", die_in_fourth_batch)
    with pytest.raises(WorkerDied):
        execute_job(app.state.session_factory, app.state.settings, kind, job_id)
    with transaction(app.state.session_factory) as session:
        job = session.get(Job, job_id)
        assert job.progress_done == 3 * BATCH and job.status == QUEUED  # given back by the runner
    assert len(task_rows(app.state.session_factory, project_id)) == 3 * BATCH

    monkeypatch.setattr(ImportPlan, "write", original)
    assert execute_job(app.state.session_factory, app.state.settings, kind, job_id) == COMPLETED
    assert_exact_rows(app.state.session_factory, project_id, 50)
    body = wait_for_import(actor.client, project_id, import_id)
    assert (body["status"], body["task_count"]) == ("completed", 50)
    # A redelivered message finds the job finished and writes nothing.
    assert execute_job(app.state.session_factory, app.state.settings, kind, job_id) == SKIPPED
    assert len(task_rows(app.state.session_factory, project_id)) == 50


def test_an_import_whose_job_gave_up_reads_as_failed(app, actor, monkeypatch):
    monkeypatch.setitem(app.state.ports, "jobs", RecordingQueue())
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(30))
    with transaction(app.state.session_factory) as session:
        job = session.get(Job, session.get(ProjectImport, import_id).job_id)
        job.status, job.error = FAILED, "Gave up after 10 attempts (the job kept stopping its worker)."
    body = actor.client.get(f"/api/projects/{project_id}/imports/{import_id}/").json()
    assert body["status"] == "failed" and "Gave up" in body["error"]


def test_import_status_of_another_organization_is_not_found(app, actor, stranger):
    project_id = make_project(actor.client)
    import_id = start_import(actor.client, project_id, "big.csv", csv_rows(30))
    assert stranger.client.get(f"/api/projects/{project_id}/imports/{import_id}/").status_code == 404
    other = make_project(stranger.client)
    assert stranger.client.get(f"/api/projects/{other}/imports/{import_id}/").status_code == 404
    wait_for_import(actor.client, project_id, import_id)


# ---------------------------------------------------------------- PostgreSQL + Redis + labelgraph worker


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")
class TestOnWorkerProcesses:
    @pytest.fixture
    def db_url(self, pg_database):
        _truncate_pg(pg_database)
        return pg_database

    @pytest.fixture
    def settings(self, settings, namespace):  # noqa: F811
        from tests.test_jobs_redis import REDIS_URL

        return settings.with_(redis_url=REDIS_URL, redis_namespace=namespace)

    def test_import_runs_on_a_worker_process(self, app, actor, settings, start_worker):  # noqa: F811
        project_id = make_project(actor.client)
        import_id = start_import(actor.client, project_id, "big.csv", csv_rows(500))
        assert queued_messages(settings) == 1, "the API process only enqueues"
        start_worker()
        body = wait_for_import(actor.client, project_id, import_id)
        assert (body["status"], body["task_count"]) == ("completed", 500), body["error"]
        assert_exact_rows(app.state.session_factory, project_id, 500)

    def test_worker_killed_mid_import_and_restarted_finishes_exactly(self, app, actor, settings, start_worker, monkeypatch):  # noqa: F811
        monkeypatch.setenv("LABELGRAPH_IMPORT_BATCH_SIZE", "300")
        rows = 30_000
        project_id = make_project(actor.client)
        import_id = start_import(actor.client, project_id, "big.csv", csv_rows(rows))
        first = start_worker()
        job = job_of(app.state.session_factory, import_id)
        deadline = time.monotonic() + 60
        while job.progress_done == 0:  # until some batches are committed
            assert time.monotonic() < deadline, "the worker never made progress"
            time.sleep(0.01)
            job = job_of(app.state.session_factory, import_id)
        # Hold the project row: the worker's next batch waits for it, so it dies mid-import.
        blocker = psycopg.connect(settings.database_url)
        try:
            blocker.execute("SELECT id FROM projects WHERE id = %s FOR UPDATE", (project_id,))
            time.sleep(0.5)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            blocker.rollback()
            blocker.close()
        orphan = job_of(app.state.session_factory, import_id)
        assert orphan.status == RUNNING and 0 < orphan.progress_done < rows
        assert len(task_rows(app.state.session_factory, project_id)) == orphan.progress_done

        start_worker()  # the heartbeat went stale: re-enqueued, reclaimed, resumed
        body = wait_for_import(actor.client, project_id, import_id, timeout=120)
        assert (body["status"], body["task_count"]) == ("completed", rows), body["error"]
        done = finished_job_of(app.state.session_factory, import_id)
        assert (done.status, done.attempts, done.progress_done) == (COMPLETED, 2, rows)
        assert_exact_rows(app.state.session_factory, project_id, rows)

    def test_import_requested_while_the_broker_is_down_runs_once_a_worker_sweeps(self, app, actor, settings, start_worker):  # noqa: F811
        from labelgraph.app import create_app

        down = create_app(settings.with_(redis_url=f"redis://127.0.0.1:{_free_port()}/0"))  # nothing listens there
        try:
            with TestClient(down, headers={"Authorization": f"Token {actor.token}"}) as client:
                project_id = make_project(client)
                began = time.monotonic()
                import_id = start_import(client, project_id, "big.csv", csv_rows(200))
                assert time.monotonic() - began < 10
        finally:
            down.state.engine.dispose()
        assert queued_messages(settings) == 0
        assert job_of(app.state.session_factory, import_id).status == QUEUED
        start_worker()
        body = wait_for_import(actor.client, project_id, import_id)
        assert (body["status"], body["task_count"]) == ("completed", 200)
        assert_exact_rows(app.state.session_factory, project_id, 200)


def test_a_big_json_body_is_spooled_to_disk_and_imported_by_a_job(app, actor, settings):
    app.state.settings = settings.with_(import_json_sync_max_bytes=1000)
    project_id = make_project(actor.client)
    items = [{"data": {"text": f"t{i}", "number": i}, "annotations": [{"result": POSITIVE}]} for i in range(40)]
    response = actor.client.post(f"/api/projects/{project_id}/import", json=items)
    assert response.status_code == 201 and list(response.json()) == ["import"]
    body = wait_for_import(actor.client, project_id, response.json()["import"])
    assert (body["status"], body["task_count"], body["annotation_count"]) == ("completed", 40, 40)
    assert_exact_rows(app.state.session_factory, project_id, 40)
    # Small bodies keep Label Studio's synchronous answer.
    small = actor.client.post(f"/api/projects/{project_id}/import", json=[{"text": "one", "number": 40}])
    assert small.status_code == 201 and small.json()["task_count"] == 1
