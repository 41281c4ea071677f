"""Use cases on users: create, update, delete, hotkeys, the legacy API token."""
from __future__ import annotations

import re

from sqlalchemy import delete, exists, func, select

from core.auth import policy
from core.auth.models import LegacyToken
from core.auth.passwords import hash_password
from core.auth.policy import require, use_case
from core.context import Context
from core.errors import DomainError, PermissionDenied, ValidationError
from core.events import record
from core.events.catalog import LEGACY_TOKEN_RESET, USER_CREATED, USER_DELETED, USER_UPDATED
from core.organizations.models import Organization, OrganizationMember
from core.organizations.queries import MAX_ID
from core.users.bootstrap import add_member, new_legacy_token_key
from core.users.models import User
from core.users.queries import get_org_user
from core.validation import Input

MAX_NAME_LENGTH = 256
MIN_PASSWORD_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ReadOnlyField(DomainError):
    """Label Studio answers 405 when a PATCH touches a read-only field."""

    status_code = 405


def _is_org_owner(ctx: Context) -> bool:
    return ctx.session.scalar(
        select(exists().where(Organization.id == ctx.org_id, Organization.created_by_id == ctx.require_user().id))
    )


def normalize_email(email: str) -> str:
    """Like Django: the domain part is case-insensitive, the local part is kept."""
    local, at, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if at else email.strip()


def _read_profile(body: Input) -> dict:
    """The profile fields both create and update accept, validated into a dict of changes."""
    changes = {}
    for name in ("first_name", "last_name", "phone"):
        if body.has(name):
            changes[name] = body.string(name, allow_null=False, max_length=MAX_NAME_LENGTH)
    if body.has("username"):
        changes["username"] = body.string("username", allow_null=False, allow_blank=False, max_length=MAX_NAME_LENGTH)
    if body.has("allow_newsletters"):
        changes["allow_newsletters"] = body.boolean("allow_newsletters", allow_null=True)
    if body.has("custom_hotkeys"):
        changes["custom_hotkeys"] = body.data["custom_hotkeys"]
    return changes


@use_case(policy.USERS_CREATE, emits=(USER_CREATED,))
def create_user(ctx: Context, data) -> User:
    """A new user in the caller's organization (Label Studio: POST /api/users/). They get a
    legacy API token and no password."""
    org_id = ctx.org_id
    body = Input(data)
    body.string("username", required=True, allow_null=False, allow_blank=False, max_length=MAX_NAME_LENGTH)
    changes = _read_profile(body)
    email = body.string("email", default="", allow_null=False, max_length=254)
    if email:
        email = normalize_email(email)
        if not _EMAIL.match(email):
            body.error("email", "Enter a valid email address.")
    # Case-insensitive: addresses that differ only in case reach the same person.
    if "email" not in body.errors and ctx.session.scalar(select(exists().where(func.lower(User.email) == email.lower()))):
        body.error("email", "user with this email address already exists.")
    body.done()
    user = User(email=email, **changes)
    ctx.session.add(user)
    ctx.session.flush()
    add_member(ctx.session, ctx.session.get(Organization, org_id), user)
    user.active_organization_id = org_id
    ctx.session.add(LegacyToken(key=new_legacy_token_key(), user_id=user.id))
    ctx.session.flush()
    record(ctx, USER_CREATED, ids=[user.id])
    return user


