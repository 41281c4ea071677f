from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.events.catalog import EventKind
from core.shapes.webhooks import ACTION_KEYS
from core.webhooks.batch import DeliveryLogEntry
from core.webhooks.models import Webhook
from graphql_api.relay import Connection, Node, PageArgs, make_connection, to_global_id
from graphql_api.timestamps import utc

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


@strawberry.type(name="WebhookDelivery", description="One message on its way to a webhook: the delivery log.")
class WebhookDeliveryNode:
    pk: int
    webhook_id: str = strawberry.field(description="The `webhook-id` header the receiver sees (the same on every attempt).")
    action: str
    status: str = strawberry.field(description="pending, delivered or dead (attempts exhausted or the webhook disabled).")
    attempts: int
    response_status: int | None = strawberry.field(description="The HTTP status of the last attempt.")
    latency_ms: float | None = strawberry.field(description="How long the last attempt took.")
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(description="When a pending delivery is tried next.")
    delivered_at: datetime | None

    @classmethod
    def from_entry(cls, entry: DeliveryLogEntry) -> "WebhookDeliveryNode":
        return cls(
            pk=entry.id,
            webhook_id=f"msg_{entry.id}",
            action=entry.action,
            status=entry.status,
            attempts=entry.attempts,
            response_status=entry.response_status,
            latency_ms=entry.latency_ms,
            last_error=entry.last_error,
            created_at=utc(entry.created_at),
            last_attempt_at=utc(entry.last_attempt_at),
            next_attempt_at=utc(entry.next_attempt_at),
            delivered_at=utc(entry.delivered_at),
        )


@strawberry.type(name="Webhook", description="An HTTP endpoint that receives the organization's (or one project's) events.")
class WebhookNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    url: str
    send_payload: bool = strawberry.field(description="False: the body is only {\"action\": ...}.")
    send_for_all_actions: bool
    actions: list[str] = strawberry.field(description="The actions sent when not sendForAllActions.")
    headers: JSON = strawberry.field(description="Extra request headers.")
    is_active: bool
    signed: bool = strawberry.field(description="Deliveries carry a Standard Webhooks signature (webhook-signature).")
    organization_wide: bool = strawberry.field(description="No project: receives every project's events.")
    consecutive_failures: int = strawberry.field(description="Failed delivery attempts in a row.")
    disabled_reason: str | None = strawberry.field(description="Why it was disabled automatically.")
    created_at: datetime
    updated_at: datetime
    project_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, webhook: Webhook) -> "WebhookNode":
        return cls(
            id=strawberry.ID(to_global_id("Webhook", webhook.id)),
            pk=webhook.id,
            url=webhook.url,
            send_payload=webhook.send_payload,
            send_for_all_actions=webhook.send_for_all_actions,
            actions=list(webhook.actions or []),
            headers=webhook.headers or {},
            is_active=webhook.is_active,
            signed=webhook.secret is not None,
            organization_wide=webhook.project_id is None,
            consecutive_failures=webhook.consecutive_failures,
            disabled_reason=webhook.disabled_reason,
            created_at=utc(webhook.created_at),
            updated_at=utc(webhook.updated_at),
            project_pk=webhook.project_id,
        )

    @strawberry.field
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk) if self.project_pk else None

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[WebhookDeliveryNode]:
        page = PageArgs.parse(first, after)
        loaders = info.context.loaders
        nodes, has_next = await loaders.webhook_deliveries_by_webhook_id.load((self.pk, page))
        return make_connection(nodes, has_next, lambda: loaders.webhook_delivery_count_by_webhook_id.load(self.pk))


@strawberry.type(name="WebhookAction", description="An action a webhook can subscribe to (REST GET /api/webhooks/info/).")
class WebhookActionType:
    key: str = strawberry.field(description="The action, e.g. ANNOTATION_CREATED.")
    name: str
    description: str
    payload_key: str = strawberry.field(description="The key of the payload's main object.")
    organization_only: bool = strawberry.field(description="Sent to organization-wide webhooks only.")

    @classmethod
    def from_kind(cls, kind: EventKind) -> "WebhookActionType":
        return cls(key=kind.key, name=kind.name, description=kind.description,
                   payload_key=ACTION_KEYS.get(kind.key, kind.key.lower()), organization_only=kind.organization_only)
