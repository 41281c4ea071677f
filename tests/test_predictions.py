"""Predictions REST API: shapes against the spec, result forms, filters, counters, bad input, isolation."""
from __future__ import annotations

from sqlalchemy import func, select

from core.predictions.models import Prediction
from core.tasks.models import Task
from tests.openapi_contract import assert_matches_spec
from tests.test_annotations import RESULT, assert_error, make_project, make_tasks

LIST = "/api/predictions/"
ONE = "/api/predictions/{id}/"


def total_predictions(db, task_id: int) -> int:
    db.expire_all()
    return db.get(Task, task_id).total_predictions


def prediction_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count(Prediction.id)))


def test_create_prediction_renders_like_label_studio(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    response = actor.client.post(LIST, json={"task": task, "result": RESULT, "score": 0.5, "model_version": "v1"})
    body = assert_matches_spec(response, "POST", LIST)
    assert response.status_code == 201
    assert body["result"] == RESULT and body["score"] == 0.5 and body["model_version"] == "v1"
    assert (body["task"], body["project"]) == (task, project)
    assert (body["cluster"], body["neighbors"], body["mislabeling"], body["model"], body["model_run"]) == (None, None, 0.0, None, None)
    assert body["created_ago"] == "0\xa0minutes"
    assert total_predictions(db, task) == 1
    db.expire_all()
    assert db.get(Task, task).updated_by_id == actor.user_id

    got = actor.client.get(f"/api/predictions/{body['id']}/")
    assert assert_matches_spec(got, "GET", ONE) == body


def test_model_version_defaults_to_empty(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    body = actor.client.post(LIST, json={"task": task, "result": RESULT}).json()
    assert body["model_version"] == "" and body["score"] is None


def test_shorthand_results_are_expanded_with_the_label_config(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    expanded = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]
    as_value = actor.client.post(LIST, json={"task": task, "result": {"choices": ["neg"]}})
    assert as_value.status_code == 201 and as_value.json()["result"] == expanded
    as_label = actor.client.post(LIST, json={"task": task, "result": "neg"})
    assert as_label.status_code == 201 and as_label.json()["result"] == expanded
    # Nothing in the config fits: LS keeps the prediction with no result.
    unmatched = actor.client.post(LIST, json={"task": task, "result": {"zzz": 1}})
    assert unmatched.status_code == 201 and unmatched.json()["result"] is None
    assert total_predictions(db, task) == 3


def test_list_filters_by_task_and_project(actor, db):
    first_project = make_project(actor)
    second_project = make_project(actor)
    [task_a, task_b] = make_tasks(actor, first_project, count=2)
    [task_c] = make_tasks(actor, second_project)
    ids = {t: actor.client.post(LIST, json={"task": t, "result": RESULT}).json()["id"] for t in (task_a, task_b, task_c)}

    everything = assert_matches_spec(actor.client.get(LIST), "GET", LIST)
    assert [p["id"] for p in everything] == [ids[task_a], ids[task_b], ids[task_c]]
    by_task = actor.client.get(LIST, params={"task": task_b}).json()
    assert [p["id"] for p in by_task] == [ids[task_b]]
    by_project = actor.client.get(LIST, params={"project": first_project}).json()
    assert [p["id"] for p in by_project] == [ids[task_a], ids[task_b]]
    assert actor.client.get(LIST, params={"project": second_project, "task": task_a}).json() == []


def test_list_with_unknown_filters_is_a_400(actor, stranger, db):
    foreign_project = make_project(stranger)
    [foreign_task] = make_tasks(stranger, foreign_project)
    stranger.client.post(LIST, json={"task": foreign_task, "result": RESULT})
    invalid = ["Select a valid choice. That choice is not one of the available choices."]
    assert assert_error(actor.client.get(LIST, params={"task": "abc"}), 400)["validation_errors"] == {"task": invalid}
    assert assert_error(actor.client.get(LIST, params={"task": 999999}), 400)["validation_errors"] == {"task": invalid}
    assert assert_error(actor.client.get(LIST, params={"task": foreign_task}), 400)["validation_errors"] == {"task": invalid}
    assert assert_error(actor.client.get(LIST, params={"project": foreign_project}), 400)["validation_errors"] == {"project": invalid}
    assert actor.client.get(LIST).json() == []


def test_bad_create_input_is_refused_and_writes_nothing(actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    foreign_project = make_project(stranger)
    [foreign_task] = make_tasks(stranger, foreign_project)
    cases = [
        ({"result": RESULT}, {"task": ["This field is required."]}),
        ({"task": task}, {"result": ["This field is required."]}),
        ({"task": task, "result": None}, {"result": ["This field may not be null."]}),
        ({"task": 999999, "result": RESULT}, {"task": ['Invalid pk "999999" - object does not exist.']}),
        ({"task": foreign_task, "result": RESULT}, {"task": [f'Invalid pk "{foreign_task}" - object does not exist.']}),
        ({"task": task, "result": RESULT, "project": foreign_project}, {"project": [f'Invalid pk "{foreign_project}" - object does not exist.']}),
        ({"task": task, "result": [1]}, {"non_field_errors": ["Each item in prediction result should be dict"]}),
        ({"task": task, "result": 1.5}, {"non_field_errors": ["Incorrect format <class 'float'> for prediction result 1.5"]}),
        (
            {"task": task, "result": RESULT, "score": "x", "model_version": None},
            {"score": ["A valid number is required."], "model_version": ["This field may not be null."]},
        ),
        ({"task": "abc", "result": RESULT}, {"task": ["Incorrect type. Expected pk value, received str."]}),
        ({"task": task, "result": RESULT, "cluster": "x", "mislabeling": None}, {
            "cluster": ["A valid integer is required."], "mislabeling": ["This field may not be null."]}),
        ({"task": -(2**40), "result": RESULT}, {"task": [f'Invalid pk "{-(2**40)}" - object does not exist.']}),
        ({"task": task, "result": RESULT, "model": 5}, {"model": ['Invalid pk "5" - object does not exist.']}),
    ]
    for payload, errors in cases:
        body = assert_error(actor.client.post(LIST, json=payload), 400)
        assert body["validation_errors"] == errors, payload
    assert_error(actor.client.post(LIST, content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    assert_error(actor.client.post(LIST, json=[{"task": task, "result": RESULT}]), 400)
    assert prediction_count(db) == 0
    assert total_predictions(db, task) == 0


def test_patch_prediction(actor, db):
    project = make_project(actor)
    [task, other_task] = make_tasks(actor, project, count=2)
    prediction = actor.client.post(LIST, json={"task": task, "result": RESULT}).json()
    url = f"/api/predictions/{prediction['id']}/"
    response = actor.client.patch(url, json={"score": 0.9, "model_version": "v2", "result": {"choices": ["neg"]}})
    body = assert_matches_spec(response, "PATCH", ONE)
    assert body["score"] == 0.9 and body["model_version"] == "v2"
    assert body["result"][0]["value"] == {"choices": ["neg"]}
    db.expire_all()
    assert db.get(Prediction, prediction["id"]).score == 0.9

    moved = actor.client.patch(url, json={"task": other_task})
    assert moved.status_code == 200 and moved.json()["task"] == other_task
    assert total_predictions(db, task) == 0 and total_predictions(db, other_task) == 1


def test_bad_patch_changes_nothing(actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    foreign_project = make_project(stranger)
    [foreign_task] = make_tasks(stranger, foreign_project)
    prediction_id = actor.client.post(LIST, json={"task": task, "result": RESULT, "score": 0.1}).json()["id"]
    url = f"/api/predictions/{prediction_id}/"
    assert_error(actor.client.patch(url, json={"result": None}), 400)
    assert_error(actor.client.patch(url, json={"score": "high"}), 400)
    assert_error(actor.client.patch(url, json={"task": foreign_task}), 400)
    assert_error(actor.client.patch(url, json={"result": [1], "score": 0.7}), 400)
    assert_error(actor.client.patch(url, content=b"[", headers={"Content-Type": "application/json"}), 400)
    assert_error(actor.client.patch("/api/predictions/999999/", json={"score": 1}), 404)
    # PUT replaces: task and result are required as on create.
    assert assert_error(actor.client.put(url, json={"score": 0.3}), 400)["validation_errors"] == {
        "task": ["This field is required."],
        "result": ["This field is required."],
    }
    db.expire_all()
    stored = db.get(Prediction, prediction_id)
    assert (stored.task_id, stored.score, stored.result) == (task, 0.1, RESULT)


def test_delete_prediction_updates_counters(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    prediction_id = actor.client.post(LIST, json={"task": task, "result": RESULT}).json()["id"]
    assert total_predictions(db, task) == 1
    assert actor.client.delete(f"/api/predictions/{prediction_id}/").status_code == 204
    assert total_predictions(db, task) == 0 and prediction_count(db) == 0
    assert_error(actor.client.get(f"/api/predictions/{prediction_id}/"), 404)


def test_other_organizations_predictions_are_not_found(actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    prediction_id = actor.client.post(LIST, json={"task": task, "result": RESULT}).json()["id"]
    assert_error(stranger.client.get(f"/api/predictions/{prediction_id}/"), 404)
    assert_error(stranger.client.patch(f"/api/predictions/{prediction_id}/", json={"score": 1}), 404)
    assert_error(stranger.client.delete(f"/api/predictions/{prediction_id}/"), 404)
    assert_error(stranger.client.get(f"/api/predictions/{2**40}/"), 404)
    assert stranger.client.get(LIST).json() == []
    assert prediction_count(db) == 1 and total_predictions(db, task) == 1


def test_create_costs_a_handful_of_statements(actor, db, statement_counter):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    actor.client.post(LIST, json={"task": task, "result": RESULT})
    with statement_counter() as executed:
        response = actor.client.post(LIST, json={"task": task, "result": RESULT})
    assert response.status_code == 201
    # auth (1) + task with project + insert + task counters and touch + the outbox event;
    # on PostgreSQL + the task row lock the recount takes first (core.tasks.counters)
    task_lock = 1 if db.get_bind().dialect.name == "postgresql" else 0
    assert executed() <= 5 + task_lock
