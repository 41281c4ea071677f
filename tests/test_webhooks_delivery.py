"""Webhook deliveries from the outbox, end to end: the app with its embedded worker, real
receivers on loopback (tests/webhook_receiver.py). Payloads, order, retries, dead letters,
automatic disabling, signatures, a slow receiver, and a deliverer killed mid-batch."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta

import pytest
import standardwebhooks
from sqlalchemy import select, update

from core.db.unit_of_work import transaction
from core.events.models import OutboxEvent
from core.timeutil import utcnow
from core.webhooks.delivery import deliver_pending, webhooks_with_due_deliveries
from core.webhooks.models import Webhook, WebhookDelivery, WebhookMessage
from tests.test_import_jobs import start_import, wait_for_import
from tests.webhook_receiver import down_url, receiver

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/><Choice value="b"/></Choices></View>'
RESULT = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]


@pytest.fixture
def settings(settings):
    return settings.with_(
        allowed_url_hosts=("127.0.0.1",),
        webhook_retry_base_seconds=0.05,
        webhook_retry_max_seconds=0.5,
        webhook_timeout_seconds=5.0,
        import_sync_max_bytes=200,  # bigger files are imported by a job
        import_batch_size=7,
    )


def make_project(client, title: str = "Hooked") -> int:
    response = client.post("/api/projects/", json={"title": title, "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def make_webhook(client, url: str, project_id: int | None = None, **fields) -> dict:
    body = {"url": url, **fields}
    if project_id is not None:
        body["project"] = project_id
    response = client.post("/api/webhooks/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_task(client, project_id: int, text: str = "hello") -> int:
    response = client.post("/api/tasks/", json={"project": project_id, "data": {"text": text}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def annotate(client, task_id: int) -> dict:
    response = client.post(f"/api/tasks/{task_id}/annotations/", json={"result": RESULT})
    assert response.status_code == 201, response.text
    return response.json()


def settle(app, timeout: float = 20) -> None:
    """Wait until every outbox event is dispatched and no delivery is pending: whatever the
    receivers have by then is all they will get."""
    from core.events.outbox import pending_events_exist

    deadline = time.monotonic() + timeout
    while True:
        with transaction(app.state.session_factory) as session:
            pending = pending_events_exist(session) or session.scalar(
                select(WebhookDelivery.id).where(WebhookDelivery.status == "pending").limit(1)) is not None
        if not pending:
            return
        assert time.monotonic() < deadline, "events or deliveries still pending"
        time.sleep(0.05)


def delivery_log(client, webhook_id: int, until=lambda log: True, timeout: float = 20) -> list[dict]:
    """The webhook's delivery log (newest first) once `until(log)` holds (with a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/webhooks/{webhook_id}/deliveries/")
        assert response.status_code == 200, response.text
        log = response.json()
        if until(log):
            return log
        assert time.monotonic() < deadline, f"delivery log never matched: {log}"
        time.sleep(0.05)


