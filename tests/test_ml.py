"""ML backends end to end against a real backend on loopback (tests/ml_backend_server.py):
connect (/health then /setup), refusals that write nothing, CRUD with the spec's shapes, basic
auth, versions, training signals from jobs, predictions through the Data Manager action, the
task read and the interactive route, the legacy 0.8 routes, tenant isolation and the SDK."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.events.models import OutboxEvent
from core.jobs.models import Job
from core.ml.models import MLBackend
from core.predictions.models import Prediction
from core.projects.models import Project
from core.webhooks.models import Webhook
from tests.ml_backend_server import ml_backend
from tests.openapi_contract import assert_matches_spec
from tests.test_jobs import wait_for_job

CONFIG = ('<View><Text name="text" value="$text"/>'
          '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>')


@pytest.fixture
def settings(settings):
    # The backends of these tests listen on loopback, which the outgoing-URL policy refuses by default.
    return settings.with_(allowed_url_hosts=("127.0.0.1",), ml_health_cache_seconds=60.0)


@pytest.fixture
def backend():
    with ml_backend() as server:
        yield server


def make_project(actor, **fields) -> int:
    response = actor.client.post("/api/projects/", json={"title": "ML project", "label_config": CONFIG, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def make_tasks(actor, project_id: int, count: int = 3) -> list[int]:
    response = actor.client.post(f"/api/projects/{project_id}/import?commit_to_project=true",
                                 json=[{"text": f"text {i}"} for i in range(count)])
    assert response.status_code == 201, response.text
    return sorted(response.json()["task_ids"]) if "task_ids" in response.json() else task_ids(actor, project_id)


def task_ids(actor, project_id: int) -> list[int]:
    response = actor.client.get(f"/api/tasks/?project={project_id}&page_size=1000")
    return sorted(task["id"] for task in response.json()["tasks"])


def connect(actor, project_id: int, url: str, **fields):
    return actor.client.post("/api/ml/", json={"url": url, "project": project_id, "title": "My model", **fields})


def count(db, model, *conditions) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*conditions))


def events(db, kind: str) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.kind == kind).order_by(OutboxEvent.id)))


def training_signals(backend) -> list:
    # <url>/webhook also receives the project's events through the webhook made at connection.
    return [r for r in backend.seen("/webhook") if r.body.get("action") == "START_TRAINING"]


def wait_until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- connect -----------------------------------------------------------------------------


def test_connect_calls_health_then_setup_and_creates_the_webhook(actor, db, backend):
    project_id = make_project(actor)
    response = connect(actor, project_id, backend.url, extra_params={"threshold": 0.5})
    assert response.status_code == 201, response.text
    assert_matches_spec(response, "POST", "/api/ml/")
    body = response.json()
    assert body["state"] == "CO" and body["readable_state"] == "Connected"
    assert body["model_version"] == "model-v1" and body["title"] == "My model" and body["project"] == project_id
    assert "basic_auth_pass" not in body and body["basic_auth_pass_is_set"] is False

    assert [r.path for r in backend.requests] == ["/health", "/setup"]
    setup = backend.seen("/setup")[0].body
    assert set(setup) == {"project", "schema", "hostname", "access_token", "extra_params"}
    assert setup["project"].startswith(f"{project_id}.") and setup["schema"] == CONFIG
    assert setup["access_token"] == actor.token and setup["extra_params"] == {"threshold": 0.5}

    # The project takes the backend's title as its model version; a webhook to <url>/webhook for everything.
    db.expire_all()
    assert db.get(Project, project_id).model_version == "My model"
    stored = db.get(MLBackend, body["id"])
    webhook = db.get(Webhook, stored.webhook_id)
    assert webhook.url == backend.url + "/webhook" and webhook.send_for_all_actions and webhook.project_id == project_id
    assert [e.object_ids for e in events(db, "ML_BACKEND_CREATED")] == [[body["id"]]]


@pytest.mark.parametrize("failure", ["/health", "/setup"])
def test_a_failing_backend_is_refused_and_nothing_is_written(actor, db, backend, failure):
    project_id = make_project(actor)
    backend.failures[failure] = 500
    response = connect(actor, project_id, backend.url)
    assert response.status_code == 400
    body = response.json()
    message = body["validation_errors"]["non_field_errors"][0]
    assert ("health check failed" if failure == "/health" else "doesn't look like a valid ML backend") in message
    assert count(db, MLBackend) == 0 and count(db, Webhook) == 0 and events(db, "ML_BACKEND_CREATED") == []


def test_an_unreachable_or_forbidden_url_is_a_400(actor, db, backend):
    project_id = make_project(actor)
    down = connect(actor, project_id, "http://127.0.0.1:9")  # nothing listens on the discard port
    assert down.status_code == 400 and "health check failed" in down.json()["validation_errors"]["non_field_errors"][0]
    refused = connect(actor, project_id, backend.url.replace("127.0.0.1", "127.0.0.2"))
    assert refused.status_code == 400 and "url" in refused.json()["validation_errors"]
    assert count(db, MLBackend) == 0


def test_basic_auth_is_sent_and_the_password_never_returned(actor, db):
    with ml_backend(basic_auth=("model-user", "s3cret")) as server:
        project_id = make_project(actor)
        without = connect(actor, project_id, server.url)
        assert without.status_code == 400
        assert "authentication parameters" in without.json()["validation_errors"]["non_field_errors"][0]
        response = connect(actor, project_id, server.url, auth_method="BASIC_AUTH",
                           basic_auth_user="model-user", basic_auth_pass="s3cret")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["basic_auth_pass_is_set"] is True and "s3cret" not in response.text
        assert all(r.basic_auth == ("model-user", "s3cret") for r in server.requests[-2:])
        # An empty password in a PATCH keeps the stored one.
        patched = actor.client.patch(f"/api/ml/{body['id']}", json={"basic_auth_pass": "", "title": "renamed"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["basic_auth_pass_is_set"] is True and "s3cret" not in patched.text
        assert server.requests[-1].basic_auth == ("model-user", "s3cret")


# --- read, change, delete -------------------------------------------------------------------


def test_list_get_patch_delete(actor, db, backend):
    project_id = make_project(actor)
    created = connect(actor, project_id, backend.url).json()
    listed = actor.client.get(f"/api/ml/?project={project_id}")
    assert listed.status_code == 200 and [b["id"] for b in listed.json()] == [created["id"]]
    assert_matches_spec(listed, "GET", "/api/ml/")
    assert actor.client.get("/api/ml/").status_code == 404  # Label Studio needs ?project=
    got = actor.client.get(f"/api/ml/{created['id']}")
    assert got.status_code == 200
    assert_matches_spec(got, "GET", "/api/ml/{id}")

    # A rename carries the project's model version along.
    patched = actor.client.patch(f"/api/ml/{created['id']}", json={"title": "Better model", "timeout": 5,
                                                                    "is_interactive": True})
    assert patched.status_code == 200, patched.text
    assert_matches_spec(patched, "PATCH", "/api/ml/{id}")
    assert patched.json()["title"] == "Better model" and patched.json()["timeout"] == 5.0
    db.expire_all()
    assert db.get(Project, project_id).model_version == "Better model"

    backend.failures["/health"] = 500
    refused = actor.client.patch(f"/api/ml/{created['id']}", json={"title": "Never"})
    assert refused.status_code == 400
    db.expire_all()
    assert db.get(MLBackend, created["id"]).title == "Better model"
    backend.failures.clear()

    webhook_id = db.get(MLBackend, created["id"]).webhook_id
    deleted = actor.client.delete(f"/api/ml/{created['id']}")
    assert deleted.status_code == 204
    assert count(db, MLBackend) == 0 and db.get(Webhook, webhook_id) is None
    db.expire_all()
    assert db.get(Project, project_id).model_version == ""
    assert actor.client.get(f"/api/ml/{created['id']}").status_code == 404


def test_health_is_cached_between_reads(actor, backend):
    project_id = make_project(actor)
    created = connect(actor, project_id, backend.url).json()
    before = len(backend.requests)
    for _ in range(3):
        assert actor.client.get(f"/api/ml/{created['id']}").status_code == 200
        assert actor.client.get(f"/api/ml/?project={project_id}").status_code == 200
    assert len(backend.requests) == before


def test_a_stale_cache_refreshes_the_state_on_read(actor, db, backend):
    project_id = make_project(actor)
    created = connect(actor, project_id, backend.url).json()
    db.execute(MLBackend.__table__.update().values(health_checked_at=None))
    db.commit()
    backend.failures["/health"] = 503
    got = actor.client.get(f"/api/ml/{created['id']}").json()
    assert got["state"] == "DI" and got["readable_state"] == "Disconnected"


def test_another_organization_gets_404(actor, stranger, backend):
    project_id = make_project(actor)
    created = connect(actor, project_id, backend.url).json()
    ml_id = created["id"]
    assert stranger.client.get(f"/api/ml/{ml_id}").status_code == 404
    assert stranger.client.get(f"/api/ml/?project={project_id}").status_code == 404
    assert stranger.client.patch(f"/api/ml/{ml_id}", json={"title": "x"}).status_code == 404
    assert stranger.client.delete(f"/api/ml/{ml_id}").status_code == 404
    assert stranger.client.post(f"/api/ml/{ml_id}/train").status_code == 404
    assert stranger.client.get(f"/api/ml/{ml_id}/versions").status_code == 404
    assert stranger.client.post(f"/api/ml/{ml_id}/interactive-annotating", json={"task": 1}).status_code == 404
    foreign = connect(stranger, project_id, backend.url)
    assert foreign.status_code == 400 and "project" in foreign.json()["validation_errors"]


# --- versions, training ---------------------------------------------------------------------


def test_versions_pass_through_and_fallback(actor, backend):
    project_id = make_project(actor)
    ml_id = connect(actor, project_id, backend.url).json()["id"]
    fallback = actor.client.get(f"/api/ml/{ml_id}/versions")
    assert fallback.status_code == 200
    assert fallback.json() == {"versions": ["model-v1"], "message": "Upgrade your ML backend version to latest."}
    assert_matches_spec(fallback, "GET", "/api/ml/{id}/versions")
    backend.versions = ["model-v1", "model-v2"]
    assert actor.client.get(f"/api/ml/{ml_id}/versions").json() == {"versions": ["model-v1", "model-v2"]}


def test_train_answers_at_once_and_a_job_sends_start_training(app, actor, db, backend):
    project_id = make_project(actor)
    ml_id = connect(actor, project_id, backend.url).json()["id"]
    response = actor.client.post(f"/api/ml/{ml_id}/train", json={"use_ground_truth": True})
    assert response.status_code == 200
    assert_matches_spec(response, "POST", "/api/ml/{id}/train")
    job_id = events(db, "ML_TRAINING_REQUESTED")[0].data["job"]
    job = wait_for_job(app.state.session_factory, job_id)
    assert job.status == "completed", job.error
    wait_until(lambda: training_signals(backend))
    [signal] = training_signals(backend)
    assert signal.body["action"] == "START_TRAINING" and signal.body["project"]["id"] == project_id
    assert "task_number" in signal.body["project"]
    db.expire_all()
    assert db.get(MLBackend, ml_id).state == "TR"


def test_every_nth_annotation_sends_a_training_signal(app, actor, db, backend):
    project_id = make_project(actor, min_annotations_to_start_training=2)
    tasks = make_tasks(actor, project_id, 5)
    connect(actor, project_id, backend.url)
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
    for task_id in tasks[:5]:
        assert actor.client.post(f"/api/tasks/{task_id}/annotations/", json={"result": result}).status_code == 201
    # The 2nd and the 4th annotation train; the signal goes out from a job, after the commit.
    wait_until(lambda: len(training_signals(backend)) == 2)
    time.sleep(0.3)
    assert len(training_signals(backend)) == 2
    assert count(db, Job, Job.kind == "ml_train") == 2


# --- predictions ----------------------------------------------------------------------------


def retrieve(actor, project_id: int, ids: list[int]):
    return actor.client.post(f"/api/dm/actions/?id=retrieve_tasks_predictions&project={project_id}",
                             json={"selectedItems": {"all": False, "included": ids}})


def test_retrieve_predictions_action_once_per_model_version(actor, db, backend):
    project_id = make_project(actor)
    tasks = make_tasks(actor, project_id, 3)
    connect(actor, project_id, backend.url)
    response = retrieve(actor, project_id, tasks)
    assert response.status_code == 200, response.text
    assert response.json() == {"processed_items": 3, "detail": "Retrieved 3 predictions"}
    [call] = backend.seen("/predict")
    assert [t["id"] for t in call.body["tasks"]] == tasks and call.body["label_config"] == CONFIG
    rows = list(db.scalars(select(Prediction).order_by(Prediction.task_id)))
    assert [(p.task_id, p.model_version, p.score) for p in rows] == [(t, "model-v1", 0.87) for t in tasks]
    assert rows[0].result[0]["value"] == {"choices": ["pos"]}
    assert events(db, "PREDICTIONS_CREATED")[-1].object_ids == sorted(p.id for p in rows)

    # Again: every task has a prediction of this version, so no /predict and nothing new.
    retrieve(actor, project_id, tasks)
    assert len(backend.seen("/predict")) == 1 and count(db, Prediction) == 3

    # A new model version: one more prediction per task.
    backend.model_version = "model-v2"
    retrieve(actor, project_id, tasks)
    assert len(backend.seen("/predict")) == 2 and count(db, Prediction) == 6
    assert count(db, Prediction, Prediction.model_version == "model-v2") == 3
    task = actor.client.get(f"/api/tasks/{tasks[0]}/").json()
    assert task["total_predictions"] == 2


def test_large_selections_predict_in_a_job(app, actor, db, backend, settings):
    app.state.settings = settings.with_(dm_action_job_threshold=2)
    project_id = make_project(actor)
    tasks = make_tasks(actor, project_id, 4)
    connect(actor, project_id, backend.url)
    response = retrieve(actor, project_id, tasks)
    assert response.status_code == 200 and "job" in response.json()
    job = wait_for_job(app.state.session_factory, response.json()["job"])
    assert job.status == "completed", job.error
    assert count(db, Prediction) == 4


def test_reading_a_task_without_predictions_asks_the_backend(actor, db, backend):
    project_id = make_project(actor)
    [task_id] = make_tasks(actor, project_id, 1)
    connect(actor, project_id, backend.url)
    body = actor.client.get(f"/api/tasks/{task_id}/").json()
    assert [p["model_version"] for p in body["predictions"]] == ["model-v1"]
    assert len(backend.seen("/predict")) == 1
    # It has one now: no more calls.
    actor.client.get(f"/api/tasks/{task_id}/")
    assert len(backend.seen("/predict")) == 1


def test_predict_all_tasks_job(app, actor, db, backend):
    project_id = make_project(actor)
    make_tasks(actor, project_id, 5)
    ml_id = connect(actor, project_id, backend.url).json()["id"]
    response = actor.client.post(f"/api/ml/{ml_id}/predict?batch_size=2")
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "POST", "/api/ml/{id}/predict")
    job = wait_for_job(app.state.session_factory, response.json()["job"])
    assert job.status == "completed", job.error
    assert (job.progress_done, job.progress_total) == (5, 5) and job.result["predictions"] == 5
    assert [len(r.body["tasks"]) for r in backend.seen("/predict")] == [2, 2, 1]


def test_interactive_annotating(actor, db, backend):
    project_id = make_project(actor)
    [task_id] = make_tasks(actor, project_id, 1)
    ml_id = connect(actor, project_id, backend.url).json()["id"]
    not_interactive = actor.client.post(f"/api/ml/{ml_id}/interactive-annotating", json={"task": task_id})
    assert not_interactive.status_code == 200
    assert not_interactive.json() == {"errors": ["Model is not set to be used for interactive preannotations"]}
    assert backend.seen("/predict") == []

    actor.client.patch(f"/api/ml/{ml_id}", json={"is_interactive": True})
    context = {"result": [{"type": "keypointlabels", "value": {"x": 1, "y": 2}}]}
    response = actor.client.post(f"/api/ml/{ml_id}/interactive-annotating", json={"task": task_id, "context": context})
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "POST", "/api/ml/{id}/interactive-annotating")
    assert response.json()["data"]["result"][0]["value"] == {"choices": ["pos"]}
    [call] = backend.seen("/predict")
    assert call.body["params"]["context"] == context and call.body["tasks"][0]["id"] == task_id
    assert count(db, Prediction) == 0  # nothing stored: the answer goes to the labeling UI


# --- legacy 0.8 ---------------------------------------------------------------------------


def test_legacy_model_routes(app, actor, db, backend):
    project_id = make_project(actor)
    tasks = make_tasks(actor, project_id, 2)
    ml_id = connect(actor, project_id, backend.url).json()["id"]
    models = actor.client.get(f"/api/models?project={project_id}")
    assert models.status_code == 200
    assert [m["name"] for m in models.json()["models"]] == ["My model"]
    predicted = actor.client.post(f"/api/models/predictions?mode=specific_tasks&task_ids={tasks[0]}&project={project_id}")
    assert predicted.status_code == 200, predicted.text
    assert count(db, Prediction) == 1
    data = actor.client.post(f"/api/models/predictions?mode=data&project={project_id}", json={"data": {"text": "hi"}})
    assert data.status_code == 200 and data.json()["results"][0]["result"][0]["value"] == {"choices": ["pos"]}
    trained = actor.client.post(f"/api/models/train?project={project_id}")
    assert trained.status_code == 200, trained.text
    wait_until(lambda: len(training_signals(backend)) == 1)
    assert actor.client.get("/api/health").json()["status"] == "UP"
    deleted = actor.client.request("DELETE", f"/api/models?project={project_id}", json={"name": "My model"})
    assert deleted.status_code == 204 and count(db, MLBackend, MLBackend.id == ml_id) == 0


# --- official client ----------------------------------------------------------------------


def test_label_studio_sdk_ml_calls(actor, live_server, backend):
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=live_server, api_key=actor.token)
    project = ls.projects.create(title="SDK ML", label_config=CONFIG)
    created = ls.ml.create(url=backend.url, project=project.id, title="sdk model", is_interactive=True)
    assert created.state == "CO" and created.model_version == "model-v1"
    assert [b.id for b in ls.ml.list(project=project.id)] == [created.id]
    assert ls.ml.get(id=created.id).title == "sdk model"
    assert ls.ml.update(id=created.id, title="renamed").title == "renamed"
    assert ls.ml.list_model_versions(id=created.id).versions == ["model-v1"]
    ls.ml.train(id=created.id)
    ls.ml.delete(id=created.id)
    assert ls.ml.list(project=project.id) == []
