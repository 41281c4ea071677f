"""Batch reads of webhooks and their delivery log for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.webhooks.models import Webhook, WebhookDelivery, WebhookMessage


@dataclass(frozen=True)
class DeliveryLogEntry:
    """One delivery of a message to a webhook, as the delivery log shows it."""

    id: int
    webhook_id: int
    action: str
    status: str
    attempts: int
    response_status: int | None
    latency_ms: float | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def _log_entries(session: Session, query) -> list[DeliveryLogEntry]:
    rows = session.execute(query.add_columns(WebhookMessage.action).join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id))
    return [
        DeliveryLogEntry(d.id, d.webhook_id, action, d.status, d.attempts, d.response_status, d.latency_ms, d.last_error,
                         d.created_at, d.last_attempt_at, d.next_attempt_at if d.status == "pending" else None, d.delivered_at)
        for d, action in rows
    ]


def webhooks_by_ids(session: Session, org_id: int, ids: list[int]) -> dict[int, Webhook]:
    if not ids:
        return {}
    rows = session.scalars(select(Webhook).where(Webhook.id.in_(set(ids)), Webhook.organization_id == org_id))
    return {webhook.id: webhook for webhook in rows}


def deliveries_pages_by_webhook_ids(session: Session, org_id: int, webhook_ids: list[int], first: int,
                                    after_id: int | None) -> dict[int, tuple[list[DeliveryLogEntry], bool]]:
    """Each webhook's deliveries, newest first, `first` after the cursor `after_id`: one statement
    (a window function ranks every webhook's rows)."""
    owned = set(webhooks_by_ids(session, org_id, webhook_ids))
    pages: dict[int, tuple[list[DeliveryLogEntry], bool]] = {pk: ([], False) for pk in webhook_ids}
    if not owned or first <= 0:
        return pages
    rank = func.row_number().over(partition_by=WebhookDelivery.webhook_id, order_by=WebhookDelivery.id.desc()).label("rank")
    ranked = select(WebhookDelivery.id, rank).where(WebhookDelivery.webhook_id.in_(owned))
    if after_id is not None:
        ranked = ranked.where(WebhookDelivery.id < after_id)
    ranked = ranked.subquery()
    query = (select(WebhookDelivery).join(ranked, ranked.c.id == WebhookDelivery.id)
             .where(ranked.c.rank <= first + 1).order_by(WebhookDelivery.webhook_id, WebhookDelivery.id.desc()))
    grouped: dict[int, list[DeliveryLogEntry]] = {}
    for entry in _log_entries(session, query):
        grouped.setdefault(entry.webhook_id, []).append(entry)
    for webhook_id, entries in grouped.items():
        pages[webhook_id] = (entries[:first], len(entries) > first)
    return pages


def delivery_counts_by_webhook_ids(session: Session, org_id: int, webhook_ids: list[int]) -> dict[int, int]:
    owned = set(webhooks_by_ids(session, org_id, webhook_ids))
    counts = dict(session.execute(select(WebhookDelivery.webhook_id, func.count()).where(WebhookDelivery.webhook_id.in_(owned))
                                  .group_by(WebhookDelivery.webhook_id)).all()) if owned else {}
    return {pk: counts.get(pk, 0) for pk in webhook_ids}
