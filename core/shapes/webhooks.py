"""Webhook -> Label Studio JSON (WebhookSerializer), the action catalog of /api/webhooks/info/,
and the bodies webhooks receive (Label Studio's serializers_for_hooks: the REST shapes of the
same objects, rendered by core.webhooks.payloads from bulk reads)."""
from __future__ import annotations

from typing import Iterable

from core.events.catalog import EventKind
from core.timeutil import isoformat
from core.webhooks.models import Webhook

# Label Studio's payload key of each action (WebhookAction.ACTIONS[...]["key"]).
ACTION_KEYS = {
    "PROJECT_CREATED": "project",
    "PROJECT_UPDATED": "project",
    "PROJECT_DELETED": "project",
    "TASKS_CREATED": "tasks",
    "TASKS_DELETED": "tasks",
    "ANNOTATION_CREATED": "annotation",
    "ANNOTATIONS_CREATED": "annotation",
    "ANNOTATION_UPDATED": "annotation",
    "ANNOTATIONS_DELETED": "annotations",
    "LABEL_LINK_CREATED": "label_link",
    "LABEL_LINK_UPDATED": "label_link",
    "LABEL_LINK_DELETED": "label_link",
    "REVIEW_CREATED": "review",
    "REVIEW_UPDATED": "review",
    "REVIEWS_DELETED": "review",
}


def webhook_json(webhook: Webhook, *, secret: str | None = None) -> dict:
    """WebhookSerializer's fields, in its order. `secret` (Labelgraph's signing secret) is added
    only when given: on the answer that created it, the one time it is shown."""
    body = {
        "id": webhook.id,
        "organization": webhook.organization_id,
        "project": webhook.project_id,
        "url": webhook.url,
        "send_payload": webhook.send_payload,
        "send_for_all_actions": webhook.send_for_all_actions,
        "headers": webhook.headers if webhook.headers is not None else {},
        "is_active": webhook.is_active,
        "actions": list(webhook.actions or []),
        "created_at": isoformat(webhook.created_at),
        "updated_at": isoformat(webhook.updated_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def webhook_action_info(kind: EventKind) -> dict:
    return {
        "name": kind.name,
        "description": kind.description,
        "key": ACTION_KEYS.get(kind.key, kind.key.lower()),
        "organization-only": kind.organization_only,
    }


def webhook_actions_info(kinds: Iterable[EventKind]) -> dict:
    """GET /api/webhooks/info/: {ACTION: {name, description, key, organization-only}}."""
    return {kind.key: webhook_action_info(kind) for kind in kinds}


def only_ids(ids: Iterable[int]) -> list[dict]:
    """OnlyIDWebhookSerializer: what is left of deleted objects."""
    return [{"id": object_id} for object_id in ids]
