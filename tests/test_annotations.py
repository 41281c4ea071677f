"""Annotations REST API: shapes against the spec, task counters, bad input, tenant isolation, speed."""
from __future__ import annotations

from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.tasks.models import Task
from tests.openapi_contract import assert_matches_spec

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
ONE = "/api/annotations/{id}/"
TASK_LIST = "/api/tasks/{id}/annotations/"


def make_project(actor, maximum_annotations: int = 1, **extra) -> int:
    response = actor.client.post(
        "/api/projects/", json={"title": "Project", "label_config": CONFIG, "maximum_annotations": maximum_annotations, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def make_tasks(actor, project_id: int, count: int = 1) -> list[int]:
    """Imports `count` tasks; their overlap is the project's maximum_annotations, as in LS."""
    response = actor.client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true", json=[{"text": f"t{i}"} for i in range(count)]
    )
    assert response.status_code == 201, response.text
    return response.json()["task_ids"]


def counters(db, task_id: int) -> dict:
    db.expire_all()
    task = db.get(Task, task_id)
    return {
        "total_annotations": task.total_annotations,
        "cancelled_annotations": task.cancelled_annotations,
        "is_labeled": task.is_labeled,
    }


def annotation_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count(Annotation.id)))


def create(actor, task_id: int, query: str = "", **body):
    return actor.client.post(f"/api/tasks/{task_id}/annotations/{query}", json={"result": RESULT, **body})


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status and "detail" in body
    return body


# --- create / read ----------------------------------------------------------------------


