"""Webhook use cases: create, update (PATCH / PUT), delete; and the system webhooks Labelgraph
creates itself (ML backends).

Choices where Label Studio Community and Enterprise differ:
- Organization-wide webhooks (no `project`) are supported, as in Enterprise (Community answers
  404 for them): they receive every project's events, and they alone receive the
  organization-only actions (PROJECT_CREATED, PROJECT_DELETED).
- Signing (Labelgraph's extension, Standard Webhooks): `"signed": true` on create or update
  generates a secret ("whsec_" + base64 of 24 random bytes), or `"secret": "whsec_..."` sets a
  chosen one; `"signed": false` removes it. The secret is answered once, in the response of the
  request that set it (REST and GraphQL), never by reads, like an API token.
- As in Label Studio, a PATCH without `actions` clears them, and `project` cannot be changed."""
from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.events import record
from core.events.catalog import KINDS, WEBHOOK_ACTIONS, WEBHOOKS_CREATED, WEBHOOKS_DELETED, WEBHOOKS_UPDATED
from core.net.outgoing import OutgoingUrlRefused, check_url
from core.projects.models import Project
from core.tasks.queries import is_valid_id
from core.timeutil import utcnow
from core.validation import Input
from core.webhooks.models import Webhook, WebhookDelivery
from core.webhooks.queries import get_webhook

URL_MAX_LENGTH = 2048
# Label Studio's HEADERS_SCHEMA: at most 10 headers, names of letters, digits, '-' and '_', string values.
MAX_HEADERS = 10
_HEADER_NAME = re.compile(r"^[a-zA-Z0-9\-_]+$")
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
_ACTION_ORDER = {kind.key: index for index, kind in enumerate(WEBHOOK_ACTIONS)}


@dataclass
class SavedWebhook:
    webhook: Webhook
    # The signing secret set by this request, to show once; None when it did not set one.
    new_secret: str | None = None


def generate_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a "whsec_..." secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@use_case(policy.WEBHOOKS_CHANGE, emits=(WEBHOOKS_CREATED,))
def create_webhook(ctx: Context, data: Any) -> SavedWebhook:
    """POST /api/webhooks/."""
    user = ctx.require_user()
    inp = Input(data)
    project_id = _read_project(ctx, inp)
    values = _read_fields(ctx, inp, partial=False)
    new_secret = _read_secret(inp, current=None)
    _check_actions_for(inp, project_id, values.get("actions", []))
    inp.done()
    defaults = {"headers": {}, "actions": [], "send_payload": True, "send_for_all_actions": True, "is_active": True}
    webhook = Webhook(organization_id=ctx.org_id, project_id=project_id, created_by_id=user.id, **{**defaults, **values})
    if new_secret is not None:
        webhook.secret = new_secret or None
    ctx.session.add(webhook)
    ctx.session.flush()
    record(ctx, WEBHOOKS_CREATED, project_id=project_id, ids=[webhook.id])
    return SavedWebhook(webhook, webhook.secret if new_secret else None)


@use_case(policy.WEBHOOKS_CHANGE, emits=(WEBHOOKS_UPDATED,))
def update_webhook(ctx: Context, webhook_id: int, data: Any, *, partial: bool = True,
                   clear_omitted_actions: bool = True) -> SavedWebhook:
    """PATCH (partial) or PUT /api/webhooks/{id}/. `project` is read-only; as Label Studio does,
    leaving `actions` out clears them (GraphQL keeps them: `clear_omitted_actions=False`)."""
    webhook = get_webhook(ctx, webhook_id)
    inp = Input(data, partial=partial)
    values = _read_fields(ctx, inp, partial=partial)
    if clear_omitted_actions:
        values.setdefault("actions", [])
    new_secret = _read_secret(inp, current=webhook.secret)
    _check_actions_for(inp, webhook.project_id, values.get("actions", webhook.actions or []))
    inp.done()
    for name, value in values.items():
        setattr(webhook, name, value)
    if new_secret is not None:
        webhook.secret = new_secret or None
    if values.get("is_active"):
        # Enabled again by a user: the failure streak and the automatic reason are over.
        webhook.consecutive_failures, webhook.disabled_reason = 0, None
    webhook.updated_at = utcnow()
    ctx.session.flush()
    record(ctx, WEBHOOKS_UPDATED, project_id=webhook.project_id, ids=[webhook.id])
    return SavedWebhook(webhook, webhook.secret if new_secret else None)


