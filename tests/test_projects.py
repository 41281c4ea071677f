"""The `projects` tag: list, create, counts, get, update, delete, annotators, validate."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from tests.openapi_contract import assert_matches_spec, response_schema, schema_errors

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
XXE_CONFIG = (
    '<?xml version="1.0"?><!DOCTYPE View [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<View><Text name="text" value="$text"/><Header value="&xxe;"/></View>'
)
# The spec types a few list/counts counters as strings; Label Studio (and we) send integers.
SPEC_STRING_COUNTERS = {"queue_total", "skipped_annotations_number", "total_annotations_number"}


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def seed_tasks(db, project_id: int, count: int, *, overlap: int = 1) -> list[int]:
    """Tasks inserted directly (the import endpoint belongs to another module)."""
    ids = []
    for index in range(count):
        task = Task(project_id=project_id, data={"text": f"t{index}"}, meta={}, inner_id=index + 1, overlap=overlap)
        db.add(task)
        db.flush()
        ids.append(task.id)
    db.commit()
    return ids


def seed_annotation(db, task_id: int, user_id: int, *, result=None, cancelled=False, ground_truth=False) -> int:
    project_id = db.scalar(select(Task.project_id).where(Task.id == task_id))
    annotation = Annotation(
        task_id=task_id,
        project_id=project_id,
        completed_by_id=user_id,
        result=result if result is not None else ([] if cancelled else choice("pos")),
        was_cancelled=cancelled,
        ground_truth=ground_truth,
    )
    db.add(annotation)
    db.flush()
    refresh_task_counters(db, [task_id])
    db.commit()
    return annotation.id


def seed_prediction(db, task_id: int) -> int:
    project_id = db.scalar(select(Task.project_id).where(Task.id == task_id))
    prediction = Prediction(task_id=task_id, project_id=project_id, result=choice("neg"), score=0.5, model_version="m1")
    db.add(prediction)
    db.flush()
    refresh_task_counters(db, [task_id])
    db.commit()
    return prediction.id


def create(actor, **fields) -> dict:
    body = {"title": "My project", "label_config": CONFIG, **fields}
    response = actor.client.post("/api/projects/", json=body)
    assert response.status_code == 201, response.text
    return assert_matches_spec(response, "POST", "/api/projects/")


def assert_list_matches_spec(response, path: str) -> dict:
    schema = response_schema("GET", path, response.status_code)
    body = response.json()
    errors = [e for e in schema_errors(body, schema) if not any(f".{name}: expected ['string']" in e for name in SPEC_STRING_COUNTERS)]
    assert not errors, "\n".join(errors)
    return body


def assert_validation_error(response, field: str) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and body["detail"] == "Validation error"
    assert field in body["validation_errors"], body
    return body


def project_rows(db) -> int:
    return db.scalar(select(func.count(Project.id)))


# --- create -------------------------------------------------------------------------------------


def test_create_returns_label_studio_shape(actor):
    body = create(actor, description="d", maximum_annotations=2, color="#FF0000")
    assert body["title"] == "My project" and body["maximum_annotations"] == 2 and body["color"] == "#FF0000"
    assert body["organization"] == actor.organization_id
    assert body["created_by"]["id"] == actor.user_id and body["created_by"]["email"] == actor.email
    assert body["parsed_label_config"]["sentiment"]["labels"] == ["pos", "neg"]
    assert body["control_weights"] == {"sentiment": {"overall": 1.0, "type": "Choices", "labels": {"pos": 1.0, "neg": 1.0}}}
    assert body["config_has_control_tags"] is True and body["config_suitable_for_bulk_annotation"] is True
    assert body["task_number"] == 0 and body["queue_total"] == 0
    assert body["sampling"] == "Sequential sampling" and body["skip_queue"] == "REQUEUE_FOR_OTHERS"
    assert body["created_at"].endswith("Z")


def test_create_defaults_without_body(actor):
    response = actor.client.post("/api/projects/", json={})
    assert response.status_code == 201
    body = assert_matches_spec(response, "POST", "/api/projects/")
    assert body["label_config"] == "<View></View>" and body["title"] == "" and body["config_has_control_tags"] is False


def test_create_keeps_given_weights_and_start_training_flag(actor):
    body = create(
        actor,
        control_weights={"sentiment": {"overall": 0.5, "type": "Choices", "labels": {"pos": 2.0}}},
        start_training_on_annotation_update=True,
    )
    assert body["control_weights"]["sentiment"] == {"overall": 0.5, "type": "Choices", "labels": {"pos": 2.0, "neg": 1.0}}
    assert body["min_annotations_to_start_training"] == 1 and body["start_training_on_annotation_update"] is True


def test_create_rejects_every_bad_field_and_writes_nothing(actor, db):
    response = actor.client.post(
        "/api/projects/",
        json={
            "title": "ab",
            "color": "red",
            "maximum_annotations": "x",
            "sampling": "bad",
            "pinned_at": "nope",
            "show_instruction": "maybe",
            "control_weights": [1],
            "label_config": '<View><Text name="t" value="$t"/><Choices name="c" toName="zz"/></View>',
        },
    )
    errors = assert_validation_error(response, "title")["validation_errors"]
    assert errors["title"] == ["Ensure this field has at least 3 characters."]
    assert errors["color"] == ['Color must be in "#RRGGBB" format']
    assert errors["maximum_annotations"] == ["A valid integer is required."]
    assert errors["sampling"] == ['"bad" is not a valid choice.']
    assert {"pinned_at", "show_instruction", "control_weights", "label_config"} <= set(errors)
    assert project_rows(db) == 0


@pytest.mark.parametrize(
    "body",
    [b"{bad", b"[1]", b'"text"'],
    ids=["malformed", "list", "string"],
)
def test_create_rejects_non_object_bodies(actor, db, body):
    response = actor.client.post("/api/projects/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["status_code"] == 400
    assert project_rows(db) == 0


@pytest.mark.parametrize("config", ["<View>", XXE_CONFIG, "<NotView/>", '<View><Choices name="c" toName="nothing"/></View>'])
def test_create_rejects_bad_and_xxe_configs(actor, db, config):
    response = actor.client.post("/api/projects/", json={"title": "Bad config", "label_config": config})
    errors = assert_validation_error(response, "label_config")["validation_errors"]
    assert all("root:" not in message for message in errors["label_config"])  # nothing from /etc/passwd
    assert project_rows(db) == 0


def test_requests_without_credentials_are_refused(client):
    assert client.get("/api/projects/").status_code == 401
    assert client.post("/api/projects/", json={"title": "x"}).status_code == 401


# --- list and counts ---------------------------------------------------------------------------


def test_list_is_paginated_filtered_and_scoped_to_the_organization(actor, stranger):
    first = create(actor, title="Alpha one")
    second = create(actor, title="Beta two")
    create(stranger, title="Alpha foreign")
    response = actor.client.get("/api/projects/")
    body = assert_list_matches_spec(response, "/api/projects/")
    assert body["count"] == 2 and [p["id"] for p in body["results"]] == [second["id"], first["id"]]
    assert body["results"][0]["task_data_login"] is None and body["results"][0]["task_data_password"] is None

    assert [p["id"] for p in actor.client.get("/api/projects/?title=alpha").json()["results"]] == [first["id"]]
    assert [p["id"] for p in actor.client.get(f"/api/projects/?ids={first['id']}").json()["results"]] == [first["id"]]
    paged = actor.client.get("/api/projects/?page_size=1&page=2").json()
    assert paged["count"] == 2 and [p["id"] for p in paged["results"]] == [first["id"]] and paged["next"] is None
    assert paged["previous"] is not None
    assert actor.client.get("/api/projects/?page=3&page_size=1").status_code == 404
    assert actor.client.get("/api/projects/?ids=1,abc").status_code == 400
    ordered = actor.client.get("/api/projects/?ordering=title").json()["results"]
    assert [p["title"] for p in ordered] == ["Alpha one", "Beta two"]


def test_list_pinned_filter_and_order(actor):
    plain = create(actor, title="Plain")
    pinned = create(actor, title="Pinned", pinned_at="2024-01-01T00:00:00Z")
    assert [p["id"] for p in actor.client.get("/api/projects/").json()["results"]] == [pinned["id"], plain["id"]]
    assert [p["id"] for p in actor.client.get("/api/projects/?filter=pinned_only").json()["results"]] == [pinned["id"]]
    assert [p["id"] for p in actor.client.get("/api/projects/?filter=exclude_pinned").json()["results"]] == [plain["id"]]


def test_include_limits_fields_like_label_studio(actor):
    project = create(actor)
    body = actor.client.get("/api/projects/?include=id,title,task_number,bogus").json()
    assert body["results"] == [{"id": project["id"], "title": "My project", "task_number": 0}]
    assert actor.client.get(f"/api/projects/{project['id']}/?include=id,task_number").json() == {"id": project["id"], "task_number": 0}
    counts = actor.client.get("/api/projects/counts/?include=task_number").json()
    assert counts["results"] == [{"task_number": 0}]


def test_counts_list(actor, db, stranger):
    project = create(actor)
    create(stranger)
    tasks = seed_tasks(db, project["id"], 3)
    seed_annotation(db, tasks[0], actor.user_id)
    response = actor.client.get("/api/projects/counts/")
    body = assert_list_matches_spec(response, "/api/projects/counts/")
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == project["id"] and item["task_number"] == 3 and item["finished_task_number"] == 1
    assert item["total_annotations_number"] == 1 and item["queue_total"] == 3 and item["queue_done"] == 1
    assert item["queue_left"] == 2


def test_list_costs_a_constant_number_of_statements(actor, db, statement_counter):
    for index in range(3):
        project = create(actor, title=f"Project {index}")
        tasks = seed_tasks(db, project["id"], 2)
        seed_annotation(db, tasks[0], actor.user_id)
    with statement_counter() as few:
        assert actor.client.get("/api/projects/?page_size=100").status_code == 200
    for index in range(3, 40):
        project = create(actor, title=f"Project {index}")
        tasks = seed_tasks(db, project["id"], 2)
        seed_annotation(db, tasks[0], actor.user_id)
    with statement_counter() as many:
        response = actor.client.get("/api/projects/?page_size=100")
    assert response.json()["count"] == 40
    assert many() == few()
    assert many() <= 8


# --- counters ----------------------------------------------------------------------------------


def detail(actor, project_id: int) -> dict:
    response = actor.client.get(f"/api/projects/{project_id}/")
    assert response.status_code == 200, response.text
    return assert_matches_spec(response, "GET", "/api/projects/{id}/")


def counters_of(body: dict) -> dict:
    keys = (
        "task_number", "finished_task_number", "total_annotations_number", "skipped_annotations_number",
        "total_predictions_number", "useful_annotation_number", "num_tasks_with_annotations",
        "ground_truth_number", "queue_total", "queue_done",
    )
    return {key: body[key] for key in keys}


def test_counters_with_one_annotation_per_task(actor, db, make_actor):
    project = create(actor)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    t1, t2, t3, t4 = seed_tasks(db, project["id"], 4)
    seed_annotation(db, t1, actor.user_id)
    seed_annotation(db, t2, actor.user_id, cancelled=True)
    seed_annotation(db, t3, colleague.user_id, ground_truth=True)
    seed_prediction(db, t4)
    seed_prediction(db, t1)
    body = detail(actor, project["id"])
    assert counters_of(body) == {
        "task_number": 4,
        "finished_task_number": 2,  # t1 and t3; the skip does not finish t2
        "total_annotations_number": 2,
        "skipped_annotations_number": 1,
        "total_predictions_number": 2,
        "useful_annotation_number": 1,  # ground truth is not "useful"
        "num_tasks_with_annotations": 1,
        "ground_truth_number": 1,
        "queue_total": 3,  # t1 and t2 (annotated by me) + t4 (unlabeled)
        "queue_done": 2,
    }
    assert body["state"] == "IN_PROGRESS"
    colleague_view = colleague.client.get(f"/api/projects/{project['id']}/").json()
    assert colleague_view["queue_total"] == 3 and colleague_view["queue_done"] == 1  # t2, t3, t4


def test_counters_with_two_annotations_per_task_and_overlap_changes(actor, db, make_actor):
    project = create(actor, maximum_annotations=2)
    colleague = make_actor("second@example.com", same_org_as=actor)
    t1, t2 = seed_tasks(db, project["id"], 2, overlap=2)
    seed_annotation(db, t1, actor.user_id)
    assert detail(actor, project["id"])["finished_task_number"] == 0
    seed_annotation(db, t1, colleague.user_id)
    body = detail(actor, project["id"])
    assert body["finished_task_number"] == 1 and body["total_annotations_number"] == 2
    assert body["num_tasks_with_annotations"] == 1 and body["useful_annotation_number"] == 2

    seed_annotation(db, t2, actor.user_id)
    response = actor.client.patch(f"/api/projects/{project['id']}/", json={"maximum_annotations": 1})
    assert response.status_code == 200
    assert response.json()["finished_task_number"] == 2
    db.expire_all()
    assert set(db.scalars(select(Task.overlap).where(Task.project_id == project["id"]))) == {1}
    assert all(db.scalars(select(Task.is_labeled).where(Task.project_id == project["id"])))

    response = actor.client.patch(f"/api/projects/{project['id']}/", json={"maximum_annotations": 3})
    assert response.json()["finished_task_number"] == 0
    db.expire_all()
    assert set(db.scalars(select(Task.overlap).where(Task.project_id == project["id"]))) == {3}


def test_skip_queue_ignore_skipped_finishes_skipped_tasks(actor, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    seed_annotation(db, task, actor.user_id, cancelled=True)
    assert detail(actor, project["id"])["finished_task_number"] == 0
    response = actor.client.patch(f"/api/projects/{project['id']}/", json={"skip_queue": "IGNORE_SKIPPED"})
    assert response.json()["finished_task_number"] == 1


def test_overlap_cohort_percentage(actor, db):
    project = create(actor, maximum_annotations=2)
    tasks = seed_tasks(db, project["id"], 4, overlap=2)
    seed_annotation(db, tasks[3], actor.user_id)
    response = actor.client.patch(f"/api/projects/{project['id']}/", json={"overlap_cohort_percentage": 50})
    assert response.status_code == 200
    db.expire_all()
    overlaps = dict(db.execute(select(Task.id, Task.overlap).where(Task.project_id == project["id"])).all())
    assert sorted(overlaps.values()) == [1, 1, 2, 2]
    assert overlaps[tasks[3]] == 2  # the task with most annotations joins the cohort first


# --- detail, update, delete --------------------------------------------------------------------


def test_get_update_and_put(actor):
    project = create(actor)
    body = detail(actor, project["id"])
    assert body["data_types"] == {"text": "Text"} and body["workspace"] is None and body["state"] == "CREATED"
    response = actor.client.patch(
        f"/api/projects/{project['id']}/",
        json={"title": "Renamed", "is_published": True, "is_draft": True, "expert_instruction": '<b onclick="x()">Hi</b><script>alert(1)</script>'},
    )
    assert response.status_code == 200
    body = assert_matches_spec(response, "PATCH", "/api/projects/{id}/")
    assert body["title"] == "Renamed" and body["is_published"] is True and body["is_draft"] is False
    assert body["expert_instruction"] == "<b>Hi</b>"
    assert actor.client.put(f"/api/projects/{project['id']}/", json={"description": "new"}).json()["description"] == "new"


def test_update_rejects_bad_input_and_changes_nothing(actor, db):
    project = create(actor)
    url = f"/api/projects/{project['id']}/"
    assert_validation_error(actor.client.patch(url, json={"title": "x" * 51}), "title")
    assert_validation_error(actor.client.patch(url, json={"label_config": XXE_CONFIG}), "label_config")
    assert_validation_error(actor.client.patch(url, json={"model_version": "unknown"}), "model_version")
    assert_validation_error(actor.client.patch(url, json={"label_config": None}), "label_config")
    assert actor.client.patch(url, content=b"{oops", headers={"Content-Type": "application/json"}).status_code == 400
    db.expire_all()
    stored = db.get(Project, project["id"])
    assert stored.title == "My project" and stored.label_config == CONFIG


def test_update_refuses_config_that_drops_used_controls(actor, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    seed_annotation(db, task, actor.user_id)
    url = f"/api/projects/{project['id']}/"
    renamed = CONFIG.replace('name="sentiment"', 'name="other"')
    errors = assert_validation_error(actor.client.patch(url, json={"label_config": renamed}), "label_config")["validation_errors"]
    assert errors["label_config"][0].startswith("Created annotations are incompatible with provided labeling schema")
    db.expire_all()
    assert db.get(Project, project["id"]).label_config == CONFIG
    # Like Label Studio, PATCH lets a used label go (only /validate/ is strict about labels).
    without_pos = CONFIG.replace('<Choice value="pos"/>', "")
    response = actor.client.patch(url, json={"label_config": without_pos})
    assert response.status_code == 200
    assert response.json()["control_weights"]["sentiment"]["labels"] == {"neg": 1.0}


def test_model_version_must_exist_in_predictions(actor, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    seed_prediction(db, task)
    url = f"/api/projects/{project['id']}/"
    assert actor.client.patch(url, json={"model_version": "m1"}).json()["model_version"] == "m1"
    assert actor.client.patch(url, json={"show_collab_predictions": False}).json()["model_version"] == ""


def test_delete_removes_tasks_annotations_and_predictions(actor, db):
    project = create(actor)
    other = create(actor, title="Kept")
    tasks = seed_tasks(db, project["id"], 3)
    kept_tasks = seed_tasks(db, other["id"], 1)
    seed_annotation(db, tasks[0], actor.user_id)
    seed_prediction(db, tasks[1])
    seed_annotation(db, kept_tasks[0], actor.user_id)
    response = actor.client.delete(f"/api/projects/{project['id']}/")
    assert response.status_code == 204
    db.expire_all()
    assert db.get(Project, project["id"]) is None
    assert db.scalar(select(func.count(Task.id)).where(Task.project_id == project["id"])) == 0
    assert db.scalar(select(func.count(Annotation.id)).where(Annotation.project_id == project["id"])) == 0
    assert db.scalar(select(func.count(Prediction.id)).where(Prediction.project_id == project["id"])) == 0
    assert db.scalar(select(func.count(Annotation.id))) == 1
    assert actor.client.get(f"/api/projects/{project['id']}/").status_code == 404
    assert detail(actor, other["id"])["task_number"] == 1


# --- annotators and validate -------------------------------------------------------------------


def test_annotators(actor, db, make_actor):
    project = create(actor)
    colleague = make_actor("annotator@example.com", same_org_as=actor)
    t1, t2 = seed_tasks(db, project["id"], 2)
    seed_annotation(db, t1, colleague.user_id)
    seed_annotation(db, t2, colleague.user_id)
    seed_annotation(db, t2, actor.user_id, cancelled=True)
    response = actor.client.get(f"/api/projects/{project['id']}/annotators/")
    body = assert_matches_spec(response, "GET", "/api/projects/{id}/annotators/")
    assert [user["id"] for user in body] == sorted([actor.user_id, colleague.user_id])
    assert {user["email"] for user in body} == {actor.email, colleague.email}


def validate(actor, project_id: int, body):
    return actor.client.post(f"/api/projects/{project_id}/validate/", json=body)


def test_validate(actor, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    seed_annotation(db, task, actor.user_id)
    response = validate(actor, project["id"], {"label_config": CONFIG})
    assert response.status_code == 200
    body = response.json()
    assert body["config_essential_data_has_changed"] is None
    assert not schema_errors({"label_config": body["label_config"]}, response_schema("POST", "/api/projects/{id}/validate/", 200))
    extended = CONFIG.replace("</Choices>", '<Choice value="new"/></Choices>')
    assert validate(actor, project["id"], {"label_config": extended}).json()["config_essential_data_has_changed"] is None
    renamed_input = CONFIG.replace('name="text"', 'name="body"').replace('toName="text"', 'toName="body"')
    assert validate(actor, project["id"], {"label_config": renamed_input}).status_code == 400

    without_pos = CONFIG.replace('<Choice value="pos"/>', "")
    errors = assert_validation_error(validate(actor, project["id"], {"label_config": without_pos}), "non_field_errors")
    assert "These labels still exist in annotations or drafts" in errors["validation_errors"]["non_field_errors"][0]
    assert_validation_error(validate(actor, project["id"], {}), "non_field_errors")
    assert_validation_error(validate(actor, project["id"], {"label_config": XXE_CONFIG}), "non_field_errors")
    assert_validation_error(validate(actor, project["id"], {"label_config": ["<View/>"]}), "label_config")
    db.expire_all()
    assert db.get(Project, project["id"]).label_config == CONFIG


# --- tenant isolation --------------------------------------------------------------------------


def test_other_organizations_projects_are_not_found(actor, stranger, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    seed_annotation(db, task, actor.user_id)
    pid = project["id"]
    requests = [
        ("GET", f"/api/projects/{pid}/", None),
        ("PATCH", f"/api/projects/{pid}/", {"title": "Hijacked"}),
        ("PUT", f"/api/projects/{pid}/", {"title": "Hijacked"}),
        ("DELETE", f"/api/projects/{pid}/", None),
        ("GET", f"/api/projects/{pid}/annotators/", None),
        ("POST", f"/api/projects/{pid}/validate/", {"label_config": CONFIG}),
        ("GET", f"/api/projects/{pid}/export?exportType=JSON", None),
        ("GET", "/api/projects/999999/", None),
    ]
    for method, url, body in requests:
        response = stranger.client.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["status_code"] == 404
    assert stranger.client.get("/api/projects/").json()["count"] == 0
    assert stranger.client.get(f"/api/projects/?ids={pid}").json()["count"] == 0
    assert stranger.client.get("/api/projects/counts/").json()["count"] == 0
    db.expire_all()
    assert db.get(Project, pid).title == "My project"


# --- counters through the REST API (import, annotate, skip, delete) ------------------------------


@pytest.mark.parametrize("maximum", [1, 2])
def test_counters_follow_imports_annotations_skips_and_deletes(actor, make_actor, maximum):
    project = create(actor, maximum_annotations=maximum)
    pid = project["id"]
    colleague = make_actor("rest-colleague@example.com", same_org_as=actor)
    imported = actor.client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[
            {"data": {"text": "a"}, "predictions": [{"result": choice("neg"), "model_version": "m1"}]},
            {"data": {"text": "b"}},
            {"data": {"text": "c"}},
        ],
    )
    assert imported.status_code == 201, imported.text
    t1, t2, t3 = imported.json()["task_ids"]
    body = detail(actor, pid)
    assert (body["task_number"], body["total_predictions_number"], body["queue_total"]) == (3, 1, 3)

    def annotate(who, task_id, **extra):
        response = who.client.post(f"/api/tasks/{task_id}/annotations/", json={"result": choice("pos"), **extra})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    mine = annotate(actor, t1)
    annotate(colleague, t1)
    annotate(actor, t2, result=[], was_cancelled=True)
    body = detail(actor, pid)
    assert counters_of(body) == {
        "task_number": 3,
        "finished_task_number": 1,  # t1 has 2 annotations, enough for overlap 1 and 2
        "total_annotations_number": 2,
        "skipped_annotations_number": 1,
        "total_predictions_number": 1,
        "useful_annotation_number": 2,
        "num_tasks_with_annotations": 1,
        "ground_truth_number": 0,
        "queue_total": 3,  # t1, t2 (mine) + t3 (unlabeled)
        "queue_done": 2,
    }

    assert actor.client.delete(f"/api/annotations/{mine}/").status_code == 204
    body = detail(actor, pid)
    assert body["total_annotations_number"] == 1 and body["useful_annotation_number"] == 1
    assert body["finished_task_number"] == (1 if maximum == 1 else 0)
    assert body["queue_done"] == 1  # only the skip is left of mine
    counts = actor.client.get(f"/api/projects/counts/?ids={pid}").json()["results"][0]
    assert {k: counts[k] for k in ("task_number", "finished_task_number", "total_annotations_number")} == {
        "task_number": 3, "finished_task_number": body["finished_task_number"], "total_annotations_number": 1
    }

    assert actor.client.delete(f"/api/projects/{pid}/tasks/").status_code in (200, 204)
    body = detail(actor, pid)
    assert counters_of(body) == {key: 0 for key in counters_of(body)}


@pytest.mark.parametrize(
    "instruction, stored",
    [
        ("Label all cats", "Label all cats"),
        ('<p>Hi <a href="javascript:alert(1)">x</a></p>', "<p>Hi <a>x</a></p>"),
        ("<img src=x onerror=alert(1)>", '<img src="x">'),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ],
)
def test_instructions_are_sanitized(actor, instruction, stored):
    project = create(actor, expert_instruction=instruction)
    assert project["expert_instruction"] == stored


def test_delete_costs_the_same_statements_whatever_the_size(actor, db, statement_counter):
    def seeded(title: str, tasks: int) -> int:
        project = create(actor, title=title)
        for task in seed_tasks(db, project["id"], tasks):
            seed_annotation(db, task, actor.user_id)
            seed_prediction(db, task)
        return project["id"]

    small, large = seeded("Small one", 1), seeded("Large one", 12)
    with statement_counter() as few:
        assert actor.client.delete(f"/api/projects/{small}/").status_code == 204
    with statement_counter() as many:
        assert actor.client.delete(f"/api/projects/{large}/").status_code == 204
    assert many() == few()


def test_annotations_without_result_are_not_useful(actor, db):
    project = create(actor)
    (task,) = seed_tasks(db, project["id"], 1)
    db.add(Annotation(task_id=task, project_id=project["id"], completed_by_id=actor.user_id, result=None))
    db.flush()
    refresh_task_counters(db, [task])
    db.commit()
    body = detail(actor, project["id"])
    assert body["total_annotations_number"] == 1
    assert body["useful_annotation_number"] == 0 and body["num_tasks_with_annotations"] == 0


def test_form_encoded_bodies_are_read_like_label_studio(actor):
    response = actor.client.post("/api/projects/", data={"title": "From a form", "maximum_annotations": "3", "show_instruction": "true"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["title"], body["maximum_annotations"], body["show_instruction"]) == ("From a form", 3, True)
    patched = actor.client.patch(f"/api/projects/{body['id']}/", data={"title": "Renamed by form"})
    assert patched.json()["title"] == "Renamed by form"