def test_create_annotation_renders_like_label_studio(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    response = create(actor, task, lead_time=3.5)
    body = assert_matches_spec(response, "POST", TASK_LIST)
    assert response.status_code == 201
    assert body["result"] == RESULT
    assert body["completed_by"] == actor.user_id
    assert body["updated_by"] == actor.user_id
    assert body["created_username"] == f" {actor.email}, {actor.user_id}"
    assert body["created_ago"] == "0\xa0minutes"
    assert (body["task"], body["project"]) == (task, project)
    assert (body["was_cancelled"], body["ground_truth"], body["lead_time"]) == (False, False, 3.5)
    assert body["bulk_created"] is False and body["last_action"] is None and body["draft_created_at"] is None
    assert counters(db, task) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": True}

    got = actor.client.get(f"/api/annotations/{body['id']}/")
    assert assert_matches_spec(got, "GET", ONE) == body


def test_task_is_labeled_only_when_overlap_is_reached(actor, make_actor, db):
    project = make_project(actor, maximum_annotations=2)
    [task] = make_tasks(actor, project)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    assert create(actor, task).status_code == 201
    assert counters(db, task) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": False}
    assert create(colleague, task).status_code == 201
    assert counters(db, task) == {"total_annotations": 2, "cancelled_annotations": 0, "is_labeled": True}


def test_skipping_by_query_parameter_counts_as_cancelled(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    response = create(actor, task, query="?was_cancelled=1", result=[])
    assert response.status_code == 201
    assert response.json()["was_cancelled"] is True
    assert counters(db, task) == {"total_annotations": 0, "cancelled_annotations": 1, "is_labeled": False}


def test_create_without_result_stores_no_result(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    response = actor.client.post(f"/api/tasks/{task}/annotations/", json={"was_cancelled": True})
    assert response.status_code == 201
    assert response.json()["result"] is None
    assert counters(db, task)["cancelled_annotations"] == 1


def test_list_task_annotations_leaves_out_cancelled_ones(actor, make_actor, db):
    project = make_project(actor, maximum_annotations=3)
    [task] = make_tasks(actor, project)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    first = create(actor, task).json()["id"]
    create(actor, task, was_cancelled=True)
    second = create(colleague, task).json()["id"]
    response = actor.client.get(f"/api/tasks/{task}/annotations/")
    body = assert_matches_spec(response, "GET", TASK_LIST)
    assert [a["id"] for a in body] == [first, second]
    assert body[1]["created_username"] == f" colleague@example.com, {colleague.user_id}"


def test_completed_by_may_name_a_member_of_the_organization(actor, make_actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    response = create(actor, task, completed_by=colleague.user_id)
    assert response.status_code == 201
    assert response.json()["completed_by"] == colleague.user_id
    assert response.json()["updated_by"] == actor.user_id

    refused = create(actor, task, completed_by=stranger.user_id)
    body = assert_error(refused, 400)
    assert body["validation_errors"] == {"completed_by": [f'Invalid pk "{stranger.user_id}" - object does not exist.']}
    assert annotation_count(db) == 1


def test_ground_truth_is_unique_per_task(actor, db):
    project = make_project(actor, maximum_annotations=2)
    [task] = make_tasks(actor, project)
    first = create(actor, task, ground_truth=True).json()["id"]
    second = create(actor, task, ground_truth=True).json()["id"]
    assert actor.client.get(f"/api/annotations/{first}/").json()["ground_truth"] is False
    assert actor.client.get(f"/api/annotations/{second}/").json()["ground_truth"] is True
    actor.client.patch(f"/api/annotations/{first}/", json={"ground_truth": True})
    assert actor.client.get(f"/api/annotations/{second}/").json()["ground_truth"] is False


def test_create_touches_the_task(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    db.expire_all()
    before = db.get(Task, task).updated_at
    create(actor, task)
    db.expire_all()
    touched = db.get(Task, task)
    assert touched.updated_at > before and touched.updated_by_id == actor.user_id


# --- bad input ------------------------------------------------------------------------------


def test_bad_create_input_is_refused_and_writes_nothing(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    url = f"/api/tasks/{task}/annotations/"
    cases = [
        ({"result": {"a": 1}}, {"result": ['annotation "result" field in annotation must be list']}),
        ({"result": None}, {"result": ["This field may not be null."]}),
        ({"result": [1, 2]}, {"result": ["Each item in annotation result should be dict"]}),
        ({"result": "not json"}, {"result": ['annotation "result" can\'t be parse from str to JSON']}),
        ({"result": [], "lead_time": "abc"}, {"lead_time": ["A valid number is required."]}),
        ({"result": [], "was_cancelled": "maybe"}, {"was_cancelled": ["Must be a valid boolean."]}),
        ({"result": [], "completed_by": 999999}, {"completed_by": ['Invalid pk "999999" - object does not exist.']}),
        ({"result": [], "last_action": "dance"}, {"last_action": ['"dance" is not a valid choice.']}),
        ({"result": [], "parent_annotation": 424242}, {"parent_annotation": ['Invalid pk "424242" - object does not exist.']}),
        ({"result": [], "parent_prediction": -(2**40)}, {"parent_prediction": [f'Invalid pk "{-(2**40)}" - object does not exist.']}),
        ({"result": [], "completed_by": -(2**40)}, {"completed_by": [f'Invalid pk "{-(2**40)}" - object does not exist.']}),
        (
            {"result": [], "completed_by": "abc", "parent_prediction": 1.5},
            {
                "completed_by": ["Incorrect type. Expected pk value, received str."],
                "parent_prediction": ["Incorrect type. Expected pk value, received float."],
            },
        ),
    ]
    for payload, errors in cases:
        body = assert_error(actor.client.post(url, json=payload), 400)
        assert body["validation_errors"] == errors, payload
    assert_error(actor.client.post(url, content=b"{bad", headers={"Content-Type": "application/json"}), 400)
    assert_error(actor.client.post(url, json=[RESULT]), 400)
    assert_error(actor.client.post(f"{url}?was_cancelled=perhaps", json={"result": []}), 400)
    assert_error(actor.client.post("/api/tasks/999999/annotations/", json={"result": RESULT}), 404)
    assert_error(actor.client.post("/api/tasks/99999999999/annotations/", json={"result": RESULT}), 404)
    assert annotation_count(db) == 0
    assert counters(db, task) == {"total_annotations": 0, "cancelled_annotations": 0, "is_labeled": False}


def test_result_may_be_sent_as_a_json_string(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    import json

    response = actor.client.post(f"/api/tasks/{task}/annotations/", json={"result": json.dumps(RESULT)})
    assert response.status_code == 201
    assert response.json()["result"] == RESULT


def test_duplicate_unique_id_is_a_conflict(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    unique_id = "6f1c1b2e-9a4d-4c44-8f1e-0d1b2c3d4e5f"
    assert create(actor, task, unique_id=unique_id).status_code == 201
    assert_error(create(actor, task, unique_id=unique_id), 409)
    assert annotation_count(db) == 1


# --- update / delete ----------------------------------------------------------------------


def test_patch_cancel_and_uncancel_keeps_counters_right(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    annotation = create(actor, task).json()
    response = actor.client.patch(f"/api/annotations/{annotation['id']}/", json={"was_cancelled": True})
    body = assert_matches_spec(response, "PATCH", ONE)
    assert body["was_cancelled"] is True and body["result"] == RESULT
    assert body["updated_at"] >= annotation["updated_at"]
    assert counters(db, task) == {"total_annotations": 0, "cancelled_annotations": 1, "is_labeled": False}

    response = actor.client.patch(f"/api/annotations/{annotation['id']}/", json={"was_cancelled": False, "lead_time": 7})
    assert response.status_code == 200 and response.json()["lead_time"] == 7.0
    assert counters(db, task) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": True}


def test_patch_changes_the_result_and_records_who(actor, make_actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    annotation_id = create(actor, task).json()["id"]
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    new_result = [{**RESULT[0], "value": {"choices": ["neg"]}}]
    response = colleague.client.patch(f"/api/annotations/{annotation_id}/", json={"result": new_result})
    body = assert_matches_spec(response, "PATCH", ONE)
    assert body["result"] == new_result
    assert body["completed_by"] == actor.user_id and body["updated_by"] == colleague.user_id
    db.expire_all()
    assert db.get(Annotation, annotation_id).result == new_result


def test_bad_patch_is_refused_and_changes_nothing(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    annotation_id = create(actor, task).json()["id"]
    url = f"/api/annotations/{annotation_id}/"
    assert assert_error(actor.client.patch(url, json={"result": None}), 400)["validation_errors"] == {"result": ["This field may not be null."]}
    assert_error(actor.client.patch(url, json={"result": {"x": 1}, "was_cancelled": True}), 400)
    assert_error(actor.client.patch(url, json=[]), 400)
    assert_error(actor.client.patch(url, content=b"nope", headers={"Content-Type": "application/json"}), 400)
    assert_error(actor.client.patch("/api/annotations/999999/", json={"lead_time": 1}), 404)
    db.expire_all()
    stored = db.get(Annotation, annotation_id)
    assert stored.result == RESULT and stored.was_cancelled is False
    assert counters(db, task)["total_annotations"] == 1


def test_delete_annotation_updates_counters(actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    annotation_id = create(actor, task).json()["id"]
    response = actor.client.delete(f"/api/annotations/{annotation_id}/")
    assert response.status_code == 204
    assert annotation_count(db) == 0
    assert counters(db, task) == {"total_annotations": 0, "cancelled_annotations": 0, "is_labeled": False}
    assert_error(actor.client.delete(f"/api/annotations/{annotation_id}/"), 404)
    assert_error(actor.client.get(f"/api/annotations/{annotation_id}/"), 404)
    assert_error(actor.client.get(f"/api/annotations/{2**40}/"), 404)


# --- bulk ----------------------------------------------------------------------------------


def test_bulk_create_on_listed_tasks(actor, db):
    project = make_project(actor)
    tasks = make_tasks(actor, project, count=3)
    response = actor.client.post("/api/annotations/bulk/", json={"tasks": tasks, "result": RESULT, "project": project})
    body = assert_matches_spec(response, "POST", "/api/annotations/bulk/")
    assert response.status_code == 201 and len(body) == 3
    db.expire_all()
    rows = db.scalars(select(Annotation).order_by(Annotation.id)).all()
    assert [r.id for r in rows] == [item["id"] for item in body]
    assert [r.task_id for r in rows] == tasks
    assert all(r.result == RESULT and r.bulk_created and r.completed_by_id == actor.user_id for r in rows)
    assert all(counters(db, t) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": True} for t in tasks)


def test_bulk_create_with_selected_items(actor, db):
    project = make_project(actor)
    tasks = make_tasks(actor, project, count=4)
    response = actor.client.post(
        "/api/annotations/bulk/",
        json={"selected_items": {"all": True, "excluded": [tasks[0]]}, "project": project, "result": RESULT, "was_cancelled": True},
    )
    assert response.status_code == 201 and len(response.json()) == 3
    assert counters(db, tasks[0])["cancelled_annotations"] == 0
    assert counters(db, tasks[1]) == {"total_annotations": 0, "cancelled_annotations": 1, "is_labeled": False}

    response = actor.client.post(
        "/api/annotations/bulk/", json={"selected_items": {"all": False, "included": [tasks[0]]}, "project": project, "result": RESULT}
    )
    assert response.status_code == 201 and len(response.json()) == 1
    assert counters(db, tasks[0])["is_labeled"] is True


def test_bulk_create_bad_input_writes_nothing(actor, stranger, db):
    project = make_project(actor)
    tasks = make_tasks(actor, project, count=2)
    foreign_project = make_project(stranger)
    [foreign_task] = make_tasks(stranger, foreign_project)
    url = "/api/annotations/bulk/"
    assert_error(actor.client.post(url, json={"tasks": tasks, "result": {"a": 1}}), 400)
    assert_error(actor.client.post(url, json={"tasks": ["x"], "result": RESULT}), 400)
    assert_error(actor.client.post(url, json={"result": RESULT}), 400)
    assert_error(actor.client.post(url, json={"selected_items": {"all": True}, "result": RESULT}), 400)
    assert_error(actor.client.post(url, json={"tasks": [*tasks, 999999], "result": RESULT}), 404)
    assert_error(actor.client.post(url, json={"tasks": [*tasks, foreign_task], "result": RESULT}), 404)
    assert_error(actor.client.post(url, json={"tasks": tasks, "project": foreign_project, "result": RESULT}), 404)
    assert_error(
        actor.client.post(url, json={"selected_items": {"all": True, "excluded": []}, "project": foreign_project, "result": RESULT}), 404
    )
    assert annotation_count(db) == 0


def test_bulk_delete(actor, make_actor, db):
    project = make_project(actor, maximum_annotations=2)
    tasks = make_tasks(actor, project, count=2)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    ids = [create(author, t).json()["id"] for t in tasks for author in (actor, colleague)]
    assert counters(db, tasks[0])["is_labeled"] is True
    response = actor.client.post("/api/annotations/bulk-delete/", json={"ids": ids[:3], "project": project})
    body = assert_matches_spec(response, "POST", "/api/annotations/bulk-delete/")
    assert body == {"deleted_count": 3}
    assert annotation_count(db) == 1
    assert counters(db, tasks[0]) == {"total_annotations": 0, "cancelled_annotations": 0, "is_labeled": False}
    assert counters(db, tasks[1]) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": False}


def test_bulk_delete_bad_input_deletes_nothing(actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    other_project = make_project(actor)
    annotation_id = create(actor, task).json()["id"]
    url = "/api/annotations/bulk-delete/"
    assert_error(actor.client.post(url, json={"ids": [annotation_id]}), 400)
    assert_error(actor.client.post(url, json={"project": project}), 400)
    assert_error(actor.client.post(url, json={"ids": "1", "project": project}), 400)
    assert_error(actor.client.post(url, json={"ids": [], "project": project}), 400)
    assert_error(actor.client.post(url, json={"ids": list(range(1, 102)), "project": project}), 400)
    assert_error(actor.client.post(url, json={"ids": [annotation_id, 999999], "project": project}), 404)
    assert_error(actor.client.post(url, json={"ids": [annotation_id, -(2**40)], "project": project}), 404)
    assert_error(actor.client.post(url, json={"ids": [annotation_id], "project": 2**40}), 400)
    assert_error(actor.client.post(url, json={"ids": [annotation_id], "project": other_project}), 404)
    assert_error(stranger.client.post(url, json={"ids": [annotation_id], "project": project}), 404)
    assert annotation_count(db) == 1


# --- isolation -----------------------------------------------------------------------------


def test_other_organizations_annotations_are_not_found(actor, stranger, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    annotation_id = create(actor, task).json()["id"]
    assert_error(stranger.client.get(f"/api/annotations/{annotation_id}/"), 404)
    assert_error(stranger.client.patch(f"/api/annotations/{annotation_id}/", json={"was_cancelled": True}), 404)
    assert_error(stranger.client.delete(f"/api/annotations/{annotation_id}/"), 404)
    assert_error(stranger.client.get(f"/api/tasks/{task}/annotations/"), 404)
    assert_error(stranger.client.post(f"/api/tasks/{task}/annotations/", json={"result": RESULT}), 404)
    assert_error(stranger.client.post("/api/annotations/bulk/", json={"tasks": [task], "result": RESULT}), 404)
    foreign_project = make_project(stranger)
    [foreign_task] = make_tasks(stranger, foreign_project)
    refused = stranger.client.post(f"/api/tasks/{foreign_task}/annotations/", json={"result": RESULT, "parent_annotation": annotation_id})
    assert assert_error(refused, 400)["validation_errors"] == {"parent_annotation": [f'Invalid pk "{annotation_id}" - object does not exist.']}
    db.expire_all()
    stored = db.get(Annotation, annotation_id)
    assert stored.was_cancelled is False and annotation_count(db) == 1


def test_anonymous_requests_are_refused(client, actor, db):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    assert_error(client.post(f"/api/tasks/{task}/annotations/", json={"result": RESULT}), 401)
    assert_error(client.get("/api/annotations/1/"), 401)
    assert annotation_count(db) == 0


# --- speed ---------------------------------------------------------------------------------


def test_create_costs_a_handful_of_statements(actor, db, statement_counter):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    create(actor, task)  # warm caches
    with statement_counter() as executed:
        response = create(actor, task)
    assert response.status_code == 201
    # auth (1) + insert selecting from the org's task + task counters and touch + the outbox event;
    # on PostgreSQL + the task row lock the recount takes first (core.tasks.counters)
    task_lock = 1 if db.get_bind().dialect.name == "postgresql" else 0
    assert executed() <= 4 + task_lock


def test_listing_costs_constant_statements(actor, make_actor, db, statement_counter):
    project = make_project(actor, maximum_annotations=5)
    [task] = make_tasks(actor, project)
    for index in range(4):
        author = make_actor(f"a{index}@example.com", same_org_as=actor)
        create(author, task)
    with statement_counter() as executed:
        response = actor.client.get(f"/api/tasks/{task}/annotations/")
    assert len(response.json()) == 4
    # auth (2) + task + annotations + authors
    assert executed() <= 5


# --- official client ---------------------------------------------------------------------


def test_label_studio_sdk_bulk_create_and_delete(actor, db, live_server):
    from label_studio_sdk import LabelStudio

    project = make_project(actor)
    tasks = make_tasks(actor, project, count=3)
    ls = LabelStudio(base_url=live_server, api_key=actor.token)
    created = ls.annotations.create_bulk(tasks=tasks, project=project, result=RESULT, lead_time=2.0)
    ids = [item.id for item in created]
    assert len(ids) == 3
    assert [a.id for a in ls.annotations.list(tasks[0])] == ids[:1]
    assert ls.annotations.get(ids[1]).lead_time == 2.0
    assert ls.annotations.delete_bulk(ids=ids[:2], project=project).deleted_count == 2
    assert annotation_count(db) == 1
    assert counters(db, tasks[2]) == {"total_annotations": 1, "cancelled_annotations": 0, "is_labeled": True}
