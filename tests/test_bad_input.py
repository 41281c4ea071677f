"""Cross-cutting bad input: malformed JSON and oversize bodies get a 4xx in Label Studio's
error shape on every path that takes a body, and nothing is written."""
import re

from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.projects.models import Project
from core.tasks.models import Task

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/></Choices></View>'


# Actions that read no request body (as in Label Studio, where DRF parses it lazily).
BODYLESS = {"/api/invite/reset-token", "/api/current-user/reset-token/", "/api/token/"}


def _counts(db):
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(m)) for m in (Project, Task, Annotation))


def _body_routes(app, owned_ids):
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/") or not getattr(route, "include_in_schema", True):
            continue
        for method in sorted(set(route.methods) & {"POST", "PATCH", "PUT"}):
            yield method, re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(owned_ids.get(m.group(1), 1)), path)


def test_malformed_json_is_400_everywhere_and_writes_nothing(app, actor, db):
    c = actor.client
    project = c.post("/api/projects/", json={"title": "probe", "label_config": CONFIG}).json()
    task_id = c.post(f"/api/projects/{project['id']}/import?return_task_ids=true", json=[{"text": "x"}]).json()["task_ids"][0]
    before = _counts(db)
    checked = 0
    for method, url in _body_routes(app, {"id": project["id"], "import_pk": 1, "user_pk": actor.user_id}):
        url = url.replace(f"/api/tasks/{project['id']}/", f"/api/tasks/{task_id}/")
        if url in BODYLESS:
            continue  # reads no body (and resetting the token would log the client out of later paths)
        response = c.request(method, url, content=b'{"title": "unterminated', headers={"Content-Type": "application/json"})
        if response.status_code in (404, 405):
            continue  # the path needs an object this test did not create, or refuses the method
        assert response.status_code == 400, f"{method} {url} -> {response.status_code} {response.text[:200]}"
        body = response.json()
        assert body.get("status_code") == 400 and "detail" in body, (method, url, body)
        checked += 1
    assert checked >= 15
    assert _counts(db) == before


def test_oversize_body_is_413_and_writes_nothing(settings, actor, db):
    c = actor.client
    project = c.post("/api/projects/", json={"title": "probe", "label_config": CONFIG}).json()
    before = _counts(db)
    huge = [{"text": "x" * 1000} for _ in range(settings.max_body_bytes // 1000 + 10)]
    response = c.post(f"/api/projects/{project['id']}/import", json=huge)
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert _counts(db) == before


def test_wrong_types_are_field_errors(actor, db):
    before = _counts(db)
    response = actor.client.post("/api/projects/", json={"title": ["not", "a", "string"], "maximum_annotations": "many"})
    assert response.status_code == 400
    errors = response.json()["validation_errors"]
    assert set(errors) >= {"title", "maximum_annotations"}
    assert _counts(db) == before
