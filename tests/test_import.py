"""Synchronous JSON import (POST /api/projects/{id}/import), prediction import and import status."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import core.tasks.bulk
from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import ProjectImport, Task
from tests.openapi_contract import assert_matches_spec, response_schema, schema_errors

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
IMPORT_KEYS = [
    "task_count", "annotation_count", "prediction_count", "duration", "file_upload_ids",
    "could_be_tasks_list", "found_formats", "data_columns",
]


def make_project(actor, **fields) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Import project", "label_config": CONFIG, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def post_import(actor, project_id: int, payload, query: str = ""):
    return actor.client.post(f"/api/projects/{project_id}/import{query}", json=payload)


def assert_import_answer(response) -> dict:
    """201 with Label Studio's Community answer. LS sends `prediction_count` (and `task_ids` when
    asked) where the spec documents `predictions_count`: that is the one allowed difference."""
    assert response.status_code == 201, response.text
    body = response.json()
    schema = response_schema("POST", "/api/projects/{id}/import", 201)
    errors = [e for e in schema_errors(body, schema) if "undeclared key 'prediction_count'" not in e
              and "undeclared key 'task_ids'" not in e and not (e.endswith("got NoneType") and "_count" in e)]
    assert not errors, errors
    assert list(body)[:len(IMPORT_KEYS)] == IMPORT_KEYS
    assert body["file_upload_ids"] == [] and body["found_formats"] == [] and body["data_columns"] == []
    assert body["could_be_tasks_list"] is False and isinstance(body["duration"], float)
    return body


def count(db, model, *conditions) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*conditions))


def tasks_of(db, project_id: int) -> list[Task]:
    db.expire_all()
    return list(db.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id)))


# ---------------------------------------------------------------- accepted shapes


def test_import_flat_and_data_forms(actor, db):
    project_id = make_project(actor, maximum_annotations=3)
    response = post_import(actor, project_id, [{"text": "flat", "extra": 1}, {"data": {"text": "wrapped"}, "meta": {"m": 1}}])
    body = assert_import_answer(response)
    assert (body["task_count"], body["annotation_count"], body["prediction_count"]) == (2, 0, 0)
    assert "task_ids" not in body
    first, second = tasks_of(db, project_id)
    assert first.data == {"text": "flat", "extra": 1} and first.meta == {}
    assert second.data == {"text": "wrapped"} and second.meta == {"m": 1}
    assert [first.inner_id, second.inner_id] == [1, 2]
    assert first.overlap == 3 and first.is_labeled is False
    project_import = db.scalar(select(ProjectImport).where(ProjectImport.project_id == project_id))
    assert project_import.status == "completed" and project_import.task_count == 2
    assert first.import_id == project_import.id


def test_import_one_task_object(actor, db):
    project_id = make_project(actor)
    body = assert_import_answer(post_import(actor, project_id, {"text": "single"}, "?return_task_ids=true"))
    assert body["task_count"] == 1
    [task] = tasks_of(db, project_id)
    assert body["task_ids"] == [task.id] and task.data == {"text": "single"}


def test_import_continues_inner_ids(actor, db):
    project_id = make_project(actor)
    assert_import_answer(post_import(actor, project_id, [{"text": "a"}, {"text": "b"}]))
    body = assert_import_answer(post_import(actor, project_id, [{"text": "c"}], "?return_task_ids=1"))
    assert db.get(Task, body["task_ids"][0]).inner_id == 3


def test_import_with_annotations_and_predictions_sets_counters(actor, make_actor, db):
    project_id = make_project(actor, maximum_annotations=2)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    payload = [
        {"data": {"text": "two annotators"},
         "annotations": [{"result": POSITIVE}, {"result": POSITIVE, "completed_by": {"email": colleague.email}, "lead_time": 2.5}],
         "predictions": [{"result": POSITIVE, "score": 0.8, "model_version": "m1"}]},
        {"data": {"text": "one annotator twice"},
         "annotations": [{"result": POSITIVE}, {"result": POSITIVE, "completed_by": actor.user_id}]},
        {"data": {"text": "skipped"}, "annotations": [{"result": [], "was_cancelled": True}]},
    ]
    body = assert_import_answer(post_import(actor, project_id, payload, "?return_task_ids=true"))
    assert (body["task_count"], body["annotation_count"], body["prediction_count"]) == (3, 5, 1)
    both, same, skipped = tasks_of(db, project_id)
    assert (both.total_annotations, both.total_predictions, both.is_labeled) == (2, 1, True)
    assert both.completed_at is not None
    assert (same.total_annotations, same.is_labeled, same.completed_at) == (2, False, None)
    assert (skipped.total_annotations, skipped.cancelled_annotations, skipped.is_labeled) == (0, 1, False)
    authors = db.scalars(select(Annotation.completed_by_id).where(Annotation.task_id == both.id).order_by(Annotation.id)).all()
    assert authors == [actor.user_id, colleague.user_id]
    annotation = db.scalar(select(Annotation).where(Annotation.task_id == both.id, Annotation.completed_by_id == colleague.user_id))
    assert annotation.lead_time == 2.5 and annotation.ground_truth is True and annotation.result == POSITIVE
    prediction = db.scalar(select(Prediction).where(Prediction.task_id == both.id))
    assert (prediction.score, prediction.model_version, prediction.project_id) == (0.8, "m1", project_id)
    # A project without a model version takes the imported one, like Label Studio.
    db.expire_all()
    assert db.get(Project, project_id).model_version == "m1"
    listed = actor.client.get(f"/api/tasks/?project={project_id}").json()
    assert (listed["total_annotations"], listed["total_predictions"]) == (4, 1)


def test_import_legacy_completions_as_annotations(actor, db):
    project_id = make_project(actor)
    body = assert_import_answer(post_import(actor, project_id, [{"data": {"text": "old"}, "completions": [{"result": POSITIVE}]}]))
    assert body["annotation_count"] == 1
    [task] = tasks_of(db, project_id)
    assert task.total_annotations == 1 and task.is_labeled is True


def test_import_preannotated_from_fields(actor, db):
    project_id = make_project(actor)
    payload = [{"text": "good", "sentiment": "pos"}, {"text": "no label"}]
    body = assert_import_answer(post_import(actor, project_id, payload, "?preannotated_from_fields=sentiment"))
    assert (body["task_count"], body["prediction_count"]) == (2, 1)
    labeled, unlabeled = tasks_of(db, project_id)
    assert labeled.data == {"text": "good", "sentiment": "pos"} and labeled.total_predictions == 1
    prediction = db.scalar(select(Prediction).where(Prediction.task_id == labeled.id))
    assert prediction.result == POSITIVE and prediction.score == 1.0 and prediction.model_version == "preannotated"
    assert unlabeled.total_predictions == 0


def test_import_without_commit_writes_no_tasks(actor, db):
    project_id = make_project(actor)
    body = assert_import_answer(post_import(actor, project_id, [{"text": "a"}, {"text": "b"}], "?commit_to_project=false&return_task_ids=true"))
    assert body["task_count"] == 2 and body["annotation_count"] is None and body["prediction_count"] is None
    assert "task_ids" not in body
    assert count(db, Task) == 0


def test_import_in_batches(actor, db, monkeypatch):
    monkeypatch.setattr(core.tasks.bulk, "BATCH_SIZE", 7)
    project_id = make_project(actor)
    payload = [{"data": {"text": str(i)}, "predictions": [{"result": POSITIVE}]} for i in range(30)]
    body = assert_import_answer(post_import(actor, project_id, payload, "?return_task_ids=true"))
    tasks = tasks_of(db, project_id)
    assert body["task_ids"] == [task.id for task in tasks]
    assert [task.inner_id for task in tasks] == list(range(1, 31))
    assert [task.data["text"] for task in tasks] == [str(i) for i in range(30)]
    assert all(task.total_predictions == 1 for task in tasks)


# ---------------------------------------------------------------- rejected input


BAD_IMPORTS = [
    ("not a list", '"just text"', "load_tasks: No data found in DATA or in FILES"),
    ("empty list", "[]", "load_tasks: No tasks added"),
    ("number item", "[1]", 'Error at item 0: Task root must be dict with "data", "meta", "annotations", "predictions" fields :: 1'),
    ("data not a dict", '[{"data": "x"}]', "Error at item 0: Task[data] must be dict :: {'data': 'x'}"),
    ("missing data key", '[{"text": "ok"}, {"other": 1}]',
     "Error at item 1: \"text\" key is expected in task data [assume: item as is = task root with values]  :: {'other': 1}"),
    ("wrong data type", '[{"text": null}]', "Error at item 0: data['text']=None is of type 'NoneType', but the object tag Text expects"),
    ("annotation without result", '[{"data": {"text": "x"}, "annotations": [{"foo": 1}]}]', 'Annotation must have "result" fields'),
    ("annotation result not a list", '[{"data": {"text": "x"}, "annotations": [{"result": "pos"}]}]', '"result" field in annotation must be list'),
    ("annotations not a list", '[{"data": {"text": "x"}, "annotations": {"result": []}}]', "Task[annotations] must be list"),
    ("prediction without result", '[{"data": {"text": "x"}, "predictions": [{"score": 1}]}]', 'Prediction must have "result" fields'),
    ("meta not an object", '[{"data": {"text": "x"}, "meta": "m"}]', "Task[meta] must be dict or list"),
    ("unknown annotator", '[{"data": {"text": "x"}, "annotations": [{"result": [], "completed_by": 99999}]}]',
     "Import data contains completed_by=99999 which is not a valid annotator's email or ID"),
    ("unknown annotator email", '[{"data": {"text": "x"}, "annotations": [{"result": [], "completed_by": {"email": "no@x.y"}}]}]',
     "Unknown annotator's email no@x.y"),
    ("bad prediction result", '[{"data": {"text": "x"}, "predictions": [{"result": [1]}]}]', "Each item in prediction result should be dict"),
]


@pytest.mark.parametrize("case", BAD_IMPORTS, ids=[case[0] for case in BAD_IMPORTS])
def test_bad_import_is_400_and_writes_nothing(actor, db, case):
    _, body, message = case
    project_id = make_project(actor)
    # A valid first item must not be written either.
    response = actor.client.post(f"/api/projects/{project_id}/import", content=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status_code"] == 400 and error["detail"] == "Validation error"
    messages = [m for values in error["validation_errors"].values() for m in values]
    assert any(message in m for m in messages), messages
    assert count(db, Task) == 0 and count(db, Annotation) == 0 and count(db, Prediction) == 0
    assert count(db, ProjectImport) == 0


def test_malformed_json_and_bad_params_are_400(actor, db):
    project_id = make_project(actor)
    malformed = actor.client.post(f"/api/projects/{project_id}/import", content=b"[{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["detail"].startswith("JSON parse error")
    bad_flag = post_import(actor, project_id, [{"text": "a"}], "?commit_to_project=maybe")
    assert bad_flag.status_code == 400 and "commit_to_project" in bad_flag.json()["validation_errors"]
    assert count(db, Task) == 0


def test_import_refuses_more_tasks_than_label_studio_allows(actor, db, monkeypatch):
    import core.imports.tasks_import

    monkeypatch.setattr(core.imports.tasks_import, "MAX_TASKS_PER_IMPORT", 3)
    project_id = make_project(actor)
    response = post_import(actor, project_id, [{"text": str(i)} for i in range(4)])
    assert response.status_code == 400
    assert response.json()["validation_errors"]["non_field_errors"] == ["Maximum task number is 3, current task number is 4"]
    assert count(db, Task) == 0


def test_import_reports_at_most_100_bad_items(actor):
    project_id = make_project(actor)
    response = post_import(actor, project_id, [{"other": i} for i in range(150)])
    messages = response.json()["validation_errors"]["non_field_errors"]
    assert len(messages) == 100 and messages[-1] == "..."


def test_import_into_another_organizations_project_is_404(actor, stranger, db):
    project_id = make_project(actor)
    assert post_import(stranger, project_id, [{"text": "intruder"}]).status_code == 404
    assert post_import(actor, 987654, [{"text": "x"}]).status_code == 404
    assert post_import(actor, 2**40, [{"text": "x"}]).status_code == 404
    assert count(db, Task) == 0


# ---------------------------------------------------------------- import status


def _import_id(db, project_id: int) -> int:
    db.expire_all()
    return db.scalar(select(ProjectImport.id).where(ProjectImport.project_id == project_id))


def test_import_status_reports_the_finished_import(actor, stranger, db):
    project_id = make_project(actor)
    other_project = make_project(actor)
    post_import(actor, project_id, [{"text": "a"}, {"data": {"text": "b"}, "annotations": [{"result": POSITIVE}]}], "?return_task_ids=true")
    import_id = _import_id(db, project_id)
    response = actor.client.get(f"/api/projects/{project_id}/imports/{import_id}/")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/projects/{id}/imports/{import_pk}/")
    assert body["id"] == import_id and body["project"] == project_id and body["status"] == "completed"
    assert (body["task_count"], body["annotation_count"], body["prediction_count"]) == (2, 1, 0)
    assert body["return_task_ids"] is True and len(body["task_ids"]) == 2 and body["finished_at"] >= body["created_at"]
    assert actor.client.get(f"/api/projects/{other_project}/imports/{import_id}/").status_code == 404
    assert actor.client.get(f"/api/projects/{project_id}/imports/999999/").status_code == 404
    assert stranger.client.get(f"/api/projects/{project_id}/imports/{import_id}/").status_code == 404


# ---------------------------------------------------------------- predictions for existing tasks


def test_import_predictions_for_existing_tasks(actor, db):
    project_id = make_project(actor)
    first, second = actor.client.post(f"/api/projects/{project_id}/import?return_task_ids=true", json=[{"text": "a"}, {"text": "b"}]).json()["task_ids"]
    payload = [
        {"task": first, "result": POSITIVE, "score": 0.4, "model_version": "v2"},
        {"task": second, "result": "neg"},  # Label Studio's shorthand for a single-valued control
    ]
    response = actor.client.post(f"/api/projects/{project_id}/import/predictions", json=payload)
    assert response.status_code == 201, response.text
    assert assert_matches_spec(response, "POST", "/api/projects/{id}/import/predictions") == {"created": 2}
    shorthand = db.scalar(select(Prediction).where(Prediction.task_id == second))
    assert shorthand.result == [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]
    assert shorthand.model_version == "undefined"
    db.expire_all()
    assert db.get(Task, first).total_predictions == 1 and db.get(Task, second).total_predictions == 1


def test_import_predictions_rejects_bad_items_and_writes_nothing(actor, stranger, db):
    project_id = make_project(actor)
    other_project = make_project(actor)
    [task_id] = actor.client.post(f"/api/projects/{project_id}/import?return_task_ids=true", json=[{"text": "a"}]).json()["task_ids"]
    [foreign_task] = actor.client.post(f"/api/projects/{other_project}/import?return_task_ids=true", json=[{"text": "b"}]).json()["task_ids"]
    cases = [
        [{"task": task_id, "result": POSITIVE}, {"task": 999999, "result": POSITIVE}],
        [{"task": 2**40, "result": POSITIVE}],
        [{"task": foreign_task, "result": POSITIVE}],
        [{"task": task_id}],
        [{"task": task_id, "result": 5.5}],
        [{"task": task_id, "result": ["region"]}],
        ["not a dict"],
        {"task": task_id, "result": POSITIVE},
    ]
    for payload in cases:
        response = actor.client.post(f"/api/projects/{project_id}/import/predictions", json=payload)
        assert response.status_code == 400, (payload, response.text)
    assert stranger.client.post(f"/api/projects/{project_id}/import/predictions", json=[{"task": task_id, "result": POSITIVE}]).status_code == 404
    assert count(db, Prediction) == 0
