"""Batch reads of users for GraphQL DataLoaders, scoped to one organization.

A user is visible to an organization when they are or were its member: annotations keep
pointing at people who left, and their names must still show."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.organizations.models import OrganizationMember
from core.users.models import User


def users_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    members = select(OrganizationMember.user_id).where(OrganizationMember.organization_id == org_id)
    rows = session.scalars(select(User).where(User.id.in_(set(ids)), User.id.in_(members)))
    return {user.id: user for user in rows}


def members_page(session: Session, org_id: int, first: int, after_id: int | None) -> tuple[list[User], bool]:
    """Keyset page of the organization's current members ordered by id: (up to `first` users, has_next)."""
    query = (
        select(User)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == org_id, OrganizationMember.deleted_at.is_(None))
        .order_by(User.id)
        .limit(first + 1)
    )
    if after_id is not None:
        query = query.where(User.id > after_id)
    rows = list(session.scalars(query))
    return rows[:first], len(rows) > first


def member_count(session: Session, org_id: int) -> int:
    return session.scalar(
        select(func.count(OrganizationMember.id)).where(
            OrganizationMember.organization_id == org_id, OrganizationMember.deleted_at.is_(None)
        )
    ) or 0
