"""End to end with the official client: label-studio-sdk 2.1.2 against a real Labelgraph server.

Each test drives one user journey through `label_studio_sdk.LabelStudio` over HTTP (uvicorn on
loopback, the `live_server` fixture) and asserts the values a client would see: ids, counters,
task data, annotation results, the exported JSON.

The same tests run against any server that speaks the Label Studio API, e.g. a private Label Studio
1.23.2, to check that the expectations here are Label Studio's behaviour (they all pass there):

    LABEL_STUDIO_BASE_DATA_DIR=$(mktemp -d) LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
        /tmp/lsvenv/bin/label-studio start --no-browser --internal-host 127.0.0.1 --port 8090 \
        --username sdk@example.com --password sdk-password-123 --user-token sdktoken0123456789 &
    LABELGRAPH_SDK_E2E_URL=http://127.0.0.1:8090 LABELGRAPH_SDK_E2E_TOKEN=sdktoken0123456789 \
        .venv/bin/python -m pytest -q tests/test_sdk_e2e.py

Use a user nobody else uses: the token tests create and revoke that user's personal access token, and
Label Studio allows one valid token per user. Projects the tests create are deleted afterwards.
"""
from __future__ import annotations

import json
import os
import time
import uuid

import httpx
import pytest
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from tests.webhook_receiver import receiver

# A shape the SDK's models do not expect (e.g. "" where a list or an id is declared) makes pydantic warn
# (a UserWarning): here that is a failure. Deprecations, and the sockets of SDK clients that nobody
# closes (reported as unraisable ResourceWarnings), are the libraries' business and stay ignored.
pytestmark = pytest.mark.filterwarnings("error::UserWarning", "ignore::pytest.PytestUnraisableExceptionWarning")

EXTERNAL_URL = os.environ.get("LABELGRAPH_SDK_E2E_URL")
EXTERNAL_TOKEN = os.environ.get("LABELGRAPH_SDK_E2E_TOKEN")

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""


