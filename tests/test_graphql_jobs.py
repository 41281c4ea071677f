"""GraphQL jobs: the Job node, job(id), the jobProgress subscription over graphql-transport-ws
(authenticated by connection_init or the handshake's header), and the mutations that start jobs
(URL imports, Data Manager actions over large selections), on the in-process worker."""
from __future__ import annotations

import json
import threading
import time

import pytest
from starlette.websockets import WebSocketDisconnect

from core.config import Settings
from core.db.unit_of_work import transaction
from core.jobs.registry import JOB_HANDLERS
from core.jobs.service import report_progress, start_job
from tests.test_jobs import call_service
from tests.test_graphql import global_id, run
from tests.test_graphql_dm import RUN_ACTION, make_project, rest_ids

JOB_FIELDS = "id pk kind status progressDone progressTotal error result createdAt startedAt finishedAt project { pk }"
JOB_PROGRESS = "subscription($id: ID!) { jobProgress(id: $id) { pk status progressDone progressTotal error result finishedAt } }"
IMPORT_FROM_URL = """mutation($project: ID!, $url: String!) { importFromUrl(projectId: $project, url: $url) {
    __typename ... on ImportFromUrlPayload { import { pk status taskCount url job { id pk kind } } }
    ... on ValidationError { field messages } ... on NotFoundError { message } } }"""
SYNC_IMPORT_LIMIT = 200


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    """Small thresholds, so that a few tasks already make jobs."""
    return Settings(data_dir=tmp_path, database_url=db_url, secret_key="test-secret-key-for-jwt-signing-0123456789",
                    max_body_bytes=5 * 1024 * 1024, dm_action_job_threshold=3, import_sync_max_bytes=SYNC_IMPORT_LIMIT)


def wait_for_job(actor, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = run(actor.client, f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}", id=job_id)["job"]
        if job["status"] in ("COMPLETED", "FAILED"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def connect(ws, payload: dict | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": payload or {}})
    assert ws.receive_json() == {"type": "connection_ack"}


def subscription_values(ws, query: str, **variables) -> list:
    """Every value the subscription sends until it completes."""
    ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
    values = []
    while True:
        message = ws.receive_json()
        if message["type"] == "complete":
            return values
        assert message["type"] == "next" and "errors" not in message["payload"], message
        values.append(message["payload"]["data"])


def start_large_action(actor, task_count: int = 8) -> tuple[int, dict]:
    project_id = make_project(actor, [{"data": {"text": f"t{n}"}} for n in range(task_count)])
    result = run(actor.client, RUN_ACTION, project=global_id("Project", project_id), action="delete_tasks")["runDmAction"]
    assert result["__typename"] == "RunDmActionPayload", result
    return project_id, result


def test_a_large_action_runs_as_a_job_that_job_reports(actor, stranger):
    project_id, result = start_large_action(actor)
    assert result["processedItems"] is None and global_id("Job", result["response"]["job"]) == result["job"]["id"]
    job = wait_for_job(actor, result["job"]["id"])
    assert job["kind"] == "dm_action" and job["status"] == "COMPLETED" and job["error"] is None
    assert job["project"] == {"pk": project_id}
    assert job["progressDone"] == job["progressTotal"] == 8
    assert job["result"]["processed_items"] == 8
    assert job["startedAt"] and job["finishedAt"] and job["createdAt"]
    assert rest_ids(actor, project_id, None, []) == []
    foreign = run(stranger.client, "query($id: ID!) { job(id: $id) { pk } node(id: $id) { id } }", id=job["id"])
    assert foreign == {"job": None, "node": None}
    assert run(actor.client, "query($id: ID!) { node(id: $id) { ... on Job { pk } } }", id=job["id"])["node"] == {"pk": job["pk"]}


def test_job_progress_subscription_streams_states_until_completed(actor):
    _, result = start_large_action(actor, task_count=20)
    with actor.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws)  # authenticated by the handshake's Authorization header
        values = subscription_values(ws, JOB_PROGRESS, id=result["job"]["id"])
    states = [value["jobProgress"] for value in values]
    assert states, values
    assert states[-1]["status"] == "COMPLETED" and states[-1]["progressDone"] == 20 and states[-1]["finishedAt"]
    assert all(state["status"] in ("QUEUED", "RUNNING") for state in states[:-1])
    assert all(a != b for a, b in zip(states, states[1:])), "a value is sent only when the job changed"
    assert [state["progressDone"] for state in states] == sorted(state["progressDone"] for state in states)


def test_job_progress_sends_every_step_of_a_job(app, actor, monkeypatch):
    """A job that reports step k only once the subscriber has seen step k - 1: every step arrives."""
    seen_step = {step: threading.Event() for step in range(3)}

    def stepwise(session_factory, settings, job_id):
        for step in range(1, 4):
            assert seen_step[step - 1].wait(10)
            with transaction(session_factory) as session:
                report_progress(session, job_id, step, 3)
        return {"steps": 3}

    monkeypatch.setitem(JOB_HANDLERS, "stepwise", stepwise)
    job = call_service(app, actor, lambda ctx: start_job(ctx, "stepwise", {}))
    states = []
    with actor.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws)
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": JOB_PROGRESS, "variables": {"id": global_id("Job", job.id)}}})
        while (message := ws.receive_json())["type"] == "next":
            state = message["payload"]["data"]["jobProgress"]
            states.append((state["status"], state["progressDone"]))
            if state["status"] == "RUNNING" and state["progressDone"] in seen_step:
                seen_step[state["progressDone"]].set()
        assert message["type"] == "complete"
    running = [done for status, done in states if status == "RUNNING"]
    assert running[:3] == [0, 1, 2] and set(running) <= {0, 1, 2, 3}
    assert states[-1] == ("COMPLETED", 3)


def test_subscription_authenticates_with_the_connection_init_payload(client, actor, stranger):
    _, result = start_large_action(actor)
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws, {"Authorization": f"Token {actor.token}"})
        assert subscription_values(ws, JOB_PROGRESS, id=result["job"]["id"])[-1]["jobProgress"]["status"] == "COMPLETED"
        # Queries run over the same connection, as that user.
        assert subscription_values(ws, "{ me { email } }") == [{"me": {"email": actor.email}}]
    # Another organization's job: one null, then the end.
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws, {"Authorization": f"Token {stranger.token}"})
        assert subscription_values(ws, JOB_PROGRESS, id=result["job"]["id"]) == [{"jobProgress": None}]


