"""Personal access tokens (JWT refresh tokens), access tokens, and the organization's JWT settings.

A refresh token is stored without its signature (header.payload only, as Label Studio does), so
the database never holds a usable credential; the full token is shown once, at creation."""
from __future__ import annotations

import base64
import hmac
import json
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import jwt_tokens, policy
from core.auth.models import RefreshToken
from core.auth.policy import use_case
from core.config import Settings
from core.context import Context
from core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from core.events import Event, record, record_event
from core.events.catalog import ORGANIZATION_UPDATED, TOKEN_CREATED, TOKEN_REVOKED
from core.organizations.models import Organization
from core.timeutil import utcnow
from core.users.models import User
from core.validation import Input

MAX_TTL_DAYS = 200 * 365


def unsigned_part(token: str) -> str:
    """header.payload of a JWT: what is stored and listed."""
    return ".".join(token.split(".")[:2])


def _valid_tokens_query(user_id: int):
    return select(RefreshToken).where(
        RefreshToken.user_id == user_id,
        RefreshToken.blacklisted_at.is_(None),
        RefreshToken.expires_at > utcnow(),
    )


@use_case(policy.ACCOUNT_VIEW)
def list_api_tokens(ctx: Context) -> list[RefreshToken]:
    """The caller's tokens that still work."""
    return list(ctx.session.scalars(_valid_tokens_query(ctx.require_user().id).order_by(RefreshToken.id)))


@use_case(policy.ACCOUNT_CHANGE, emits=(TOKEN_CREATED,))
def create_api_token(ctx: Context) -> tuple[RefreshToken, str]:
    """A new personal access token living the organization's api_token_ttl_days; one at a time.
    Returns the stored row and the full token (shown only now)."""
    user = ctx.require_user()
    if ctx.session.scalar(_valid_tokens_query(user.id).limit(1)) is not None:
        raise Conflict("You already have a valid token. Please revoke it before creating a new one.")
    return _issue_refresh_token(ctx, user)


def _issue_refresh_token(ctx: Context, user: User) -> tuple[RefreshToken, str]:
    ttl_days = ctx.session.scalar(select(Organization.api_token_ttl_days).where(Organization.id == ctx.org_id))
    token, jti, expires_at = jwt_tokens.encode(
        ctx.settings.secret_key, user_id=user.id, token_type="refresh", ttl=timedelta(days=ttl_days)
    )
    row = RefreshToken(jti=jti, user_id=user.id, token=unsigned_part(token), created_at=utcnow(), expires_at=expires_at)
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, TOKEN_CREATED, ids=[row.id])
    return row, token


def _read_refresh(data) -> str:
    body = Input(data)
    refresh = body.string("refresh", required=True, allow_null=False, allow_blank=False)
    body.done()
    return refresh


def _stored_token(session: Session, payload: dict) -> RefreshToken | None:
    return session.scalar(select(RefreshToken).where(RefreshToken.jti == str(payload.get("jti"))))


# Anonymous (no caller, so no use case): holding the refresh token is the proof.
def refresh_access_token(session: Session, settings: Settings, data) -> str:
    """{"refresh": token} -> a short-lived access token for `Authorization: Bearer`."""
    refresh = _read_refresh(data)
    payload = jwt_tokens.decode(settings.secret_key, refresh, expected_type="refresh")
    stored = _stored_token(session, payload)
    if stored is None or stored.user_id != payload.get("user_id"):
        raise AuthenticationFailed("Token is invalid")
    if stored.blacklisted_at is not None:
        raise AuthenticationFailed("Token is blacklisted")
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("User not found")
    access, _, _ = jwt_tokens.encode(
        settings.secret_key,
        user_id=user.id,
        token_type="access",
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    return access


def blacklist_token(session: Session, data) -> None:
    """Revoke a refresh token, given in full or as the header.payload the token list shows.
    Anonymous, as in Label Studio: holding the token is the proof."""
    given = unsigned_part(_read_refresh(data))
    payload = _unverified_payload(given)
    stored = _stored_token(session, payload) if payload else None
    if (
        stored is None
        or not hmac.compare_digest(stored.token.encode(), given.encode())
        or stored.blacklisted_at is not None
        or stored.expires_at <= utcnow()
    ):
        raise NotFound("Token is invalid or already blacklisted.")
    stored.blacklisted_at = utcnow()
    session.flush()
    # The event goes to the token owner's organization (none to tell when they have none).
    organization_id = session.scalar(select(User.active_organization_id).where(User.id == stored.user_id))
    if organization_id is not None:
        record_event(session, Event(TOKEN_REVOKED, organization_id, object_ids=(stored.id,), actor_id=stored.user_id))


def _unverified_payload(unsigned: str) -> dict | None:
    try:
        segment = unsigned.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        return None
    return payload if isinstance(payload, dict) and payload.get("token_type") == "refresh" else None


@use_case(policy.ACCOUNT_CHANGE, emits=(TOKEN_CREATED,))
def rotate_token(ctx: Context, data) -> str:
    """Revoke one of the caller's refresh tokens and issue a new one in its place."""
    user = ctx.require_user()
    refresh = _read_refresh(data)
    try:
        payload = jwt_tokens.decode(ctx.settings.secret_key, refresh, expected_type="refresh")
    except AuthenticationFailed:
        payload = None
    stored = _stored_token(ctx.session, payload) if payload else None
    if stored is None or stored.user_id != user.id or stored.blacklisted_at is not None:
        raise ValidationError("Invalid refresh token")
    stored.blacklisted_at = utcnow()
    _, token = _issue_refresh_token(ctx, user)
    return token


# ---- JWT settings of the active organization ----------------------------------------------


@use_case(policy.ORGANIZATIONS_VIEW)
def get_jwt_settings(ctx: Context) -> Organization:
    return ctx.session.get(Organization, ctx.org_id)


@use_case(policy.ORGANIZATIONS_CHANGE, emits=(ORGANIZATION_UPDATED,))
def update_jwt_settings(ctx: Context, data) -> Organization:
    """Any member may change them, as in Label Studio's community edition."""
    organization = ctx.session.get(Organization, ctx.org_id)
    body = Input(data, partial=True)
    changes = {
        "api_tokens_enabled": body.boolean("api_tokens_enabled"),
        "legacy_api_tokens_enabled": body.boolean("legacy_api_tokens_enabled"),
        "api_token_ttl_days": body.integer("api_token_ttl_days", min_value=1, max_value=MAX_TTL_DAYS),
    }
    body.done()
    for name, value in changes.items():
        if body.has(name):
            setattr(organization, name, value)
    ctx.session.flush()
    record(ctx, ORGANIZATION_UPDATED, ids=[organization.id])
    return organization