def test_project_webhook_receives_label_studios_payloads_in_commit_order(actor):
    c = actor.client
    with receiver() as hook:
        project_id = make_project(c)
        webhook = make_webhook(c, hook.url, project_id, headers={"Authorization": "Token abc", "X-Team": "ml"})
        # Each step waits for its delivery: payloads are rendered at dispatch, and the last step
        # deletes what the earlier ones describe.
        task_id = make_task(c, project_id)
        hook.wait_for(1)
        annotation = annotate(c, task_id)
        hook.wait_for(2)
        assert c.patch(f"/api/annotations/{annotation['id']}/", json={"result": RESULT, "lead_time": 3}).status_code == 200
        hook.wait_for(3)
        assert c.patch(f"/api/projects/{project_id}/", json={"title": "Renamed"}).status_code == 200
        hook.wait_for(4)
        assert c.delete(f"/api/projects/{project_id}/tasks/").status_code == 204
        received = hook.wait_for(5)

    assert [r.action for r in received] == ["TASKS_CREATED", "ANNOTATION_CREATED", "ANNOTATION_UPDATED", "PROJECT_UPDATED",
                                            "TASKS_DELETED"]
    first = received[0]
    assert first.path == "/hook" and first.headers["content-type"] == "application/json"
    assert first.headers["authorization"] == "Token abc" and first.headers["x-team"] == "ml"
    assert first.webhook_id.startswith("msg_") and first.headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in first.headers  # not signed unless asked

    tasks_created = first.json
    assert [t["id"] for t in tasks_created["tasks"]] == [task_id]
    assert tasks_created["tasks"][0]["data"] == {"text": "hello"} and tasks_created["project"]["id"] == project_id
    created = received[1].json
    assert set(created) == {"action", "annotation", "task", "project"}
    assert created["annotation"]["id"] == annotation["id"] and created["annotation"]["result"] == RESULT
    assert created["task"]["id"] == task_id and created["project"]["task_number"] == 1
    assert received[2].json["annotation"]["lead_time"] == 3
    assert received[3].json["project"]["title"] == "Renamed"
    assert received[4].json == {"action": "TASKS_DELETED", "tasks": [{"id": task_id}], "project": received[4].json["project"]}
    assert len({r.webhook_id for r in received}) == 5

    log = delivery_log(c, webhook["id"], lambda log: all(entry["status"] == "delivered" for entry in log))
    assert [entry["action"] for entry in log] == ["TASKS_DELETED", "PROJECT_UPDATED", "ANNOTATION_UPDATED",
                                                  "ANNOTATION_CREATED", "TASKS_CREATED"]
    assert all(entry["attempts"] == 1 and entry["response_status"] == 200 for entry in log)


def test_actions_filter_and_send_payload(app, actor):
    c = actor.client
    with receiver() as hook:
        project_id = make_project(c)
        make_webhook(c, hook.url, project_id, send_for_all_actions=False, actions=["ANNOTATION_CREATED"], send_payload=False)
        task_id = make_task(c, project_id)
        annotate(c, task_id)
        c.patch(f"/api/projects/{project_id}/", json={"title": "Renamed"})
        annotate(c, make_task(c, project_id, "second"))
        hook.wait_for(2)
        settle(app)
    assert [r.json for r in hook.requests] == [{"action": "ANNOTATION_CREATED"}] * 2


def test_organization_wide_webhook_gets_every_projects_events(app, actor, stranger):
    with receiver() as org_hook, receiver() as project_hook:
        c = actor.client
        first = make_project(c, "First")
        make_webhook(c, org_hook.url)
        make_webhook(c, project_hook.url, first)
        second = make_project(c, "Second")
        make_task(c, first)
        make_task(c, second)
        make_project(stranger.client, "Not mine")
        assert c.delete(f"/api/projects/{second}/").status_code == 204
        org_received = org_hook.wait_for(4)
        project_hook.wait_for(1)
        settle(app)
    assert [(r.action, r.json["project"]["id"]) for r in org_received] == [
        ("PROJECT_CREATED", second), ("TASKS_CREATED", first), ("TASKS_CREATED", second), ("PROJECT_DELETED", second)]
    assert org_received[1].json["project"]["title"] == "First"
    # "Second" was deleted before its PROJECT_CREATED went out: what is known of it is sent.
    assert org_received[0].json["project"]["id"] == second
    assert org_received[3].json == {"action": "PROJECT_DELETED", "project": {"id": second}}
    # A project webhook never receives organization-only actions, nor other projects' events.
    assert [(r.action, r.json["project"]["id"]) for r in project_hook.requests] == [("TASKS_CREATED", first)]


def test_an_import_sends_one_tasks_created(actor, app):
    c = actor.client
    with receiver() as hook:
        project_id = make_project(c)
        make_webhook(c, hook.url, project_id, send_for_all_actions=False, actions=["TASKS_CREATED"])
        # In the request (small): one event with every task.
        response = c.post(f"/api/projects/{project_id}/import", json=[{"text": f"t{i}"} for i in range(12)])
        assert response.status_code == 201, response.text
        # As a job, in batches of 7: still one TASKS_CREATED, once the import completed.
        csv = ("text\n" + "".join(f"row {i}\n" for i in range(30))).encode()
        import_id = start_import(c, project_id, "big.csv", csv)
        assert wait_for_import(c, project_id, import_id)["status"] == "completed"
        hook.wait_for(2)
        settle(app)
    assert [len(r.json["tasks"]) for r in hook.requests] == [12, 30]
    assert [t["data"]["text"] for t in hook.requests[1].json["tasks"]] == [f"row {i}" for i in range(30)]
    assert hook.requests[1].json["project"]["task_number"] == 42