@use_case(policy.ACCOUNT_CHANGE, emits=(USER_UPDATED,))
def update_user(ctx: Context, user_id: int, data) -> User:
    """PATCH a user of the caller's organization: oneself, or anyone when one owns the organization."""
    caller = ctx.require_user()
    user, _ = get_org_user(ctx, user_id)
    if user.id != caller.id:
        if not _is_org_owner(ctx):
            raise PermissionDenied("You can only update your own profile.")
        require(ctx, policy.USERS_CHANGE)
    body = Input(data, partial=True)
    if body.has("email"):
        raise ReadOnlyField("Cannot update read-only field: email")
    changes = _read_profile(body)
    if body.has("active_organization"):
        org_id = body.integer("active_organization", allow_null=True, max_value=MAX_ID)
        if org_id is not None and org_id <= MAX_ID and (org_id <= 0 or not _is_member(ctx, user.id, org_id)):
            body.error("active_organization", f'Invalid pk "{org_id}" - object does not exist.')
        changes["active_organization_id"] = org_id
    if body.has("password"):
        if user.id != caller.id:
            body.error("password", "You can only change your own password.")
        password = body.string("password", allow_null=False)
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            body.error("password", f"This password is too short. It must contain at least {MIN_PASSWORD_LENGTH} characters.")
        elif password is not None:
            changes["password_hash"] = hash_password(password)
    body.done()
    for name, value in changes.items():
        setattr(user, name, value)
    ctx.session.flush()
    record(ctx, USER_UPDATED, ids=[user.id])
    return user


def _is_member(ctx: Context, user_id: int, org_id: int) -> bool:
    return ctx.session.scalar(
        select(
            exists().where(
                OrganizationMember.user_id == user_id,
                OrganizationMember.organization_id == org_id,
                OrganizationMember.deleted_at.is_(None),
            )
        )
    )


@use_case(policy.USERS_CHANGE, emits=(USER_DELETED,))
def delete_user(ctx: Context, user_id: int) -> None:
    """Hard-delete a user of the caller's organization. Only the organization's owner may, and
    nobody who owns an organization can be deleted (that would orphan it)."""
    user, _ = get_org_user(ctx, user_id)
    if ctx.session.scalar(select(exists().where(Organization.created_by_id == user.id))):
        raise PermissionDenied("The organization owner cannot be deleted")
    if not _is_org_owner(ctx):
        raise PermissionDenied("Only the organization owner can delete users")
    ctx.session.execute(delete(User).where(User.id == user.id))
    ctx.session.expunge(user)
    record(ctx, USER_DELETED, ids=[user.id], data={"email": user.email})


# Label Studio's community edition grants every member every permission.
ALL_PERMISSIONS = [
    "organizations.create", "organizations.view", "organizations.change", "organizations.delete",
    "organizations.invite", "projects.create", "projects.view", "projects.change", "projects.delete",
    "projects.reset_cache", "tasks.create", "tasks.view", "tasks.change", "tasks.delete", "views.reset",
    "annotations.create", "annotations.view", "annotations.change", "annotations.delete",
    "actions.perform", "predictions.any", "avatar.any", "labels.create", "labels.view", "labels.change",
    "labels.delete", "models.create", "models.view", "models.change", "models.delete",
    "model_provider_connection.create", "model_provider_connection.view",
    "model_provider_connection.change", "model_provider_connection.delete", "webhooks.view",
    "webhooks.change", "users.token.any", "storages.view", "storages.change", "storages.sync",
    "views.view", "views.create", "views.change", "views.delete",
]


# ---- hotkeys -------------------------------------------------------------------------------

MAX_HOTKEYS = 200
# System shortcuts a page must never claim.
FORBIDDEN_KEY_COMBINATIONS = {
    "ctrl+alt+delete", "cmd+alt+escape", "alt+f4", "ctrl+alt+esc", "cmd+option+esc",
    "ctrl+shift+esc", "cmd+shift+q", "alt+tab", "cmd+tab", "ctrl+alt+t", "cmd+space",
}
_KEY_CHARACTERS = re.compile(r"^[a-zA-Z0-9+\-\s\[\]\\;'\".,/`~!@#$%^&*()_={}|:<>?]+$")
_MODIFIERS = {"ctrl", "cmd", "command", "alt", "option", "shift", "meta"}


@use_case(policy.ACCOUNT_VIEW)
def get_hotkeys(ctx: Context) -> dict:
    """The caller's hotkeys; stored data that no longer validates reads as none (as Label Studio does)."""
    hotkeys = ctx.require_user().custom_hotkeys or {}
    return hotkeys if _hotkey_error(hotkeys) is None else {}


