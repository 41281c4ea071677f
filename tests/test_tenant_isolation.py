"""Every REST path that names an object answers 404 to a user of another organization,
for every method, and changes nothing."""
import re

import pytest

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/><Choice value="b"/></Choices></View>'
RESULT = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]


@pytest.fixture
def owned(actor):
    """One object of every kind, owned by `actor`'s organization."""
    c = actor.client
    project = c.post("/api/projects/", json={"title": "mine", "label_config": CONFIG}).json()
    imported = c.post(f"/api/projects/{project['id']}/import?return_task_ids=true", json=[{"text": "hello"}]).json()
    task_id = imported["task_ids"][0]
    annotation = c.post(f"/api/tasks/{task_id}/annotations/", json={"result": RESULT}).json()
    prediction = c.post("/api/predictions/", json={"task": task_id, "result": RESULT, "score": 0.5}).json()
    return {
        "projects": project["id"],
        "tasks": task_id,
        "annotations": annotation["id"],
        "predictions": prediction["id"],
        "users": actor.user_id,
        "organizations": actor.organization_id,
        "import_pk": imported.get("import"),
        "user_pk": actor.user_id,
    }


def _object_paths(app):
    for route in app.routes:
        path = getattr(route, "path", "")
        if "{" in path and path.startswith("/api/") and getattr(route, "include_in_schema", True):
            yield path, sorted(set(route.methods) - {"HEAD"})


def _fill(path: str, owned: dict) -> str | None:
    kind = path.split("/")[2]

    def value(match):
        name = match.group(1)
        key = kind if name == "id" else name
        return str(owned[key]) if owned.get(key) is not None else "MISSING"

    filled = re.sub(r"\{(\w+)(?::\w+)?\}", value, path)
    return None if "MISSING" in filled else filled


def test_foreign_objects_are_404_on_every_path_and_method(app, actor, stranger, owned):
    checked = 0
    for path, methods in _object_paths(app):
        url = _fill(path, owned)
        if url is None:
            continue
        for method in methods:
            response = stranger.client.request(method, url, json={})
            assert response.status_code == 404, f"{method} {url} -> {response.status_code} {response.text[:200]}"
            assert response.json()["status_code"] == 404
            checked += 1
    assert checked >= 25
    # Nothing of the owner's changed or vanished.
    c = actor.client
    assert c.get(f"/api/projects/{owned['projects']}/").json()["title"] == "mine"
    task = c.get(f"/api/tasks/{owned['tasks']}/").json()
    assert task["data"] == {"text": "hello"}
    assert c.get(f"/api/annotations/{owned['annotations']}/").status_code == 200
    assert c.get(f"/api/predictions/{owned['predictions']}/").status_code == 200


def test_foreign_objects_are_absent_from_lists(actor, stranger, owned):
    s = stranger.client
    assert s.get("/api/projects/").json()["count"] == 0
    assert owned["projects"] not in [p["id"] for p in s.get("/api/projects/").json()["results"]]
    assert s.get("/api/tasks/", params={"project": owned["projects"]}).status_code == 404
    # Like django-filter in Label Studio: a task you cannot see is an invalid choice.
    assert s.get("/api/predictions/", params={"task": owned["tasks"]}).status_code == 400
    assert s.get("/api/predictions/").json() == []
    assert actor.email not in [u["email"] for u in s.get("/api/users/").json()]


def test_bulk_operations_ignore_or_refuse_foreign_ids(actor, stranger, owned):
    s = stranger.client
    s.post("/api/annotations/bulk-delete/", json={"ids": [owned["annotations"]]})
    assert actor.client.get(f"/api/annotations/{owned['annotations']}/").status_code == 200
    response = s.post("/api/annotations/bulk/", json={"tasks": [owned["tasks"]], "result": RESULT})
    assert response.status_code in (400, 404)
    assert actor.client.get(f"/api/tasks/{owned['tasks']}/").json()["total_annotations"] == 1
    response = s.post(f"/api/projects/{owned['projects']}/import/predictions", json=[{"task": owned["tasks"], "result": RESULT}])
    assert response.status_code == 404
    assert actor.client.get(f"/api/tasks/{owned['tasks']}/").json()["total_predictions"] == 1