def test_retry_after_a_500_delivers_on_the_second_attempt(actor):
    c = actor.client
    with receiver(fail_first=1) as hook:
        project_id = make_project(c)
        webhook = make_webhook(c, hook.url, project_id)
        make_task(c, project_id)
        hook.wait_for(2)
        log = delivery_log(c, webhook["id"], lambda log: log and log[0]["status"] == "delivered")
    assert [r.webhook_id for r in hook.requests][0] == hook.requests[1].webhook_id  # the same message, sent again
    assert log[0]["attempts"] == 2 and log[0]["response_status"] == 200 and log[0]["last_error"] is None
    assert log[0]["latency_ms"] >= 0 and log[0]["delivered_at"]


class TestFailures:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(webhook_max_attempts=2, webhook_disable_after_failures=4)

    def test_dead_letter_then_the_next_delivery_proceeds(self, actor):
        c = actor.client
        with receiver(fail_first=2) as hook:
            project_id = make_project(c)
            webhook = make_webhook(c, hook.url, project_id)
            first_task = make_task(c, project_id, "first")
            second_task = make_task(c, project_id, "second")
            hook.wait_for(3)
            log = delivery_log(c, webhook["id"], lambda log: [e["status"] for e in log] == ["delivered", "dead"])
        dead, delivered = log[1], log[0]
        assert dead["attempts"] == 2 and dead["response_status"] == 500 and "HTTP 500" in dead["last_error"]
        assert delivered["attempts"] == 1
        assert [r.json["tasks"][0]["id"] for r in hook.requests] == [first_task, first_task, second_task]
        assert c.get(f"/api/webhooks/{webhook['id']}/").json()["is_active"] is True

    def test_a_webhook_failing_again_and_again_is_disabled(self, actor, db):
        c = actor.client
        project_id = make_project(c)
        webhook = make_webhook(c, down_url(), project_id)  # nothing listens there
        for i in range(3):
            make_task(c, project_id, f"t{i}")
        deadline = time.monotonic() + 20
        while c.get(f"/api/webhooks/{webhook['id']}/").json()["is_active"]:
            assert time.monotonic() < deadline, "the webhook was never disabled"
            time.sleep(0.05)
        log = delivery_log(c, webhook["id"], lambda log: all(e["status"] == "dead" for e in log))
        assert sum(e["attempts"] for e in log) == 4  # 2 + 2 attempts, then disabled: the third never tried
        assert log[0]["attempts"] == 0 and log[0]["last_error"] == "The webhook was disabled."
        assert "ConnectError" in log[-1]["last_error"]
        db.expire_all()
        stored = db.get(Webhook, webhook["id"])
        assert stored.disabled_reason.startswith("Disabled after 4 failed delivery attempts")
        disabled_events = db.scalars(select(OutboxEvent.data).where(OutboxEvent.kind == "WEBHOOKS_UPDATED")).all()
        assert [data["disabled_reason"] for data in disabled_events] == [stored.disabled_reason]
        # Enabled again by a user: the streak starts over.
        assert c.patch(f"/api/webhooks/{webhook['id']}/", json={"is_active": True}).json()["is_active"] is True
        db.expire_all()
        assert (db.get(Webhook, webhook["id"]).consecutive_failures, db.get(Webhook, webhook["id"]).disabled_reason) == (0, None)


def test_signed_deliveries_verify_with_standardwebhooks(actor):
    c = actor.client
    with receiver() as hook:
        project_id = make_project(c)
        secret = make_webhook(c, hook.url, project_id, signed=True)["secret"]
        make_task(c, project_id)
        (received,) = hook.wait_for(1)
    verified = standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    assert verified["action"] == "TASKS_CREATED"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY").verify(received.body, received.headers)