@use_case(policy.WEBHOOKS_CHANGE, emits=(WEBHOOKS_DELETED,))
def delete_webhook(ctx: Context, webhook_id: int) -> None:
    """DELETE /api/webhooks/{id}/: the webhook and its delivery log (undelivered messages are dropped)."""
    webhook = get_webhook(ctx, webhook_id)
    project_id = webhook.project_id
    ctx.session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id),
                        execution_options={"synchronize_session": False})
    ctx.session.delete(webhook)
    ctx.session.flush()
    record(ctx, WEBHOOKS_DELETED, project_id=project_id, ids=[webhook_id])


def add_system_webhook(session: Session, *, organization_id: int, project_id: int | None, url: str,
                       created_by_id: int | None = None) -> Webhook:
    """A webhook created by Labelgraph itself for every action (e.g. `<ML backend>/webhook` when a
    backend is connected), in the caller's transaction. The caller has checked its permissions."""
    webhook = Webhook(organization_id=organization_id, project_id=project_id, url=url, send_payload=True,
                      send_for_all_actions=True, headers={}, is_active=True, actions=[], created_by_id=created_by_id)
    session.add(webhook)
    session.flush()
    return webhook


def _read_project(ctx: Context, inp: Input) -> int | None:
    """The webhook's project: one of the caller's organization, or none (organization-wide)."""
    if not inp.has("project"):
        return None
    value = inp.data["project"]
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        inp.error("project", f"Incorrect type. Expected pk value, received {type(value).__name__}.")
        return None
    found = is_valid_id(value) and ctx.session.scalar(
        select(Project.id).where(Project.id == value, Project.organization_id == ctx.org_id))
    if not found:
        # Another organization's project reads as one that does not exist.
        inp.error("project", f'Invalid pk "{value}" - object does not exist.')
        return None
    return value


def _read_fields(ctx: Context, inp: Input, *, partial: bool) -> dict[str, Any]:
    """The writable fields present in the body (all required ones unless `partial`)."""
    values: dict[str, Any] = {}
    url = inp.string("url", required=True, allow_null=False, allow_blank=False, max_length=URL_MAX_LENGTH)
    if inp.has("url") and url is not None and "url" not in inp.errors:
        values["url"] = _checked_url(ctx, inp, url.strip())
    for name in ("send_payload", "send_for_all_actions", "is_active"):
        value = inp.boolean(name)
        if inp.has(name) and value is not None:
            values[name] = value
    if inp.has("headers"):
        values["headers"] = _read_headers(inp)
    if inp.has("actions"):
        values["actions"] = _read_actions(inp)
    return values


def _checked_url(ctx: Context, inp: Input, url: str) -> str:
    if not re.match(r"^https?://[^/\s?#]+", url, re.IGNORECASE) or any(c.isspace() for c in url):
        inp.error("url", "Enter a valid URL.")
        return url
    try:
        check_url(ctx.settings, url)
    except OutgoingUrlRefused as refused:
        inp.error("url", str(refused))
    return url


def _read_headers(inp: Input) -> dict[str, str]:
    headers = inp.data["headers"]
    if headers is None:
        inp.error("headers", "This field may not be null.")
        return {}
    if not isinstance(headers, dict):
        inp.error("headers", "Headers must be a JSON object of header names to string values.")
        return {}
    if len(headers) > MAX_HEADERS:
        inp.error("headers", f"At most {MAX_HEADERS} headers are allowed.")
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            inp.error("headers", f"{name!r} is not a valid header name (letters, digits, '-' and '_').")
        elif not isinstance(value, str):
            inp.error("headers", f"The value of header {name!r} must be a string.")
    return headers


def _read_actions(inp: Input) -> list[str]:
    actions = inp.list_("actions", allow_null=False) or []
    valid = []
    for action in actions:
        if isinstance(action, str) and action in _ACTION_ORDER:
            valid.append(action)
        else:
            inp.error("actions", f'"{action}" is not a valid choice.')
    return sorted(set(valid), key=_ACTION_ORDER.__getitem__)


def _check_actions_for(inp: Input, project_id: int | None, actions: list[str]) -> None:
    if project_id is not None and any(KINDS[action].organization_only for action in actions):
        inp.error("non_field_errors", "Project webhook can't contain organization-only action.")


def _read_secret(inp: Input, *, current: str | None) -> str | None:
    """The signing secret to store: a new one, "" to remove it, or None to leave it as it is."""
    if inp.has("secret") and inp.data["secret"] is not None:
        secret = inp.data["secret"]
        if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
            inp.error("secret", f'A secret is "{SECRET_PREFIX}" followed by base64.')
            return None
        try:
            key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not 24 <= len(key) <= 64:
            inp.error("secret", f'A secret is "{SECRET_PREFIX}" followed by the base64 of 24 to 64 bytes.')
            return None
        return secret
    if inp.has("signed"):
        signed = inp.boolean("signed")
        if signed is True and current is None:
            return generate_secret()
        if signed is False:
            return ""
    return None