@use_case(policy.ACCOUNT_CHANGE, emits=(USER_UPDATED,))
def update_hotkeys(ctx: Context, data) -> dict:
    user = ctx.require_user()
    body = Input(data)
    hotkeys = body.dict_("custom_hotkeys", required=True, allow_null=False)
    body.done()
    problem = _hotkey_error(hotkeys)
    if problem:
        raise ValidationError({"custom_hotkeys": [problem]})
    user.custom_hotkeys = hotkeys
    ctx.session.flush()
    _record_account_event(ctx, USER_UPDATED)
    return hotkeys


def _hotkey_error(hotkeys) -> str | None:
    """The first problem with a {"section:action": {"key": "...", "active": bool}} map, or None."""
    if not isinstance(hotkeys, dict):
        return "custom_hotkeys must be a dictionary"
    if len(hotkeys) > MAX_HOTKEYS:
        return f"Cannot define more than {MAX_HOTKEYS} custom hotkeys"
    for action_key, hotkey in hotkeys.items():
        if not action_key:
            return f"Action key '{action_key}' must be a non-empty string"
        if len(action_key) > 100:
            return f"Action key '{action_key}' is too long (max 100 characters)"
        section, colon, action = action_key.partition(":")
        if not colon:
            return f"Action key '{action_key}' must be in 'section:action' format"
        if not section.strip() or not action.strip():
            return f"Action key '{action_key}' must have non-empty section and action parts"
        if not isinstance(hotkey, dict):
            return f"Hotkey data for '{action_key}' must be a dictionary"
        if "key" not in hotkey:
            return f"Missing 'key' in hotkey data for '{action_key}'"
        combo = hotkey["key"]
        if not isinstance(combo, str) or not combo:
            return f"Key combination for '{action_key}' must be a non-empty string"
        if len(combo) > 50:
            return f"Key combination for '{action_key}' is too long (max 50 characters)"
        if combo.lower().strip() in FORBIDDEN_KEY_COMBINATIONS:
            return f"Key combination '{combo}' is not allowed for security reasons"
        if "active" in hotkey and not isinstance(hotkey["active"], bool):
            return f"Active flag for '{action_key}' must be a boolean"
        if not _KEY_CHARACTERS.match(combo):
            return f"Key combination '{combo}' for '{action_key}' contains invalid characters"
        for part in (p.strip() for p in combo.split("+")[:-1]):
            if part.lower() not in _MODIFIERS and len(part) > 20:
                return f"Invalid modifier or key '{part}' in key combination '{combo}'"
    return None


# ---- legacy API token ----------------------------------------------------------------------


@use_case(policy.ACCOUNT_VIEW)
def get_legacy_token(ctx: Context) -> str:
    user = ctx.require_user()
    key = ctx.session.scalar(select(LegacyToken.key).where(LegacyToken.user_id == user.id))
    if key is None:
        # Users created outside Label Studio's flow may lack one; it always exists there.
        key = new_legacy_token_key()
        ctx.session.add(LegacyToken(key=key, user_id=user.id))
        ctx.session.flush()
    return key


@use_case(policy.ACCOUNT_CHANGE, emits=(LEGACY_TOKEN_RESET,))
def reset_legacy_token(ctx: Context) -> str:
    """Replace the caller's legacy token; the old one stops working at once."""
    user = ctx.require_user()
    ctx.session.execute(delete(LegacyToken).where(LegacyToken.user_id == user.id))
    key = new_legacy_token_key()
    ctx.session.add(LegacyToken(key=key, user_id=user.id))
    ctx.session.flush()
    _record_account_event(ctx, LEGACY_TOKEN_RESET)
    return key


def _record_account_event(ctx: Context, kind: str) -> None:
    """Events belong to an organization; a caller without an active one (removed from all of
    them) may still manage their own account, with nobody to tell."""
    if ctx.organization_id is not None:
        record(ctx, kind, ids=[ctx.require_user().id])
