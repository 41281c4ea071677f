"""The events that project, task, annotation, prediction, import and legacy (0.8) writes record in
the outbox: kind, project and object ids, one event per write (one per bulk write), and none for a
refused request."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.events.models import OutboxEvent
from core.imports.pipeline import ImportPlan
from core.predictions.models import Prediction
from core.tasks.models import Task
from tests.test_import_jobs import csv_rows, wait_for_import

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/><Choice value="b"/></Choices></View>'
RESULT = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]
SYNC_LIMIT = 200  # bytes: bigger uploads are imported by a job
BATCH = 7


@pytest.fixture
def settings(settings):
    return settings.with_(import_sync_max_bytes=SYNC_LIMIT, import_batch_size=BATCH)


class Outbox:
    """The events of one organization, read in commit order."""

    def __init__(self, db, organization_id: int):
        self.db, self.organization_id, self.seen = db, organization_id, 0

    def rows(self) -> list[OutboxEvent]:
        self.db.expire_all()
        return list(self.db.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.organization_id == self.organization_id, OutboxEvent.id > self.seen)
            .order_by(OutboxEvent.id)
        ))

    def take(self) -> list[tuple[str, int | None, list[int]]]:
        """(kind, project id, object ids) of the events recorded since the last take."""
        rows = self.rows()
        if rows:
            self.seen = rows[-1].id
        return [(row.kind, row.project_id, row.object_ids) for row in rows]


@pytest.fixture
def outbox(db, actor) -> Outbox:
    return Outbox(db, actor.organization_id)


@pytest.fixture
def strangers_outbox(db, stranger) -> Outbox:
    return Outbox(db, stranger.organization_id)


def make_project(actor, title: str = "Events") -> int:
    response = actor.client.post("/api/projects/", json={"title": title, "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def import_texts(actor, project_id: int, count: int) -> list[int]:
    response = actor.client.post(f"/api/projects/{project_id}/import?return_task_ids=true",
                                 json=[{"text": f"t{i}"} for i in range(count)])
    assert response.status_code == 201, response.text
    return response.json()["task_ids"]


def tasks_of(db, project_id: int) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)))


# ---------------------------------------------------------------- projects


def test_project_writes_record_their_events(actor, stranger, outbox, strangers_outbox, db):
    c = actor.client
    pid = make_project(actor, "Before")
    assert outbox.take() == [("PROJECT_CREATED", pid, [pid])]
    assert c.patch(f"/api/projects/{pid}/", json={"title": "After"}).status_code == 200
    assert outbox.take() == [("PROJECT_UPDATED", pid, [pid])]

    assert c.post("/api/projects/", json={"title": "x"}).status_code == 400
    assert c.patch(f"/api/projects/{pid}/", json={"label_config": "<View>"}).status_code == 400
    assert stranger.client.patch(f"/api/projects/{pid}/", json={"title": "Theirs"}).status_code == 404
    assert stranger.client.delete(f"/api/projects/{pid}/").status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []

    assert c.delete(f"/api/projects/{pid}/").status_code == 204
    [deleted] = outbox.rows()
    assert (deleted.kind, deleted.project_id, deleted.object_ids) == ("PROJECT_DELETED", pid, [pid])
    assert deleted.data == {"title": "After"} and deleted.actor_id == actor.user_id


# ---------------------------------------------------------------- tasks


def test_task_writes_record_their_events(actor, stranger, outbox, strangers_outbox):
    c = actor.client
    pid = make_project(actor)
    outbox.take()
    task_id = c.post("/api/tasks/", json={"data": {"text": "one"}, "project": pid}).json()["id"]
    assert outbox.take() == [("TASKS_CREATED", pid, [task_id])]
    assert c.patch(f"/api/tasks/{task_id}/", json={"data": {"text": "two"}}).status_code == 200
    assert outbox.take() == [("TASKS_UPDATED", pid, [task_id])]
    event = c.post(f"/api/tasks/{task_id}/events/", json={"event_key": "region_drawn", "event_time": "2026-01-02T03:04:05Z"})
    assert event.status_code == 201
    assert outbox.take() == [("TASK_EVENT_CREATED", pid, [event.json()["id"]])]
    assert c.delete(f"/api/tasks/{task_id}/").status_code == 204
    assert outbox.take() == [("TASKS_DELETED", pid, [task_id])]

    task_ids = import_texts(actor, pid, 3)
    outbox.take()
    assert c.delete(f"/api/projects/{pid}/tasks/").status_code == 204
    assert outbox.take() == [("TASKS_DELETED", pid, task_ids)]
    assert c.delete(f"/api/projects/{pid}/tasks/").status_code == 204
    assert outbox.take() == [], "nothing deleted, nothing recorded"

    [kept] = import_texts(actor, pid, 1)
    outbox.take()
    assert c.post("/api/tasks/", json={"data": {"other": "key"}, "project": pid}).status_code == 400
    assert c.patch(f"/api/tasks/{kept}/", json={"data": "not an object"}).status_code == 400
    assert c.post(f"/api/tasks/{kept}/events/", json={"event_key": "no time"}).status_code == 400
    assert stranger.client.post("/api/tasks/", json={"data": {"text": "x"}, "project": pid}).status_code == 404
    assert stranger.client.delete(f"/api/tasks/{kept}/").status_code == 404
    assert stranger.client.delete(f"/api/projects/{pid}/tasks/").status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []


# ---------------------------------------------------------------- annotations


def test_annotation_writes_record_their_events(actor, stranger, outbox, strangers_outbox):
    c = actor.client
    pid, other_pid = make_project(actor), make_project(actor, "Other")
    first, second, third = import_texts(actor, pid, 3)
    [elsewhere] = import_texts(actor, other_pid, 1)
    outbox.take()

    annotation = c.post(f"/api/tasks/{first}/annotations/", json={"result": RESULT}).json()["id"]
    assert outbox.take() == [("ANNOTATION_CREATED", pid, [annotation])]
    assert c.patch(f"/api/annotations/{annotation}/", json={"lead_time": 3}).status_code == 200
    assert outbox.take() == [("ANNOTATION_UPDATED", pid, [annotation])]
    assert c.delete(f"/api/annotations/{annotation}/").status_code == 204
    assert outbox.take() == [("ANNOTATIONS_DELETED", pid, [annotation])]

    created = c.post("/api/annotations/bulk/", json={"tasks": [second, third], "result": RESULT})
    assert created.status_code == 201
    bulk_ids = [item["id"] for item in created.json()]
    assert outbox.take() == [("ANNOTATIONS_CREATED", pid, bulk_ids)], "one event for the whole bulk"
    spanning = c.post("/api/annotations/bulk/", json={"tasks": [first, elsewhere], "result": RESULT}).json()
    assert outbox.take() == [("ANNOTATIONS_CREATED", pid, [spanning[0]["id"]]),
                             ("ANNOTATIONS_CREATED", other_pid, [spanning[1]["id"]])], "one event per project"
    assert c.post("/api/annotations/bulk-delete/", json={"ids": bulk_ids, "project": pid}).json() == {"deleted_count": 2}
    assert outbox.take() == [("ANNOTATIONS_DELETED", pid, bulk_ids)]

    assert c.post(f"/api/tasks/{first}/annotations/", json={"result": "not a list"}).status_code == 400
    assert c.post("/api/annotations/bulk/", json={"tasks": [first, 999999], "result": RESULT}).status_code == 404
    assert c.post("/api/annotations/bulk-delete/", json={"ids": [999999], "project": pid}).status_code == 404
    assert stranger.client.post(f"/api/tasks/{first}/annotations/", json={"result": RESULT}).status_code == 404
    assert stranger.client.delete(f"/api/annotations/{spanning[0]['id']}/").status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []


# ---------------------------------------------------------------- predictions


def test_prediction_writes_record_their_events(actor, stranger, outbox, strangers_outbox):
    c = actor.client
    pid = make_project(actor)
    [task_id] = import_texts(actor, pid, 1)
    outbox.take()
    prediction = c.post("/api/predictions/", json={"task": task_id, "result": RESULT, "score": 0.5}).json()["id"]
    assert outbox.take() == [("PREDICTIONS_CREATED", pid, [prediction])]
    assert c.patch(f"/api/predictions/{prediction}/", json={"score": 0.9}).status_code == 200
    assert outbox.take() == [("PREDICTION_UPDATED", pid, [prediction])]

    assert c.post("/api/predictions/", json={"task": 999999, "result": RESULT}).status_code == 400
    assert c.patch(f"/api/predictions/{prediction}/", json={"score": "high"}).status_code == 400
    assert stranger.client.post("/api/predictions/", json={"task": task_id, "result": RESULT}).status_code == 400
    assert stranger.client.delete(f"/api/predictions/{prediction}/").status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []

    assert c.delete(f"/api/predictions/{prediction}/").status_code == 204
    assert outbox.take() == [("PREDICTIONS_DELETED", pid, [prediction])]


# ---------------------------------------------------------------- imports in the request


def test_imports_in_the_request_record_one_event_with_every_task(actor, stranger, outbox, strangers_outbox, db):
    c = actor.client
    pid = make_project(actor)
    outbox.take()
    task_ids = import_texts(actor, pid, 3)
    assert outbox.take() == [("TASKS_CREATED", pid, task_ids)]

    uploaded = c.post(f"/api/projects/{pid}/import?return_task_ids=true", files={"file": ("small.csv", b"text\nx\ny\n")})
    assert uploaded.status_code == 201, uploaded.text
    assert outbox.take() == [("TASKS_CREATED", pid, uploaded.json()["task_ids"])]

    fetched = c.post(f"/api/projects/{pid}/import?return_task_ids=true", data={"url": '[{"text": "inline"}]'})
    assert fetched.status_code == 201, fetched.text
    assert outbox.take() == [("TASKS_CREATED", pid, fetched.json()["task_ids"])]

    before = set(tasks_of(db, pid))
    later = c.post(f"/api/projects/{pid}/import?commit_to_project=false", files={"file": ("later.csv", b"text\nl1\nl2\n")})
    assert later.status_code == 201
    assert outbox.take() == [], "uploads without tasks: nothing created"
    upload_ids = later.json()["file_upload_ids"]
    assert c.post(f"/api/projects/{pid}/reimport", json={"file_upload_ids": upload_ids}).status_code == 201
    reimported = sorted(set(tasks_of(db, pid)) - before)
    assert outbox.take() == [("TASKS_CREATED", pid, reimported)]
    assert c.post(f"/api/projects/{pid}/reimport", json={"file_upload_ids": upload_ids}).status_code == 201
    replacing = sorted(set(tasks_of(db, pid)) - before)
    assert outbox.take() == [("TASKS_DELETED", pid, reimported), ("TASKS_CREATED", pid, replacing)]

    created = c.post(f"/api/projects/{pid}/import/predictions", json=[{"task": t, "result": RESULT} for t in task_ids])
    assert created.json() == {"created": 3}
    db.expire_all()
    prediction_ids = list(db.scalars(select(Prediction.id).where(Prediction.project_id == pid).order_by(Prediction.id)))
    assert outbox.take() == [("PREDICTIONS_CREATED", pid, prediction_ids)]

    assert c.post(f"/api/projects/{pid}/import", json=[{"text": "ok"}, {"other": "key"}]).status_code == 400
    assert c.post(f"/api/projects/{pid}/import", files={"file": ("bad.json", b"[1, 2")}).status_code == 400
    assert c.post(f"/api/projects/{pid}/import", data={"url": "file:///etc/passwd"}).status_code == 400
    assert c.post(f"/api/projects/{pid}/reimport", json={"file_upload_ids": [999999]}).status_code == 400
    assert c.post(f"/api/projects/{pid}/import/predictions", json=[{"task": 999999, "result": RESULT}]).status_code == 400
    assert stranger.client.post(f"/api/projects/{pid}/import", json=[{"text": "theirs"}]).status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []


# ---------------------------------------------------------------- import jobs


def test_an_import_job_records_each_batch_then_its_completion(actor, outbox, db):
    pid = make_project(actor)
    outbox.take()
    response = actor.client.post(f"/api/projects/{pid}/import", files={"file": ("big.csv", csv_rows(30))})
    import_id = response.json()["import"]
    assert wait_for_import(actor.client, pid, import_id)["status"] == "completed"
    rows = outbox.rows()
    task_ids = tasks_of(db, pid)
    batches = [("TASKS_CREATED", pid, task_ids[start:start + BATCH]) for start in range(0, 30, BATCH)]
    assert [(row.kind, row.project_id, row.object_ids) for row in rows] == [*batches, ("IMPORT_COMPLETED", pid, [import_id])]
    assert all(row.data["import"] == import_id and row.actor_id == actor.user_id for row in rows)
    assert rows[-1].data["task_count"] == 30


def test_a_failed_import_job_records_the_removal_of_the_tasks_it_wrote(actor, outbox, monkeypatch):
    pid = make_project(actor)
    outbox.take()
    original, calls = ImportPlan.write, []

    def fail_on_third_batch(plan, session, tasks, import_id):
        calls.append(len(tasks))
        if len(calls) == 3:
            raise ValueError("disk full")
        return original(plan, session, tasks, import_id)

    monkeypatch.setattr(ImportPlan, "write", fail_on_third_batch)
    response = actor.client.post(f"/api/projects/{pid}/import", files={"file": ("big.csv", csv_rows(30))})
    assert wait_for_import(actor.client, pid, response.json()["import"])["status"] == "failed"
    events = outbox.take()
    written = events[0][2] + events[1][2]
    assert [kind for kind, _, _ in events] == ["TASKS_CREATED", "TASKS_CREATED", "TASKS_DELETED"]
    assert events[2] == ("TASKS_DELETED", pid, written) and len(written) == 14


# ---------------------------------------------------------------- legacy 0.8 API


def test_legacy_writes_record_the_events_of_the_services_they_compose(actor, stranger, outbox, strangers_outbox, db):
    c = actor.client
    pid = c.post("/api/project", params={"desc": "Legacy"}).json()["id"]
    assert outbox.take() == [("PROJECT_CREATED", pid, [pid])]
    assert c.post("/api/project/config", params={"project": pid}, json={"label_config": CONFIG}).status_code == 201
    assert c.patch("/api/project", params={"project": pid}, json={"title": "Renamed"}).status_code == 201
    assert outbox.take() == [("PROJECT_UPDATED", pid, [pid])] * 2
    imported = c.post("/api/project/import", params={"project": pid}, json=[{"text": "a"}, {"text": "b"}])
    first, second = imported.json()["new_task_ids"]
    assert outbox.take() == [("TASKS_CREATED", pid, [first, second])]

    completion = c.post(f"/api/tasks/{first}/completions", json={"result": RESULT}).json()["id"]
    assert outbox.take() == [("ANNOTATION_CREATED", pid, [completion])]
    assert c.patch(f"/api/tasks/{first}/completions/{completion}", json={"lead_time": 2}).status_code == 201
    assert outbox.take() == [("ANNOTATION_UPDATED", pid, [completion])]
    assert c.delete(f"/api/tasks/{first}/completions/{completion}").status_code == 204
    assert outbox.take() == [("ANNOTATIONS_DELETED", pid, [completion])]

    on_first = [c.post(f"/api/tasks/{first}/completions", json={"result": RESULT}).json()["id"] for _ in range(2)]
    on_second = c.post(f"/api/tasks/{second}/completions", json={"result": RESULT}).json()["id"]
    outbox.take()
    assert c.delete(f"/api/tasks/{first}/completions").status_code == 204
    assert outbox.take() == [("ANNOTATIONS_DELETED", pid, on_first)], "one event for all of the task's completions"
    assert c.delete("/api/completions", params={"project": pid}).status_code == 204
    assert outbox.take() == [("ANNOTATIONS_DELETED", pid, [on_second])]

    rewritten = c.post(f"/api/tasks/{second}/", json={"data": {"text": "new"}, "completions": [{"result": RESULT}]})
    assert rewritten.status_code == 200, rewritten.text
    new_completion = rewritten.json()["completions"][0]["id"]
    assert outbox.take() == [("TASKS_UPDATED", pid, [second]), ("ANNOTATION_CREATED", pid, [new_completion])]

    assert c.post("/api/project/config", params={"project": pid}, json={"label_config": "<View>"}).status_code == 400
    assert c.post("/api/project/import", params={"project": pid}, json=[{"other": "key"}]).status_code == 400
    assert stranger.client.delete("/api/tasks/", params={"project": pid}).status_code == 404
    assert stranger.client.delete(f"/api/tasks/{first}/completions").status_code == 404
    assert outbox.take() == [] and strangers_outbox.take() == []

    assert c.delete("/api/tasks/", params={"project": pid}).status_code == 204
    assert outbox.take() == [("TASKS_DELETED", pid, [first, second])]
