"""The outbox subscriber that turns events into webhook messages and deliveries.

In the dispatch transaction (core.events.outbox): one query finds the active webhooks of the
batch's organizations; an event that no webhook wants costs nothing more. The others are
rendered once each (core.webhooks.payloads, bulk reads) into a WebhookMessage, and get one
WebhookDelivery per target webhook, both with bulk INSERTs. After the commit the deliverer of
each affected webhook is woken (core.webhooks.delivery.WEBHOOK_WAKER).

Who gets what (Label Studio's get_active_webhooks, with Enterprise's organization-wide webhooks):
an active webhook of the event's organization that is organization-wide or belongs to the event's
project, and sends all actions or lists this one; organization-only actions (PROJECT_CREATED,
PROJECT_DELETED) go to organization-wide webhooks only.

Imports: an import job records TASKS_CREATED per batch (data {"import": id}); webhooks get one
TASKS_CREATED for the whole import, with all its tasks, when its IMPORT_COMPLETED arrives, as
Label Studio sends one per import. Synchronous imports and POST /api/tasks/ record one event."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db.unit_of_work import after_commit
from core.events import Event
from core.events.catalog import IMPORT_COMPLETED, KINDS, TASKS_CREATED, WEBHOOK_ACTIONS
from core.events.outbox import register_subscriber
from core.timeutil import utcnow
from core.webhooks.delivery import WEBHOOK_WAKER
from core.webhooks.models import Webhook, WebhookDelivery, WebhookMessage
from core.webhooks.payloads import Outgoing, import_task_ids, render_bodies

SUBSCRIBER_NAME = "webhooks"
SUBSCRIBED_KINDS = [kind.key for kind in WEBHOOK_ACTIONS] + [IMPORT_COMPLETED]


def _outgoing(session: Session, events: Sequence[Event]) -> list[Outgoing]:
    """The events as webhooks see them: import batches left out, import completions as TASKS_CREATED."""
    completions = [e for e in events if e.kind == IMPORT_COMPLETED and e.data and e.data.get("task_count") != 0]
    tasks_of_import = import_task_ids(session, completions) if completions else {}
    outgoing = []
    for event in events:
        if event.kind == TASKS_CREATED and event.data and event.data.get("import") is not None:
            continue  # one batch of an import job: sent whole with the import's completion
        if event.kind == IMPORT_COMPLETED:
            task_ids = tasks_of_import.get(event.id)
            if task_ids:
                outgoing.append(Outgoing(event, TASKS_CREATED, tuple(task_ids)))
            continue
        outgoing.append(Outgoing(event, event.kind, event.object_ids))
    return outgoing


def _wants(webhook, event: Event, action: str) -> bool:
    if webhook.organization_id != event.organization_id:
        return False
    if event.created_at is not None and webhook.created_at > event.created_at:
        return False  # created after the event (dispatch runs a moment later): not its business
    if webhook.project_id is not None and (KINDS[action].organization_only or webhook.project_id != event.project_id):
        return False
    return webhook.send_for_all_actions or action in (webhook.actions or ())


def handle_events(session: Session, events: list[Event]) -> None:
    candidates = [e for e in events if not (e.kind == TASKS_CREATED and e.data and e.data.get("import") is not None)]
    if not candidates:
        return
    webhooks = session.execute(
        select(Webhook.id, Webhook.organization_id, Webhook.project_id, Webhook.send_for_all_actions, Webhook.actions,
               Webhook.created_at)
        .where(Webhook.organization_id.in_({e.organization_id for e in candidates}), Webhook.is_active.is_(True))
        .order_by(Webhook.id)
    ).all()
    if not webhooks:
        return
    # Cheap pre-check before rendering: IMPORT_COMPLETED matches as the TASKS_CREATED it becomes.
    if not any(_wants(w, e, TASKS_CREATED if e.kind == IMPORT_COMPLETED else e.kind) for e in candidates for w in webhooks):
        return
    targeted = []
    for item in _outgoing(session, candidates):
        targets = [w.id for w in webhooks if _wants(w, item.event, item.action)]
        if targets:
            targeted.append((item, targets))
    if not targeted:
        return
    bodies = render_bodies(session, [item for item, _ in targeted])
    now = utcnow()
    message_ids = session.scalars(
        insert(WebhookMessage).returning(WebhookMessage.id, sort_by_parameter_order=True),
        [{"organization_id": item.event.organization_id, "project_id": item.event.project_id, "event_id": item.event.id,
          "action": item.action, "payload": body, "created_at": now} for (item, _), body in zip(targeted, bodies)],
    ).all()
    # In event order, so each webhook's deliveries have ascending ids in commit order.
    session.execute(insert(WebhookDelivery), [
        {"webhook_id": webhook_id, "message_id": message_id, "status": "pending", "attempts": 0,
         "next_attempt_at": now, "created_at": now}
        for message_id, (_, targets) in zip(message_ids, targeted) for webhook_id in targets
    ])
    wake = session.info.get(WEBHOOK_WAKER)
    if wake is not None:
        affected = sorted({webhook_id for _, targets in targeted for webhook_id in targets})
        after_commit(session, lambda: [wake(webhook_id) for webhook_id in affected])


def register_subscribers() -> None:
    register_subscriber(SUBSCRIBER_NAME, handle_events, SUBSCRIBED_KINDS)