@pytest.mark.parametrize("payload", [{}, {"Authorization": "Token nope"}, {"Authorization": 12}])
def test_subscription_without_valid_credentials_is_closed(client, payload):
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


def test_subscribing_before_connection_init_is_refused(client):
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": JOB_PROGRESS, "variables": {"id": "x"}}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_import_from_url_in_the_request_and_as_a_job(actor, stranger):
    project_id = make_project(actor, [])
    project = global_id("Project", project_id)
    small = json.dumps([{"text": "one"}, {"text": "two"}])
    done = run(actor.client, IMPORT_FROM_URL, project=project, url=small)["importFromUrl"]
    assert done["__typename"] == "ImportFromUrlPayload", done
    assert done["import"]["status"] == "completed" and done["import"]["taskCount"] == 2 and done["import"]["job"] is None

    big = json.dumps([{"text": f"task number {n} " + "x" * 20} for n in range(10)])
    assert len(big) > SYNC_IMPORT_LIMIT
    started = run(actor.client, IMPORT_FROM_URL, project=project, url=big)["importFromUrl"]["import"]
    assert started["status"] == "created" and started["job"]["kind"] == "import"
    job = wait_for_job(actor, started["job"]["id"])
    assert job["status"] == "COMPLETED", job
    rest = actor.client.get(f"/api/projects/{project_id}/imports/{started['pk']}/").json()
    assert rest["status"] == "completed" and rest["task_count"] == 10
    assert len(rest_ids(actor, project_id, None, [])) == 12

    refused = run(actor.client, IMPORT_FROM_URL, project=project, url="http://127.0.0.1:1/tasks.json")["importFromUrl"]
    assert refused["__typename"] == "ValidationError" and refused["field"] == "url"
    foreign = run(stranger.client, IMPORT_FROM_URL, project=project, url=small)["importFromUrl"]
    assert foreign["__typename"] == "NotFoundError"
    assert len(rest_ids(actor, project_id, None, [])) == 12


def test_import_tasks_mutation_keeps_working(actor):
    project_id = make_project(actor, [])
    data = run(actor.client, """mutation($p: ID!, $tasks: JSON!) { importTasks(projectId: $p, tasks: $tasks) {
        __typename ... on ImportTasksPayload { taskCount } } }""", p=global_id("Project", project_id), tasks=[{"text": "a"}])
    assert data["importTasks"] == {"__typename": "ImportTasksPayload", "taskCount": 1}
