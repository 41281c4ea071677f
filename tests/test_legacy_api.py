"""The legacy Label Studio 0.8 API: every route end to end, served by the same services as 1.x."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.projects.models import Project
from core.tasks.models import Task

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
CONFIG_WITHOUT_NEG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/></Choices></View>'
)
BAD_CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]


def new_project(actor, title: str = "Legacy project", config: str = CONFIG) -> int:
    response = actor.client.post("/api/project", params={"new": 1, "desc": title})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]
    saved = actor.client.post("/api/project/config", params={"project": project_id}, json={"label_config": config})
    assert saved.status_code == 201, saved.text
    return project_id


def import_texts(actor, texts: list[str], project_id: int | None = None) -> list[int]:
    params = {"project": project_id} if project_id else {}
    response = actor.client.post("/api/project/import", params=params, json=[{"text": text} for text in texts])
    assert response.status_code == 201, response.text
    return response.json()["new_task_ids"]


def task_counters(actor, task_id: int) -> tuple[int, int, bool]:
    """What the 1.x task detail reports: (total_annotations, cancelled_annotations, is_labeled)."""
    body = actor.client.get(f"/api/tasks/{task_id}/").json()
    return body["total_annotations"], body["cancelled_annotations"], body["is_labeled"]


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


# --- project -------------------------------------------------------------------------------


def test_create_project_names_it_after_desc_and_makes_it_current(actor, db):
    c = actor.client
    first = c.post("/api/project", params={"new": 1, "desc": "First one"})
    assert first.status_code == 201
    second = c.post("/api/project", json={"desc": "Second one"})
    assert second.status_code == 201
    body = second.json()
    assert body["title"] == body["project_name"] == "Second one"
    assert body["task_count"] == 0 and body["completion_count"] == 0
    assert body["multi_session_mode"] is True
    # The newest project is the current one; ?project= names another.
    assert c.get("/api/project").json()["id"] == body["id"]
    assert c.get("/api/project", params={"project": first.json()["id"]}).json()["title"] == "First one"
    assert db.get(Project, body["id"]).created_by_id == actor.user_id


def test_get_project_reports_task_count_and_counters(actor):
    project_id = new_project(actor)
    task_ids = import_texts(actor, ["a", "b", "c"])
    actor.client.post(f"/api/tasks/{task_ids[0]}/completions", json={"result": RESULT, "lead_time": 2.5})
    actor.client.post(f"/api/tasks/{task_ids[1]}/completions", params={"was_cancelled": 1}, json={"result": []})
    body = actor.client.get("/api/project/").json()
    assert body["id"] == project_id
    assert body["task_count"] == body["task_number"] == 3
    assert body["completion_count"] == 2
    assert body["total_annotations_number"] == 1 and body["skipped_annotations_number"] == 1
    assert body["finished_task_number"] == 1
    assert body["label_config"] == CONFIG and "\n" not in body["label_config_line"]
    assert body["data_types"] == {"text": "Text"} and body["config_has_control_tags"] is True


def test_patch_project_updates_settings(actor):
    new_project(actor)
    response = actor.client.patch("/api/project", json={"title": "Renamed", "show_skip_button": False})
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Renamed" and body["config"]["show_skip_button"] is False
    bad = actor.client.patch("/api/project", json={"maximum_annotations": "many"})
    assert bad.status_code == 400 and "maximum_annotations" in bad.json()["validation_errors"]


def test_no_project_yet_is_404(actor):
    response = actor.client.get("/api/project")
    assert response.status_code == 404
    assert "POST /api/project" in response.json()["detail"]
    assert actor.client.get("/api/project/next").status_code == 404


def test_project_switch_answers_for_the_named_project(actor, stranger):
    first = new_project(actor, "Older")
    new_project(actor, "Newer")
    response = actor.client.get("/api/project-switch", params={"uuid": first})
    assert response.status_code == 200 and response.json()["title"] == "Older"
    assert actor.client.get("/api/project-switch").status_code == 400
    assert actor.client.get("/api/project-switch", params={"uuid": "not-an-id"}).json()["detail"] == "Not a valid UUID"
    assert stranger.client.get("/api/project-switch", params={"uuid": first}).status_code == 404


# --- config ----------------------------------------------------------------------------------


def test_config_from_json_and_from_xml_body(actor, db):
    project_id = new_project(actor)
    assert db.get(Project, project_id).label_config == CONFIG
    xml = CONFIG.replace("neg", "negative")
    response = actor.client.post("/api/project/config", content=xml.encode(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 201 and response.content == b""
    db.expire_all()
    assert db.get(Project, project_id).label_config == xml


def test_bad_config_is_400_with_the_legacy_body_and_saves_nothing(actor, db):
    project_id = new_project(actor)
    for request in (
        {"json": {"label_config": BAD_CONFIG}},
        {"content": BAD_CONFIG.encode(), "headers": {"Content-Type": "application/xml"}},
        {"content": b"<View>\xff</View>", "headers": {"Content-Type": "text/xml"}},
        {"json": {}},
    ):
        response = actor.client.post("/api/project/config", **request)
        assert response.status_code == 400, response.text
        body = response.json()
        assert list(body) == ["label_config"] and body["label_config"] and all(isinstance(m, str) for m in body["label_config"])
    db.expire_all()
    assert db.get(Project, project_id).label_config == CONFIG


def test_config_that_existing_completions_do_not_fit_is_refused(actor):
    new_project(actor)
    task_id = import_texts(actor, ["x"])[0]
    actor.client.post(f"/api/tasks/{task_id}/completions", json={"result": RESULT})
    changed = CONFIG.replace('name="sentiment"', 'name="mood"')
    response = actor.client.post("/api/project/config", json={"label_config": changed})
    assert response.status_code == 400 and list(response.json()) == ["label_config"]
    validated = actor.client.post("/api/validate-config", data={"label_config": changed})
    assert validated.status_code == 400 and list(validated.json()) == ["label_config"]


def test_validate_config(actor):
    c = actor.client
    # No project needed: the config alone is checked.
    assert c.post("/api/validate-config", data={"label_config": CONFIG}).status_code == 204
    assert c.post("/api/validate-config", json={"label_config": CONFIG}).status_code == 204
    bad = c.post("/api/validate-config", data={"label_config": BAD_CONFIG})
    assert bad.status_code == 400 and list(bad.json()) == ["label_config"]
    assert c.post("/api/validate-config", json={}).json() == {"label_config": ["This field is required."]}
    malformed = c.post("/api/validate-config", content=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["status_code"] == 400


# --- import, export ----------------------------------------------------------------------------


def test_import_json_tasks(actor, db):
    project_id = new_project(actor)
    response = actor.client.post(
        "/api/project/import",
        json=[{"text": "one"}, {"data": {"text": "two"}, "completions": [{"result": RESULT}], "predictions": [{"result": RESULT}]}],
    )
    assert response.status_code == 201
    body = response.json()
    assert body["task_count"] == 2 and body["completion_count"] == 1 and body["prediction_count"] == 1
    assert len(body["new_task_ids"]) == 2
    db.expire_all()
    assert set(db.scalars(select(Task.project_id).where(Task.id.in_(body["new_task_ids"])))) == {project_id}
    bad = actor.client.post("/api/project/import", json=[{"other": "no text"}])
    assert bad.status_code == 400 and bad.json()["status_code"] == 400
    assert count(db, Task) == 2


def test_import_files_posted_as_form_data(actor, db):
    new_project(actor)
    response = actor.client.post(
        "/api/project/import",
        files={"FileUpload": ("tasks.csv", b"text\nfrom a file\nand another\n", "text/csv")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["task_count"] == 2 and len(body["new_task_ids"]) == 2
    db.expire_all()
    assert sorted(db.scalars(select(Task.data["text"].as_string()))) == ["and another", "from a file"]
    unsupported = actor.client.post("/api/project/import", files={"FileUpload": ("photo.exe", b"MZ", "application/octet-stream")})
    assert unsupported.status_code == 400 and count(db, Task) == 2


def test_export_json(actor):
    new_project(actor)
    task_ids = import_texts(actor, ["done", "open"])
    actor.client.post(f"/api/tasks/{task_ids[0]}/completions", json={"result": RESULT})
    response = actor.client.get("/api/project/export", params={"format": "JSON"})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    exported = response.json()
    assert [task["id"] for task in exported] == [task_ids[0]]  # only tasks with completions, like 0.8
    assert exported[0]["annotations"][0]["result"] == RESULT
    assert actor.client.get("/api/project/export", params={"format": "NOPE"}).status_code == 400


# --- next task ---------------------------------------------------------------------------------


def test_next_task_skips_labeled_tasks_and_tasks_the_caller_annotated(actor, make_actor):
    project_id = new_project(actor)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    first, second, third = import_texts(actor, ["1", "2", "3"])
    actor.client.patch("/api/project", json={"maximum_annotations": 2})

    nxt = actor.client.get("/api/project/next")
    assert nxt.status_code == 200
    body = nxt.json()
    assert body["id"] == first and body["data"] == {"text": "1"} and body["completions"] == []

    # The caller's completion takes the task out of their queue, not out of a colleague's.
    actor.client.post(f"/api/tasks/{first}/completions", json={"result": RESULT})
    assert actor.client.get("/api/project/next").json()["id"] == second
    assert colleague.client.get("/api/project/next", params={"project": project_id}).json()["id"] == first
    # A skip counts as done for the caller too.
    actor.client.post(f"/api/tasks/{second}/completions", params={"was_cancelled": 1}, json={"result": []})
    assert actor.client.get("/api/project/next").json()["id"] == third
    # Labeled tasks (overlap reached) are nobody's next task.
    colleague.client.post(f"/api/tasks/{first}/completions", json={"result": RESULT})
    assert task_counters(actor, first)[2] is True
    assert colleague.client.get("/api/project/next", params={"project": project_id}).json()["id"] == second
    actor.client.post(f"/api/tasks/{third}/completions", json={"result": RESULT})
    none_left = actor.client.get("/api/project/next")
    assert none_left.status_code == 404 and none_left.json()["status_code"] == 404


# --- tasks ---------------------------------------------------------------------------------------


def test_post_task_rewrites_data_completions_and_predictions(actor, db):
    new_project(actor)
    task_id = import_texts(actor, ["before"])[0]
    actor.client.post(f"/api/tasks/{task_id}/completions", json={"result": RESULT})
    actor.client.post("/api/predictions/", json={"task": task_id, "result": RESULT, "score": 0.1})
    response = actor.client.post(
        f"/api/tasks/{task_id}",
        json={
            "data": {"text": "after"},
            "completions": [{"result": RESULT, "lead_time": 3}, {"result": [], "skipped": True}],
            "predictions": [{"result": RESULT, "score": 0.9, "model_version": "v2"}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"text": "after"}
    assert [(c["lead_time"], c["was_cancelled"]) for c in body["completions"]] == [(3, False), (None, True)]
    assert isinstance(body["completions"][0]["created_at"], int)
    assert [(p["score"], p["model_version"]) for p in body["predictions"]] == [(0.9, "v2")]
    assert body["total_completions"] == 1 and body["cancelled_completions"] == 1 and body["total_predictions"] == 1
    assert task_counters(actor, task_id) == (1, 1, True)
    # Data alone leaves completions as they are.
    assert actor.client.post(f"/api/tasks/{task_id}/", json={"data": {"text": "again"}}).json()["total_completions"] == 1


def test_post_task_bad_input_writes_nothing(actor, db):
    new_project(actor)
    task_id = import_texts(actor, ["keep"])[0]
    actor.client.post(f"/api/tasks/{task_id}/completions", json={"result": RESULT})
    before = count(db, Annotation)
    for body in ({"completions": "nope"}, {"data": {"text": "x"}, "completions": [{"result": "not a list"}]}, ["a list"]):
        response = actor.client.post(f"/api/tasks/{task_id}", json=body)
        assert response.status_code == 400 and response.json()["status_code"] == 400
    assert count(db, Annotation) == before
    assert actor.client.get(f"/api/tasks/{task_id}/").json()["data"] == {"text": "keep"}


def test_1x_task_routes_are_not_shadowed(actor):
    project_id = new_project(actor)
    task_id = import_texts(actor, ["x"])[0]
    detail = actor.client.get(f"/api/tasks/{task_id}/").json()
    assert "annotations" in detail and "completions" not in detail  # the 1.x shape
    assert actor.client.patch(f"/api/tasks/{task_id}/", json={"data": {"text": "y"}}).status_code == 200
    listed = actor.client.get("/api/tasks/", params={"project": project_id}).json()
    assert listed["total"] == 1
    assert actor.client.delete(f"/api/tasks/{task_id}/").status_code == 204


def test_delete_all_tasks_of_the_current_project_only(actor, db):
    other = new_project(actor, "Other")
    import_texts(actor, ["kept"], project_id=other)
    current = new_project(actor, "Current")
    import_texts(actor, ["a", "b"])
    assert actor.client.delete("/api/tasks").status_code == 204
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Task).where(Task.project_id == current)) == 0
    assert db.scalar(select(func.count()).select_from(Task).where(Task.project_id == other)) == 1
    assert actor.client.delete("/api/tasks/", params={"project": other}).status_code == 204
    assert count(db, Task) == 0


# --- completions -----------------------------------------------------------------------------------


def test_completions_crud_keeps_task_counters_right(actor, db):
    new_project(actor)
    task_id = import_texts(actor, ["x"])[0]
    c = actor.client

    created = c.post(f"/api/tasks/{task_id}/completions", json={"result": RESULT, "lead_time": 4.0, "id": 999, "created_at": 1})
    assert created.status_code == 201
    completion = created.json()
    assert completion["id"] != 999 and completion["lead_time"] == 4.0 and completion["result"] == RESULT
    assert abs(completion["created_at"] - time.time()) < 120  # unix seconds, set by the server
    assert completion["completed_by"] == actor.user_id
    assert task_counters(actor, task_id) == (1, 0, True)

    skipped = c.post(f"/api/tasks/{task_id}/completions", params={"was_cancelled": "1"}, json={"result": []}).json()
    assert skipped["was_cancelled"] is True
    assert task_counters(actor, task_id) == (1, 1, True)

    # Turning the skip into a submitted completion moves it between the counters.
    updated = c.patch(f"/api/tasks/{task_id}/completions/{skipped['id']}", json={"result": RESULT, "was_cancelled": False})
    assert updated.status_code == 201 and updated.json()["was_cancelled"] is False
    assert task_counters(actor, task_id) == (2, 0, True)

    assert c.delete(f"/api/tasks/{task_id}/completions/{completion['id']}").status_code == 204
    assert task_counters(actor, task_id) == (1, 0, True)

    assert c.delete(f"/api/tasks/{task_id}/completions").status_code == 204
    assert task_counters(actor, task_id) == (0, 0, False)
    assert count(db, Annotation) == 0


def test_completion_is_only_reachable_under_its_own_task(actor):
    new_project(actor)
    first, second = import_texts(actor, ["1", "2"])
    completion_id = actor.client.post(f"/api/tasks/{first}/completions", json={"result": RESULT}).json()["id"]
    assert actor.client.patch(f"/api/tasks/{second}/completions/{completion_id}", json={"lead_time": 1}).status_code == 404
    assert actor.client.delete(f"/api/tasks/{second}/completions/{completion_id}").status_code == 404
    assert task_counters(actor, first)[0] == 1


def test_bad_completion_is_400_and_writes_nothing(actor, db):
    new_project(actor)
    task_id = import_texts(actor, ["x"])[0]
    response = actor.client.post(f"/api/tasks/{task_id}/completions", json={"result": "not a list"})
    assert response.status_code == 400 and "result" in response.json()["validation_errors"]
    assert actor.client.post(f"/api/tasks/{task_id}/completions", params={"was_cancelled": "maybe"}, json={}).status_code == 400
    assert count(db, Annotation) == 0


def test_all_completions_of_the_project(actor, db):
    other = new_project(actor, "Other")
    other_task = import_texts(actor, ["o"], project_id=other)[0]
    actor.client.post(f"/api/tasks/{other_task}/completions", json={"result": RESULT})
    new_project(actor, "Current")
    tasks = import_texts(actor, [str(i) for i in range(3)])
    ids = [actor.client.post(f"/api/tasks/{t}/completions", json={"result": RESULT}).json()["id"] for t in tasks]
    assert actor.client.get("/api/completions").json() == {"ids": ids}
    assert actor.client.delete("/api/completions").status_code == 204
    assert actor.client.get("/api/completions").json() == {"ids": []}
    assert all(task_counters(actor, t) == (0, 0, False) for t in tasks)
    assert task_counters(actor, other_task)[0] == 1


def test_many_completions_are_deleted_in_bulk_chunks(actor, db):
    """More completions than one bulk delete takes (100)."""
    new_project(actor)
    task_ids = import_texts(actor, [str(i) for i in range(3)])
    actor.client.patch("/api/project", json={"maximum_annotations": 100})
    payload = {"tasks": task_ids, "result": RESULT}
    for _ in range(45):
        assert actor.client.post("/api/annotations/bulk/", json=payload).status_code == 201
    assert len(actor.client.get("/api/completions").json()["ids"]) == 135
    assert actor.client.delete("/api/completions").status_code == 204
    assert count(db, Annotation) == 0
    assert task_counters(actor, task_ids[0]) == (0, 0, False)


# --- import examples ---------------------------------------------------------------------------------


def test_import_example_for_a_config(actor):
    config = (
        '<View><Image name="img" value="$image"/><Text name="t" value="$text"/>'
        '<Paragraphs name="p" value="$dialogue" nameKey="speaker" textKey="line"/>'
        '<Header value="$meta.title"/><Labels name="l" toName="t" value="$labels"/>'
        '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
    )
    response = actor.client.get("/api/import-example", params={"label_config": config})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"image", "text", "dialogue", "meta", "labels"}
    assert data["image"].startswith("https://") and isinstance(data["text"], str)
    assert set(data["dialogue"][0]) == {"speaker", "line"}
    assert isinstance(data["meta"]["title"], str)
    assert all("value" in option for option in data["labels"])
    posted = actor.client.post("/api/import-example", data={"label_config": config})
    assert posted.status_code == 200 and set(posted.json()) == set(data)
    bad = actor.client.post("/api/import-example", json={"label_config": BAD_CONFIG})
    assert bad.status_code == 400 and list(bad.json()) == ["label_config"]
    assert actor.client.get("/api/import-example").status_code == 400


def test_import_example_is_importable(actor):
    new_project(actor)
    example = actor.client.get("/api/import-example", params={"label_config": CONFIG}).json()
    assert actor.client.post("/api/project/import", json=[example]).status_code == 201


def test_import_example_uses_data_written_in_the_config_comment(actor):
    config = '<!-- {"data": {"text": "From the template"}} -->' + CONFIG
    assert actor.client.get("/api/import-example", params={"label_config": config}).json() == {"text": "From the template"}


def test_import_example_file(actor):
    new_project(actor)
    response = actor.client.get("/api/import-example-file")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["filename"].endswith(".json")
    tasks = json.loads(response.content)
    assert len(tasks) == 2 and set(tasks[0]) == {"text"}
    csv_file = actor.client.get("/api/import-example-file", params={"q": "csv"})
    assert csv_file.status_code == 200 and csv_file.text.splitlines()[0] == "text"
    assert actor.client.get("/api/import-example-file", params={"q": "txt"}).text.count("\n") == 2
    assert actor.client.get("/api/import-example-file", params={"q": "xlsx"}).status_code == 400


# --- tenant isolation ------------------------------------------------------------------------------------


def test_other_organizations_project_and_tasks_are_404(actor, stranger, db):
    project_id = new_project(actor)
    task_id = import_texts(actor, ["private"])[0]
    completion_id = actor.client.post(f"/api/tasks/{task_id}/completions", json={"result": RESULT}).json()["id"]
    s = stranger.client
    project = {"project": project_id}
    for method, url, params in (
        ("GET", "/api/project", project),
        ("PATCH", "/api/project", project),
        ("POST", "/api/project/config", project),
        ("POST", "/api/project/import", project),
        ("GET", "/api/project/export", project),
        ("GET", "/api/project/next", project),
        ("GET", "/api/import-example-file", project),
        ("GET", "/api/completions", project),
        ("DELETE", "/api/completions", project),
        ("DELETE", "/api/tasks", project),
        ("POST", f"/api/tasks/{task_id}", {}),
        ("POST", f"/api/tasks/{task_id}/completions", {}),
        ("DELETE", f"/api/tasks/{task_id}/completions", {}),
        ("PATCH", f"/api/tasks/{task_id}/completions/{completion_id}", {}),
        ("DELETE", f"/api/tasks/{task_id}/completions/{completion_id}", {}),
    ):
        body = [{"text": "intruder"}] if url == "/api/project/import" else {"label_config": CONFIG, "result": RESULT}
        response = s.request(method, url, params=params, json=body)
        assert response.status_code == 404, f"{method} {url} -> {response.status_code} {response.text[:200]}"
    # The stranger's own "current project" is theirs, never the actor's.
    assert s.get("/api/project").status_code == 404
    assert actor.client.get(f"/api/tasks/{task_id}/").json()["total_annotations"] == 1
    assert count(db, Task) == 1 and count(db, Annotation) == 1


def test_anonymous_is_401(client):
    for method, url in (("GET", "/api/project"), ("POST", "/api/validate-config"), ("GET", "/api/completions")):
        assert client.request(method, url).status_code == 401
