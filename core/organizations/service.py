"""Use cases on organizations: settings, invite token, removing members, session policy."""
from __future__ import annotations

import re
import secrets

from sqlalchemy import exists, select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import DomainError, NotFound, PermissionDenied
from core.events import record
from core.events.catalog import INVITE_RESET, MEMBER_REMOVED, ORGANIZATION_UPDATED
from core.organizations.models import Organization, OrganizationMember
from core.organizations.queries import get_my_organization, require_storable_id
from core.timeutil import utcnow
from core.users.models import User
from core.validation import Input

INVITE_PATH = "/user/signup/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CannotRemoveSelf(DomainError):
    status_code = 405
    default_detail = "User cannot soft delete self"


def new_invite_token() -> str:
    return secrets.token_hex(20)


def invite_url(organization: Organization) -> str:
    return f"{INVITE_PATH}?token={organization.token}"


@use_case(policy.ORGANIZATIONS_CHANGE, emits=(ORGANIZATION_UPDATED,))
def update_organization(ctx: Context, org_id: int, data) -> Organization:
    """PATCH an organization the caller belongs to: title, contact_info, invite token.
    Any member may, as in Label Studio's community edition; `created_by` is never writable."""
    organization = get_my_organization(ctx, org_id)
    body = Input(data, partial=True)
    title = body.string("title", allow_null=False, allow_blank=False, max_length=1000)
    contact_info = body.string("contact_info", max_length=254)
    if contact_info and not _EMAIL.match(contact_info.strip()):
        body.error("contact_info", "Enter a valid email address.")
    token = body.string("token", allow_null=False, allow_blank=False, max_length=256)
    if token is not None and ctx.session.scalar(
        select(exists().where(Organization.token == token, Organization.id != organization.id))
    ):
        body.error("token", "organization with this token already exists.")
    body.done()
    if body.has("title"):
        organization.title = title
    if body.has("contact_info"):
        organization.contact_info = contact_info.strip() if contact_info else None
    if body.has("token"):
        organization.token = token
    ctx.session.flush()
    # Any organization of the caller's, not only the active one: the event goes to the one changed.
    record(ctx, ORGANIZATION_UPDATED, ids=[organization.id], organization_id=organization.id)
    return organization


@use_case(policy.ORGANIZATIONS_VIEW)
def get_invite(ctx: Context) -> Organization:
    return get_my_organization(ctx, ctx.org_id)


@use_case(policy.ORGANIZATIONS_INVITE, emits=(INVITE_RESET,))
def reset_invite_token(ctx: Context) -> Organization:
    """A new invite token for the active organization; links with the old one stop working."""
    organization = get_my_organization(ctx, ctx.org_id)
    organization.token = new_invite_token()
    ctx.session.flush()
    record(ctx, INVITE_RESET, ids=[organization.id])
    return organization


@use_case(policy.ORGANIZATIONS_CHANGE, emits=(MEMBER_REMOVED,))
def remove_member(ctx: Context, org_id: int, user_id: int) -> None:
    """Soft-delete a member of the caller's active organization: they can no longer act in it.
    Only the organization's owner may, and nobody can remove themselves."""
    caller = ctx.require_user()
    organization = get_my_organization(ctx, org_id)
    if organization.id != ctx.org_id:
        raise PermissionDenied("You can delete members only for your current active organization")
    require_storable_id(user_id)
    member = ctx.session.scalar(
        select(OrganizationMember).where(
            OrganizationMember.organization_id == organization.id, OrganizationMember.user_id == user_id
        )
    )
    if member is None or member.deleted_at is not None:
        raise NotFound("Member not found")
    if member.user_id == caller.id:
        raise CannotRemoveSelf()
    if organization.created_by_id != caller.id:
        raise PermissionDenied()
    member.deleted_at = utcnow()
    user = ctx.session.get(User, user_id)
    if user.active_organization_id == organization.id:
        # Like Label Studio: they land in another organization of theirs, if any.
        user.active_organization_id = ctx.session.scalar(
            select(OrganizationMember.organization_id)
            .where(OrganizationMember.user_id == user_id, OrganizationMember.deleted_at.is_(None))
            .order_by(OrganizationMember.id)
            .limit(1)
        )
    ctx.session.flush()
    record(ctx, MEMBER_REMOVED, ids=[user_id])


@use_case(policy.ORGANIZATIONS_VIEW)
def get_session_policy(ctx: Context) -> Organization:
    return get_my_organization(ctx, ctx.org_id)


@use_case(policy.ORGANIZATIONS_CHANGE, emits=(ORGANIZATION_UPDATED,))
def update_session_policy(ctx: Context, data) -> Organization:
    """Session lifetimes (minutes) of the active organization; any member may change them,
    as in Label Studio's community edition."""
    organization = get_my_organization(ctx, ctx.org_id)
    body = Input(data, partial=True)
    changes = {
        name: body.integer(name, min_value=1, max_value=2**31 - 1)
        for name in ("max_session_age", "max_time_between_activity")
        if body.has(name)
    }
    body.done()
    for name, value in changes.items():
        setattr(organization, name, value)
    organization.updated_at = utcnow()
    ctx.session.flush()
    record(ctx, ORGANIZATION_UPDATED, ids=[organization.id])
    return organization