def test_a_slow_receiver_does_not_slow_the_request(actor):
    c = actor.client
    with receiver(delay=3.0) as hook:
        project_id = make_project(c)
        make_webhook(c, hook.url, project_id)
        task_id = make_task(c, project_id)
        hook.wait_for(1)  # the receiver is now busy for 3 s with TASKS_CREATED
        began = time.monotonic()
        annotate(c, task_id)
        elapsed = time.monotonic() - began
        hook.wait_for(2, timeout=30)
    assert elapsed < 1.0, f"the annotation save took {elapsed:.2f} s"


def test_many_events_arrive_in_commit_order(actor):
    c = actor.client
    with receiver() as hook:
        project_id = make_project(c)
        task_ids = [make_task(c, project_id, f"t{i}") for i in range(3)]
        make_webhook(c, hook.url, project_id, send_for_all_actions=False, actions=["ANNOTATION_CREATED"])
        created = [annotate(c, task_ids[i % 3])["id"] for i in range(25)]
        received = hook.wait_for(25)
    assert [r.json["annotation"]["id"] for r in received] == created


# ---------------------------------------------------------------- a deliverer killed mid-batch


def _deliver_in_subprocess(settings, webhook_id: int) -> None:
    from core.db.engine import create_db_engine, make_session_factory

    engine = create_db_engine(settings.database_url)
    deliver_pending(make_session_factory(engine), settings, webhook_id)


def test_a_deliverer_killed_mid_batch_resends_at_most_that_batch(app, settings, actor, db):
    """Delivered marks are written in batches: a deliverer killed before writing them sends that
    batch again after the restart. Every event arrives; a receiver deduplicating by webhook-id
    sees each once."""
    count = 20
    org_id = actor.organization_id
    with receiver(hang_after=7) as hook:
        # Queued as the subscriber queues them, but with no wake-up: this test runs the deliverers.
        with transaction(app.state.session_factory) as session:
            webhook = Webhook(organization_id=org_id, url=hook.url, headers={}, actions=[])
            session.add(webhook)
            session.flush()
            now = utcnow()
            for i in range(count):
                message = WebhookMessage(organization_id=org_id, action="TASKS_CREATED", created_at=now,
                                         payload={"action": "TASKS_CREATED", "n": i})
                session.add(message)
                session.flush()
                session.add(WebhookDelivery(webhook_id=webhook.id, message_id=message.id, next_attempt_at=now, created_at=now))
            webhook_id = webhook.id

        process = multiprocessing.get_context("spawn").Process(target=_deliver_in_subprocess, args=(settings, webhook_id))
        process.start()
        try:
            hook.wait_for(8, timeout=60)  # 7 answered, the 8th hangs: the deliverer is mid-batch
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        finally:
            if process.is_alive():
                process.kill()

        db.expire_all()
        statuses = db.scalars(select(WebhookDelivery.status).where(WebhookDelivery.webhook_id == webhook_id)).all()
        assert statuses == ["pending"] * count  # killed before it wrote the delivered marks
        assert db.get(Webhook, webhook_id).lease_until > utcnow()  # its lease is still held...
        with transaction(app.state.session_factory) as session:
            assert webhook_id not in webhooks_with_due_deliveries(session)
            # ...until it expires; then the sweeper finds the webhook and wakes it.
            session.execute(update(Webhook).where(Webhook.id == webhook_id).values(lease_until=utcnow() - timedelta(seconds=1)))
        with transaction(app.state.session_factory) as session:
            assert webhook_id in webhooks_with_due_deliveries(session)

        hook.hang_after = None
        assert deliver_pending(app.state.session_factory, settings, webhook_id) is None
        unique = hook.unique()

    db.expire_all()
    statuses = db.scalars(select(WebhookDelivery.status).where(WebhookDelivery.webhook_id == webhook_id)).all()
    assert statuses == ["delivered"] * count
    assert sorted(r.json["n"] for r in unique.values()) == list(range(count))
    assert len(hook.requests) == 8 + count  # the killed batch (7 + the one in flight) was sent again, nothing more
    assert db.get(Webhook, webhook_id).lease_until is None