def choice(value: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


class Target:
    """Where the SDK talks to: base URL and a legacy token of a user with an organization."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/")
        self.token = token
        self.projects: list[int] = []

    def client(self, api_key: str | None = None) -> LabelStudio:
        return LabelStudio(base_url=self.url, api_key=api_key or self.token, timeout=60)

    def http(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Token {self.token}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture
def target(request, db_url):
    if EXTERNAL_URL:
        if "sqlite" not in db_url:
            pytest.skip("external server: run once")
        t = Target(EXTERNAL_URL, EXTERNAL_TOKEN or "")
    else:
        live_server = request.getfixturevalue("live_server")
        actor = request.getfixturevalue("actor")
        t = Target(live_server, actor.token)
    yield t
    for pid in t.projects:  # leave an external server as it was
        try:
            t.http("DELETE", f"/api/projects/{pid}/")
        except httpx.HTTPError:
            pass


def create_project(target: Target, ls: LabelStudio, title: str | None = None):
    title = title or f"SDK e2e {uuid.uuid4().hex[:8]}"
    project = ls.projects.create(title=title, label_config=CONFIG, description="made by the SDK")
    target.projects.append(project.id)
    return project


def import_and_wait(ls: LabelStudio, project_id: int, tasks: list[dict], timeout: float = 60):
    """projects.import_tasks; Community returns counts at once, an async import returns {"import": id}."""
    before = ls.projects.get(project_id).task_number or 0
    response = ls.projects.import_tasks(project_id, request=tasks)
    if response.task_count is not None:
        assert response.task_count == len(tasks)
    else:
        assert response.import_ is not None, f"import answered neither task_count nor import id: {response}"
    wait_for_tasks(ls, project_id, before + len(tasks), timeout)
    return response


def wait_for_tasks(ls: LabelStudio, project_id: int, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (ls.projects.get(project_id).task_number or 0) < count:
        assert time.monotonic() < deadline, "imported tasks never became visible in task_number"
        time.sleep(0.1)


def all_tasks(ls: LabelStudio, project_id: int, page_size: int = 100, **kwargs) -> list:
    """Iterates tasks.list through all pages, as SDK users do."""
    return list(ls.tasks.list(project=project_id, page_size=page_size, **kwargs))


# ---------------------------------------------------------------------------------------------------------


def test_create_project_import_and_list_all_pages(target):
    ls = target.client()
    project = create_project(target, ls, title="SDK import + list")
    assert isinstance(project.id, int)
    assert project.title == "SDK import + list"
    assert project.description == "made by the SDK"
    assert "<Choices" in project.label_config

    fetched = ls.projects.get(project.id)
    assert fetched.id == project.id and fetched.title == "SDK import + list"
    assert fetched.task_number == 0
    assert "sentiment" in (fetched.parsed_label_config or {})
    assert fetched.get_label_interface().get_control("sentiment").name == "sentiment"

    assert project.id in [p.id for p in ls.projects.list(page_size=100)]

    tasks = [{"text": f"task {i}", "n": i} for i in range(250)]
    imported = import_and_wait(ls, project.id, tasks)
    if imported.task_count is not None:  # Community-style synchronous answer
        assert imported.annotation_count == 0
        assert imported.prediction_count == 0
        assert "text" in (imported.data_columns or ["text"])

    listed = all_tasks(ls, project.id, page_size=100)  # 3 pages, then the pager stops by itself
    assert len(listed) == 250
    assert len({t.id for t in listed}) == 250
    assert sorted(t.data["n"] for t in listed) == list(range(250))
    assert all(t.data["text"] == f"task {t.data['n']}" for t in listed)
    assert all(t.project == project.id for t in listed if t.project is not None)
    assert all(t.total_annotations == 0 and t.is_labeled is False for t in listed)

    # Page by page: what one page holds, with the SDK's explicit page/page_size
    first = ls.tasks.list(project=project.id, page=1, page_size=100)
    assert len(first.items) == 100
    assert first.response.total == 250
    third = ls.tasks.list(project=project.id, page=3, page_size=100)
    assert len(third.items) == 50
    assert not {t.id for t in first.items} & {t.id for t in third.items}

    project = ls.projects.get(project.id)
    assert project.task_number == 250
    assert project.total_annotations_number == 0
    assert project.num_tasks_with_annotations == 0


def test_import_with_annotations_predictions_and_task_ids(target):
    ls = target.client()
    project = create_project(target, ls)
    tasks = [
        {"data": {"text": "pre"}, "annotations": [{"result": choice("Positive")}],
         "predictions": [{"result": choice("Negative"), "score": 0.4, "model_version": "imported"}]},
        {"text": "bare"},
    ]
    response = ls.projects.import_tasks(project.id, request=tasks, return_task_ids=True)
    if response.import_ is None:  # synchronous (Community) answer
        assert response.task_count == 2
        assert response.annotation_count == 1
        assert response.prediction_count == 1
        assert len(response.task_ids) == 2
    else:
        wait_for_tasks(ls, project.id, 2)
    counted = ls.projects.get(project.id)
    assert counted.task_number == 2
    assert counted.total_annotations_number == 1
    assert counted.total_predictions_number == 1
    assert counted.finished_task_number == 1

    by_text = {t.data["text"]: t for t in all_tasks(ls, project.id)}
    assert set(by_text) == {"pre", "bare"}
    pre = by_text["pre"]
    assert pre.total_annotations == 1 and pre.total_predictions == 1 and pre.is_labeled is True
    assert pre.annotations[0]["result"][0]["value"]["choices"] == ["Positive"]
    preds = ls.predictions.list(task=pre.id)
    assert [(p.model_version, p.score) for p in preds] == [("imported", pytest.approx(0.4))]

    # Bad input: a task without the config's $text is refused with a validation error, nothing is written
    with pytest.raises(ApiError) as err:
        ls.projects.import_tasks(project.id, request=[{"text": "fine"}, {"nottext": "x"}])
    assert err.value.status_code == 400
    assert err.value.body.get("validation_errors")
    with pytest.raises(ApiError) as err:
        ls.projects.import_tasks(project.id, request=[])
    assert err.value.status_code == 400
    assert ls.projects.get(project.id).task_number == 2


def test_annotations_predictions_and_counters(target):
    ls = target.client()
    project = create_project(target, ls)
    import_and_wait(ls, project.id, [{"text": f"t{i}"} for i in range(5)])
    t1, t2, t3, *_ = sorted(all_tasks(ls, project.id), key=lambda t: t.id)

    a1 = ls.annotations.create(t1.id, result=choice("Positive"), lead_time=2.5)
    a2 = ls.annotations.create(t2.id, result=choice("Negative"), lead_time=1.0, was_cancelled=False)
    assert isinstance(a1.id, int) and a1.id != a2.id
    assert a1.task == t1.id
    assert a1.project == project.id
    assert a1.result[0]["value"]["choices"] == ["Positive"]
    assert a1.lead_time == pytest.approx(2.5)
    assert a1.was_cancelled is False
    assert a1.completed_by is not None
    assert a1.created_at is not None

    p1 = ls.predictions.create(task=t3.id, result=choice("Neutral"), score=0.87, model_version="m-1")
    assert isinstance(p1.id, int)
    assert p1.task == t3.id
    assert p1.score == pytest.approx(0.87)
    assert p1.model_version == "m-1"
    assert p1.result[0]["value"]["choices"] == ["Neutral"]
    p2 = ls.predictions.create(task=t1.id, result=choice("Positive"), score=0.5, model_version="m-1")

    counted = ls.projects.get(project.id)
    assert counted.task_number == 5
    assert counted.total_annotations_number == 2
    assert counted.num_tasks_with_annotations == 2
    assert counted.finished_task_number == 2
    assert counted.total_predictions_number == 2

    task = ls.tasks.get(str(t1.id))
    assert task.id == t1.id
    assert task.data == {"text": "t0"}
    assert task.is_labeled is True
    assert task.total_annotations == 1
    assert task.total_predictions == 1
    assert [a["id"] for a in task.annotations] == [a1.id]
    assert [p["id"] if isinstance(p, dict) else p.id for p in task.predictions] == [p2.id]

    # tasks.list with fields=all (the SDK default) carries annotations and predictions
    by_id = {t.id: t for t in all_tasks(ls, project.id)}
    assert [a["result"][0]["value"]["choices"] for a in by_id[t2.id].annotations] == [["Negative"]]
    assert by_id[t3.id].total_predictions == 1 and by_id[t3.id].total_annotations == 0

    # annotations: list / get / update / delete
    listed = ls.annotations.list(t1.id)
    assert [a.id for a in listed] == [a1.id]
    got = ls.annotations.get(a1.id)
    assert got.result == a1.result and got.task == t1.id
    updated = ls.annotations.update(a1.id, result=choice("Neutral"), lead_time=4.0)
    assert updated.id == a1.id
    assert updated.result[0]["value"]["choices"] == ["Neutral"]
    assert ls.annotations.get(a1.id).result[0]["value"]["choices"] == ["Neutral"]

    ls.annotations.delete(a2.id)
    with pytest.raises(ApiError) as err:
        ls.annotations.get(a2.id)
    assert err.value.status_code == 404
    counted = ls.projects.get(project.id)
    assert counted.total_annotations_number == 1
    assert counted.num_tasks_with_annotations == 1
    task2 = ls.tasks.get(str(t2.id))
    assert task2.total_annotations == 0 and task2.is_labeled is False

    # predictions: list (by task, by project) / get / update / delete
    assert [p.id for p in ls.predictions.list(task=t3.id)] == [p1.id]
    assert {p.id for p in ls.predictions.list(project=project.id)} == {p1.id, p2.id}
    assert ls.predictions.get(p1.id).model_version == "m-1"
    changed = ls.predictions.update(p1.id, score=0.25, model_version="m-2")
    assert changed.score == pytest.approx(0.25) and changed.model_version == "m-2"
    ls.predictions.delete(p2.id)
    assert [p.id for p in ls.predictions.list(project=project.id)] == [p1.id]
    assert ls.projects.get(project.id).total_predictions_number == 1


def test_json_export(target):
    ls = target.client()
    project = create_project(target, ls)
    import_and_wait(ls, project.id, [{"text": f"e{i}"} for i in range(4)])
    tasks = sorted(all_tasks(ls, project.id), key=lambda t: t.id)
    ann = ls.annotations.create(tasks[0].id, result=choice("Positive"), lead_time=1.5)
    pred = ls.predictions.create(task=tasks[1].id, result=choice("Negative"), score=0.9, model_version="v1")

    # exports.as_json: asks /api/version/ for the edition, then the synchronous export endpoint
    exported = ls.projects.exports.as_json(project.id)
    assert isinstance(exported, list)
    assert sorted(t["id"] for t in exported) == [t.id for t in tasks]  # download_all_tasks=True
    by_id = {t["id"]: t for t in exported}
    first = by_id[tasks[0].id]
    assert first["data"] == {"text": "e0"}
    assert [a["id"] for a in first["annotations"]] == [ann.id]
    assert first["annotations"][0]["result"][0]["value"]["choices"] == ["Positive"]
    assert first["annotations"][0]["lead_time"] == pytest.approx(1.5)
    assert by_id[tasks[1].id]["annotations"] == []
    # Label Studio's JSON export lists prediction ids on a task (full objects are accepted too)
    assert [p if isinstance(p, int) else p["id"] for p in by_id[tasks[1].id]["predictions"]] == [pred.id]
    assert by_id[tasks[1].id]["total_predictions"] == 1
    assert first["total_annotations"] == 1

    # download_sync with its own parameters (export_type=JSON, only annotated tasks by default)
    raw = b"".join(ls.projects.exports.download_sync(project.id, export_type="JSON"))
    annotated_only = json.loads(raw)
    assert [t["id"] for t in annotated_only] == [tasks[0].id]

    # ids filter, in the documented form ids[]=..&ids[]=.. (Label Studio ignores the SDK's repeated `ids=`)
    r = target.http("GET", f"/api/projects/{project.id}/export",
                    params=[("exportType", "JSON"), ("download_all_tasks", "true"), ("ids[]", str(tasks[2].id)), ("ids[]", str(tasks[3].id))])
    assert r.status_code == 200
    assert sorted(t["id"] for t in r.json()) == [tasks[2].id, tasks[3].id]

    # the curl form from the docs: exportType=JSON
    r = target.http("GET", f"/api/projects/{project.id}/export", params={"exportType": "JSON", "download_all_tasks": "true"})
    assert r.status_code == 200
    assert len(r.json()) == 4

    assert "JSON" in _formats(ls, project.id)


def _formats(ls: LabelStudio, project_id: int) -> list[str]:
    """exports.list_formats: typed as strings, Label Studio answers objects ({"name": "JSON", "title": ...})."""
    formats = ls.projects.exports.list_formats(project_id)
    return [f if isinstance(f, str) else f.get("name") for f in formats]


def test_task_create_get_update_delete(target):
    ls = target.client()
    project = create_project(target, ls)
    import_and_wait(ls, project.id, [{"text": "keep"}, {"text": "change"}])
    keep, change = sorted(all_tasks(ls, project.id), key=lambda t: t.id)

    created = ls.tasks.create(data={"text": "made one"}, project=project.id, meta={"src": "sdk"})
    assert isinstance(created.id, int)
    assert created.data == {"text": "made one"}
    assert ls.projects.get(project.id).task_number == 3

    got = ls.tasks.get(str(change.id))
    assert got.id == change.id and got.data == {"text": "change"}

    updated = ls.tasks.update(str(change.id), data={"text": "changed"}, meta={"note": "edited"})
    assert updated.id == change.id
    assert updated.data == {"text": "changed"}
    again = ls.tasks.get(str(change.id))
    assert again.data == {"text": "changed"}
    assert again.meta == {"note": "edited"}

    ls.tasks.delete(str(change.id))
    with pytest.raises(ApiError) as err:
        ls.tasks.get(str(change.id))
    assert err.value.status_code == 404
    remaining = {t.id for t in all_tasks(ls, project.id)}
    assert remaining == {keep.id, created.id}
    assert ls.projects.get(project.id).task_number == 2


def test_project_update_and_delete(target):
    ls = target.client()
    project = create_project(target, ls)
    changed = ls.projects.update(project.id, title="renamed by SDK", maximum_annotations=2)
    assert changed.title == "renamed by SDK"
    assert changed.maximum_annotations == 2
    assert ls.projects.get(project.id).title == "renamed by SDK"
    ls.projects.delete(project.id)
    with pytest.raises(ApiError) as err:
        ls.projects.get(project.id)
    assert err.value.status_code == 404


def test_errors_come_back_as_api_errors(target):
    ls = target.client()
    with pytest.raises(ApiError) as err:
        ls.projects.get(999_999_999)
    assert err.value.status_code == 404

    with pytest.raises(ApiError) as err:
        ls.projects.create(title="bad config", label_config="<View><Text name='x'")
    assert err.value.status_code == 400
    assert isinstance(err.value.body, dict) and "label_config" in (err.value.body.get("validation_errors") or {})

    with pytest.raises(ApiError) as err:
        target.client(api_key="not-a-real-token-0000").projects.list(page_size=1).items
    assert err.value.status_code == 401


def test_personal_access_token_jwt_flow(target):
    ls = target.client()
    me = ls.users.whoami()
    created = ls.tokens.create()  # Label Studio allows one valid personal access token per user (409 otherwise)
    refresh_token = created.token
    try:
        _use_personal_access_token(target, ls, me, refresh_token)
    finally:
        try:
            ls.tokens.blacklist(refresh=refresh_token)
        except ApiError:
            pass
    # Revoked (blacklisted) tokens can no longer be refreshed
    with pytest.raises(ApiError) as err:
        ls.tokens.refresh(refresh=refresh_token)
    assert err.value.status_code == 401


def _use_personal_access_token(target, ls, me, refresh_token):
    assert refresh_token and refresh_token.count(".") == 2  # a JWT refresh token

    # The SDK recognises the JWT and exchanges it at /api/token/refresh/ for a short-lived access token
    jwt_ls = target.client(api_key=refresh_token)
    assert jwt_ls._client_wrapper._tokens_client._use_legacy_token is False
    assert jwt_ls.users.whoami().id == me.id
    project = create_project(target, jwt_ls, title="made with a PAT")
    assert project.title == "made with a PAT"
    assert jwt_ls.projects.get(project.id).id == project.id
    headers = jwt_ls._client_wrapper.get_headers()
    assert headers["Authorization"].startswith("Bearer ")
    access = headers["Authorization"].split(" ", 1)[1]
    assert access != refresh_token

    # Explicit refresh through the SDK, then the access token with plain HTTP
    fresh = ls.tokens.refresh(refresh=refresh_token)
    assert fresh.access and fresh.access.count(".") == 2
    r = httpx.get(f"{target.url}/api/projects/{project.id}/", headers={"Authorization": f"Bearer {fresh.access}"}, timeout=30)
    assert r.status_code == 200 and r.json()["id"] == project.id

    # The token shows up in the user's token list; a second one is refused while it is valid
    listed = ls.tokens.list()
    assert len(listed) >= 1
    with pytest.raises(ApiError) as err:
        ls.tokens.create(request_options={"max_retries": 0})  # the SDK retries a 409 after 1 s, then 2 s
    assert err.value.status_code == 409

    # A refresh token is not an access token, and garbage is refused
    r = httpx.get(f"{target.url}/api/projects/", headers={"Authorization": f"Bearer {refresh_token}"}, timeout=30)
    assert r.status_code == 401
    with pytest.raises(ApiError) as err:
        ls.tokens.refresh(refresh="not.a.jwt")
    assert err.value.status_code == 401


def _annotated_project(target: Target, ls: LabelStudio):
    """Four tasks (alpha..delta); beta and delta are annotated."""
    project = create_project(target, ls, title=f"SDK query {uuid.uuid4().hex[:6]}")
    import_and_wait(ls, project.id, [{"text": w} for w in ("alpha", "beta", "gamma", "delta")])
    tasks = sorted(all_tasks(ls, project.id), key=lambda t: t.id)
    ls.annotations.create(tasks[1].id, result=choice("Positive"))
    ls.annotations.create(tasks[3].id, result=choice("Negative"))
    return project, tasks


def _query(ls: LabelStudio, project_id: int, q: dict) -> list[int]:
    return [t.id for t in ls.tasks.list(project=project_id, page_size=100, query=json.dumps(q))]


def test_task_list_query_filters(target):
    """Data Manager filters through tasks.list(query=...)."""
    ls = target.client()
    project, tasks = _annotated_project(target, ls)
    annotated = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}}
    assert sorted(_query(ls, project.id, annotated)) == [tasks[1].id, tasks[3].id]
    by_text = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.text", "operator": "equal", "type": "String", "value": "gamma"}]}}
    assert _query(ls, project.id, by_text) == [tasks[2].id]
    either = {"filters": {"conjunction": "or", "items": [
        {"filter": "filter:tasks:data.text", "operator": "equal", "type": "String", "value": "alpha"},
        {"filter": "filter:tasks:data.text", "operator": "equal", "type": "String", "value": "gamma"}]}}
    assert sorted(_query(ls, project.id, either)) == [tasks[0].id, tasks[2].id]


def test_task_list_query_ordering(target):
    """Data Manager ordering through tasks.list(query=...)."""
    ls = target.client()
    project, tasks = _annotated_project(target, ls)
    assert _query(ls, project.id, {"ordering": ["-tasks:id"]}) == [t.id for t in reversed(tasks)]


def test_delete_all_tasks_and_list_projects_by_title(target):
    ls = target.client()
    project, tasks = _annotated_project(target, ls)
    assert [p.id for p in ls.projects.list(title=project.title, page_size=100)] == [project.id]

    ls.tasks.delete_all_tasks(project.id)
    emptied = ls.projects.get(project.id)
    assert emptied.task_number == 0
    assert emptied.total_annotations_number == 0
    assert all_tasks(ls, project.id) == []


def test_async_client_with_personal_access_token(target):
    import asyncio

    from label_studio_sdk import AsyncLabelStudio

    ls = target.client()
    project = create_project(target, ls, title="for the async client")
    import_and_wait(ls, project.id, [{"text": "one"}, {"text": "two"}])
    refresh_token = ls.tokens.create().token

    async def journey():
        client = AsyncLabelStudio(base_url=target.url, api_key=refresh_token, timeout=60)
        fetched = await client.projects.get(project.id)
        tasks = [t async for t in await client.tasks.list(project=project.id, page_size=1)]
        annotation = await client.annotations.create(tasks[0].id, result=choice("Neutral"))
        return fetched, tasks, annotation

    try:
        fetched, tasks, annotation = asyncio.run(journey())
    finally:
        ls.tokens.blacklist(refresh=refresh_token)
    assert fetched.id == project.id and fetched.task_number == 2
    assert sorted(t.data["text"] for t in tasks) == ["one", "two"]  # two pages of one
    assert annotation.task == tasks[0].id
    assert ls.projects.get(project.id).total_annotations_number == 1


def test_import_predictions_and_validate_label_config(target):
    ls = target.client()
    project = create_project(target, ls)
    import_and_wait(ls, project.id, [{"text": "p1"}, {"text": "p2"}])
    t1, t2 = sorted(all_tasks(ls, project.id), key=lambda t: t.id)

    ls.projects.import_predictions(project.id, request=[
        {"task": t1.id, "result": choice("Positive"), "score": 0.9, "model_version": "bulk-v1"},
        {"task": t2.id, "result": choice("Negative"), "score": 0.1, "model_version": "bulk-v1"},
    ])
    preds = ls.predictions.list(project=project.id)
    assert sorted((p.task, p.score) for p in preds) == [(t1.id, pytest.approx(0.9)), (t2.id, pytest.approx(0.1))]
    assert {p.model_version for p in preds} == {"bulk-v1"}
    assert ls.projects.get(project.id).total_predictions_number == 2

    ok = ls.projects.validate_label_config(project.id, label_config=CONFIG)
    assert not ok.config_essential_data_has_changed  # Label Studio answers {"config_essential_data_has_changed": null}
    with pytest.raises(ApiError) as err:
        ls.projects.validate_label_config(project.id, label_config="<View><Text name='t' value='$text'></View>")
    assert err.value.status_code == 400


def test_export_snapshot_create_poll_download(target):
    """The snapshot flow (what exports.as_json does on Enterprise): create, poll, download, list, delete."""
    ls = target.client()
    project = create_project(target, ls)
    import_and_wait(ls, project.id, [{"text": "s0"}, {"text": "s1"}, {"text": "s2"}])
    tasks = sorted(all_tasks(ls, project.id), key=lambda t: t.id)
    ann = ls.annotations.create(tasks[0].id, result=choice("Positive"))

    snapshot = ls.projects.exports.create(project.id, title="sdk snapshot")
    assert isinstance(snapshot.id, int)
    assert snapshot.title == "sdk snapshot"
    deadline = time.monotonic() + 60
    while (current := ls.projects.exports.get(project.id, snapshot.id)).status != "completed":
        assert current.status in ("created", "queued", "in_progress"), f"export snapshot {current.status}"
        assert time.monotonic() < deadline, "export snapshot did not complete"
        time.sleep(0.2)
    assert snapshot.id in [e.id for e in ls.projects.exports.list(project.id)]

    exported = json.loads(b"".join(ls.projects.exports.download(project.id, snapshot.id, export_type="JSON")))
    # Default snapshot options (as Label Studio): every task, with its annotations
    by_id = {t["id"]: t for t in exported}
    assert sorted(by_id) == [t.id for t in tasks]
    assert [a["id"] for a in by_id[tasks[0].id]["annotations"]] == [ann.id]
    assert by_id[tasks[1].id]["annotations"] == []
    assert by_id[tasks[2].id]["data"] == {"text": "s2"}

    ls.projects.exports.delete(project.id, snapshot.id)
    with pytest.raises(ApiError) as err:
        ls.projects.exports.get(project.id, snapshot.id)
    assert err.value.status_code == 404


@pytest.fixture
def settings(settings):
    """The webhook receiver listens on loopback, which the outgoing-URL policy refuses by default."""
    return settings.with_(allowed_url_hosts=("127.0.0.1",))


def test_webhooks_receive_what_the_sdk_writes(target):
    ls = target.client()
    project = create_project(target, ls, title="SDK webhooks")
    import_and_wait(ls, project.id, [{"text": "hooked"}])
    task = all_tasks(ls, project.id)[0]
    with receiver() as received:
        hook = ls.webhooks.create(url=received.url, project=project.id, send_payload=True, send_for_all_actions=True,
                                  headers={"Authorization": "Bearer receiver-secret"})
        assert hook.project == project.id and hook.is_active and hook.url == received.url
        assert [w.id for w in ls.webhooks.list(project=str(project.id))] == [hook.id]
        assert ls.webhooks.info().annotation_created.name == "Annotation created"

        annotation = ls.annotations.create(id=task.id, result=choice("Positive"))
        created = received.wait_for(1, action="ANNOTATION_CREATED")[0]
        assert created.headers["authorization"] == "Bearer receiver-secret"
        assert created.json["annotation"]["id"] == annotation.id
        assert created.json["task"]["id"] == task.id
        assert created.json["project"]["id"] == project.id

        # Only updates from now on: a new annotation is not sent, its update is.
        ls.webhooks.update(id=hook.id, send_for_all_actions=False, actions=["ANNOTATION_UPDATED"])
        second = ls.annotations.create(id=task.id, result=choice("Negative"))
        ls.annotations.update(id=second.id, result=choice("Neutral"))
        updated = received.wait_for(1, action="ANNOTATION_UPDATED")[0]
        assert updated.json["annotation"]["id"] == second.id
        assert received.actions().count("ANNOTATION_CREATED") == 1

        ls.webhooks.delete(id=hook.id)
        with pytest.raises(ApiError) as missing:
            ls.webhooks.get(id=hook.id)
        assert missing.value.status_code == 404
