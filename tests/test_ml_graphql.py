"""ML backends over GraphQL: the same use cases as REST, against a real backend on loopback."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.ml.models import MLBackend
from graphql_api.relay import pk_of, to_global_id
from tests.ml_backend_server import ml_backend
from tests.test_graphql_rest_parity import graphql
from tests.test_jobs import wait_for_job
from tests.test_ml import CONFIG, make_project, make_tasks, training_signals, wait_until

BACKEND_FIELDS = "id pk url title state readableState modelVersion isInteractive basicAuthPassIsSet project { pk }"
CONNECT = """mutation($project: ID!, $input: MLBackendInput!) {
  connectMlBackend(projectId: $project, input: $input) {
    __typename
    ... on MLBackendPayload { mlBackend { %s } }
    ... on ValidationError { messages field }
  }
}""" % BACKEND_FIELDS


@pytest.fixture
def settings(settings):
    return settings.with_(allowed_url_hosts=("127.0.0.1",))


def project_gid(pk: int) -> str:
    return to_global_id("Project", pk)


def test_connect_list_train_interactive_delete(app, actor, stranger, db):
    with ml_backend() as backend:
        project_id = make_project(actor)
        [task_id] = make_tasks(actor, project_id, 1)
        refused = graphql(actor, CONNECT, project=project_gid(project_id), input={"url": "http://127.0.0.1:9"})
        assert refused["connectMlBackend"]["__typename"] == "ValidationError"
        assert db.scalar(select(MLBackend.id)) is None

        data = graphql(actor, CONNECT, project=project_gid(project_id),
                       input={"url": backend.url, "title": "gql model", "isInteractive": True,
                              "authMethod": "BASIC_AUTH", "basicAuthUser": "u", "basicAuthPass": "p"})
        created = data["connectMlBackend"]["mlBackend"]
        assert created["state"] == "CO" and created["modelVersion"] == "model-v1" and created["basicAuthPassIsSet"]
        assert created["project"]["pk"] == project_id

        listed = graphql(actor, "query($p: ID!) { mlBackends(projectId: $p) { pk title } }", p=project_gid(project_id))
        assert listed["mlBackends"] == [{"pk": created["pk"], "title": "gql model"}]
        assert graphql(stranger, "query($p: ID!) { mlBackends(projectId: $p) { pk } }", p=project_gid(project_id)) == {"mlBackends": []}
        node = graphql(actor, "query($id: ID!) { node(id: $id) { ... on MLBackend { pk } } }", id=created["id"])
        assert node["node"] == {"pk": created["pk"]}

        answer = graphql(actor, """mutation($id: ID!, $task: ID!) { predictInteractive(id: $id, taskId: $task, context: {x: 1}) {
            ... on InteractivePredictionPayload { data errors } } }""", id=created["id"], task=to_global_id("Task", task_id))
        assert answer["predictInteractive"]["data"]["result"][0]["value"] == {"choices": ["pos"]}
        assert backend.seen("/predict")[0].basic_auth == ("u", "p")

        trained = graphql(actor, """mutation($id: ID!) { trainMlBackend(id: $id) { ... on TrainingPayload { jobId } } }""",
                          id=created["id"])
        job = wait_for_job(app.state.session_factory, pk_of(trained["trainMlBackend"]["jobId"], "Job"))
        assert job.status == "completed", job.error
        wait_until(lambda: training_signals(backend))

        renamed = graphql(actor, """mutation($id: ID!) { updateMlBackend(id: $id, input: {title: "new"}) {
            ... on MLBackendPayload { mlBackend { title } } } }""", id=created["id"])
        assert renamed["updateMlBackend"]["mlBackend"]["title"] == "new"
        foreign = graphql(stranger, """mutation($id: ID!) { deleteMlBackend(id: $id) { __typename } }""", id=created["id"])
        assert foreign["deleteMlBackend"]["__typename"] == "NotFoundError"
        gone = graphql(actor, """mutation($id: ID!) { deleteMlBackend(id: $id) { ... on DeletePayload { deletedId } } }""",
                       id=created["id"])
        assert gone["deleteMlBackend"]["deletedId"] == created["id"]
        db.expire_all()
        assert db.scalar(select(MLBackend.id)) is None
