"""Webhooks: /api/webhooks/, /api/webhooks/info/, /api/webhooks/{id}/, and Labelgraph's
delivery log /api/webhooks/{id}/deliveries/."""
from __future__ import annotations

from core.errors import ValidationError
from core.organizations.queries import MAX_ID
from core.timeutil import isoformat
from core.webhooks import queries, service
from core.webhooks.queries import ORGANIZATION_WIDE, DeliveryLogEntry
from core.shapes.webhooks import webhook_actions_info, webhook_json
from rest_compat.endpoints.annotations import path_id
from rest_compat.http import ApiRequest, api, api_route

_INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
MAX_LOG_PAGE = 1000


def _project_filter(req: ApiRequest) -> int | str | None:
    raw = req.query.get("project")
    if raw in (None, ""):
        return None
    if raw == ORGANIZATION_WIDE:
        return ORGANIZATION_WIDE
    try:
        project_id = int(raw)
    except ValueError:
        raise ValidationError({"project": [_INVALID_CHOICE]}) from None
    if not 0 < project_id <= MAX_ID:  # no such project (and beyond what the database takes)
        raise ValidationError({"project": [_INVALID_CHOICE]})
    return project_id


def list_webhooks(req: ApiRequest) -> list[dict]:
    """List the organization's webhooks (`?project=<id>`, or `?project=isnull` for organization-wide ones)."""
    return [webhook_json(webhook) for webhook in queries.list_webhooks(req.ctx, _project_filter(req))]


def create_webhook(req: ApiRequest) -> dict:
    """Create a webhook. Without `project` it is organization-wide. `"signed": true` (or a
    `"secret": "whsec_..."`) signs deliveries; the secret is in this answer only."""
    saved = service.create_webhook(req.ctx, req.json(default={}))
    return webhook_json(saved.webhook, secret=saved.new_secret)


def webhook_info(req: ApiRequest) -> dict:
    """The actions a webhook can subscribe to (`?organization-only=true|false` filters them)."""
    raw = req.query.get("organization-only")
    return webhook_actions_info(queries.webhook_actions(None if raw is None else raw == "true"))


def get_webhook(req: ApiRequest) -> dict:
    return webhook_json(queries.get_webhook(req.ctx, path_id(req)))


def update_webhook(req: ApiRequest) -> dict:
    """Update a webhook; `actions` left out are cleared (as Label Studio does), `project` stays."""
    saved = service.update_webhook(req.ctx, path_id(req), req.json(default={}))
    return webhook_json(saved.webhook, secret=saved.new_secret)


def replace_webhook(req: ApiRequest) -> dict:
    saved = service.update_webhook(req.ctx, path_id(req), req.json(default={}), partial=False)
    return webhook_json(saved.webhook, secret=saved.new_secret)


def delete_webhook(req: ApiRequest) -> None:
    service.delete_webhook(req.ctx, path_id(req))


def _log_entry_json(entry: DeliveryLogEntry) -> dict:
    return {
        "id": entry.id,
        "webhook_id": f"msg_{entry.id}",
        "action": entry.action,
        "status": entry.status,
        "attempts": entry.attempts,
        "response_status": entry.response_status,
        "latency_ms": entry.latency_ms,
        "last_error": entry.last_error,
        "created_at": isoformat(entry.created_at),
        "last_attempt_at": isoformat(entry.last_attempt_at),
        "next_attempt_at": isoformat(entry.next_attempt_at),
        "delivered_at": isoformat(entry.delivered_at),
    }


def list_deliveries(req: ApiRequest) -> list[dict]:
    """Labelgraph: the webhook's delivery log, newest first (`?limit=`, default 100; `?before=<id>`)."""
    limit = req.int_param("limit")
    before = req.int_param("before")
    if limit is not None and not 0 < limit <= MAX_LOG_PAGE:
        raise ValidationError({"limit": [f"Ensure this value is between 1 and {MAX_LOG_PAGE}."]})
    entries, _ = queries.list_deliveries(req.ctx, path_id(req), first=limit or 100, after_id=before)
    return [_log_entry_json(entry) for entry in entries]


routes = [
    *api_route("/api/webhooks/", {"GET": api(list_webhooks), "POST": api(create_webhook, status=201)}),
    # Public in Label Studio (AllowAny): the catalog of actions.
    *api_route("/api/webhooks/info/", {"GET": api(webhook_info, auth=False)}),
    *api_route(
        "/api/webhooks/{id:int}/",
        {"GET": api(get_webhook), "PATCH": api(update_webhook), "PUT": api(replace_webhook), "DELETE": api(delete_webhook)},
    ),
    *api_route("/api/webhooks/{id:int}/deliveries/", {"GET": api(list_deliveries)}),
]
