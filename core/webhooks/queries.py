"""Reads of webhooks and their delivery log, scoped to the caller's organization."""
from __future__ import annotations

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound
from core.events.catalog import WEBHOOK_ACTIONS, EventKind
from core.tasks.queries import is_valid_id
from core.webhooks.batch import DeliveryLogEntry, deliveries_pages_by_webhook_ids
from core.webhooks.models import Webhook

# `?project=isnull` lists the organization-wide webhooks (django-filter's null_label in Label Studio).
ORGANIZATION_WIDE = "isnull"


@use_case(policy.WEBHOOKS_VIEW)
def get_webhook(ctx: Context, webhook_id: int) -> Webhook:
    """The webhook, if it belongs to the caller's organization; NotFound otherwise."""
    if not is_valid_id(webhook_id):
        raise NotFound()
    webhook = ctx.session.scalar(select(Webhook).where(Webhook.id == webhook_id, Webhook.organization_id == ctx.org_id))
    if webhook is None:
        raise NotFound()
    return webhook


@use_case(policy.WEBHOOKS_VIEW)
def list_webhooks(ctx: Context, project_id: int | str | None = None) -> list[Webhook]:
    """GET /api/webhooks/ (`project`: a project id, or "isnull" for organization-wide ones)."""
    query = select(Webhook).where(Webhook.organization_id == ctx.org_id).order_by(Webhook.id)
    if project_id == ORGANIZATION_WIDE:
        query = query.where(Webhook.project_id.is_(None))
    elif project_id is not None:
        query = query.where(Webhook.project_id == project_id)
    return list(ctx.session.scalars(query))


def webhook_actions(organization_only: bool | None = None) -> list[EventKind]:
    """The actions a webhook can subscribe to (GET /api/webhooks/info/); with `organization_only`,
    only those that are (True) or are not (False) for organization-wide webhooks only. Public
    catalog data, as in Label Studio: no permission needed."""
    return [kind for kind in WEBHOOK_ACTIONS if organization_only is None or kind.organization_only == organization_only]


@use_case(policy.WEBHOOKS_VIEW)
def list_deliveries(ctx: Context, webhook_id: int, *, first: int = 100, after_id: int | None = None) -> tuple[list[DeliveryLogEntry], bool]:
    """A webhook's delivery log, newest first: (entries, has more)."""
    webhook = get_webhook(ctx, webhook_id)
    pages = deliveries_pages_by_webhook_ids(ctx.session, ctx.org_id, [webhook.id], first, after_id)
    return pages[webhook.id]
