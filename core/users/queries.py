"""Reads of users as the caller's organization sees them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound
from core.organizations.models import Organization, OrganizationMember
from core.organizations.queries import MAX_ID
from core.users.models import User

# Fields `?ordering=` may sort the users list by (a leading "-" sorts descending).
USER_ORDERING_FIELDS = {
    "id": User.id,
    "email": User.email,
    "username": User.username,
    "first_name": User.first_name,
    "last_name": User.last_name,
    "date_joined": User.date_joined,
    "last_activity": User.last_activity,
}


@dataclass
class UserDetails:
    """A user plus what Label Studio's user serializer shows next to them."""

    user: User
    # Soft-deleted from the caller's organization: Label Studio shows them as "Deleted User".
    deleted_in_org: bool = False
    # The user's current (not deleted) memberships.
    memberships: list[OrganizationMember] = field(default_factory=list)
    active_organization_title: str = ""
    active_organization_owner_email: str = ""

    def membership_in(self, org_id: int | None) -> OrganizationMember | None:
        return next((m for m in self.memberships if m.organization_id == org_id), None)


def attach_details(session: Session, users_with_deleted_flag: Sequence[tuple[User, bool]]) -> list[UserDetails]:
    """Two queries for any number of users: their memberships, and their active organizations."""
    details = [UserDetails(user, deleted) for user, deleted in users_with_deleted_flag]
    if not details:
        return details
    by_id = {d.user.id: d for d in details}
    memberships = session.scalars(
        select(OrganizationMember)
        .where(OrganizationMember.user_id.in_(by_id), OrganizationMember.deleted_at.is_(None))
        .order_by(OrganizationMember.id)
    )
    for member in memberships:
        by_id[member.user_id].memberships.append(member)
    active_org_ids = {d.user.active_organization_id for d in details if d.user.active_organization_id is not None}
    if active_org_ids:
        owner = aliased(User)
        rows = session.execute(
            select(Organization.id, Organization.title, owner.email)
            .outerjoin(owner, owner.id == Organization.created_by_id)
            .where(Organization.id.in_(active_org_ids))
        )
        meta = {org_id: (title, email or "") for org_id, title, email in rows}
        for d in details:
            d.active_organization_title, d.active_organization_owner_email = meta.get(d.user.active_organization_id, ("", ""))
    return details


def _org_users_query(org_id: int):
    return (
        select(User, OrganizationMember.deleted_at.is_not(None))
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == org_id)
    )


@use_case(policy.ORGANIZATIONS_VIEW)
def list_org_users(ctx: Context, ordering: str | None = None) -> list[UserDetails]:
    """Everyone who is or was a member of the caller's organization (Label Studio lists
    soft-deleted members too, masked)."""
    query = _org_users_query(ctx.org_id)
    for name in (ordering or "").split(","):
        name = name.strip()
        column = USER_ORDERING_FIELDS.get(name.lstrip("-"))
        if column is not None:
            query = query.order_by(column.desc() if name.startswith("-") else column.asc())
    query = query.order_by(User.id)
    return attach_details(ctx.session, ctx.session.execute(query).tuples().all())


@use_case(policy.ORGANIZATIONS_VIEW)
def get_org_user(ctx: Context, user_id: int) -> tuple[User, bool]:
    """(user, soft-deleted from the organization) for a user of the caller's organization; NotFound otherwise."""
    row = None
    if 0 < user_id <= MAX_ID:
        row = ctx.session.execute(_org_users_query(ctx.org_id).where(User.id == user_id)).tuples().first()
    if row is None:
        raise NotFound("No User matches the given query.")
    return row


@use_case(policy.ORGANIZATIONS_VIEW)
def get_user_details(ctx: Context, user_id: int) -> UserDetails:
    return attach_details(ctx.session, [get_org_user(ctx, user_id)])[0]


@use_case(policy.ACCOUNT_VIEW)
def current_user_details(ctx: Context) -> UserDetails:
    return attach_details(ctx.session, [(ctx.require_user(), False)])[0]
