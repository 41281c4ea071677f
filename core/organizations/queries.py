"""Reads of organizations and memberships, limited to the organizations the caller belongs to."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, PermissionDenied
from core.organizations.models import Organization, OrganizationMember
from core.projects.models import Project

# Label Studio caps the project lists of a member at 100.
MEMBER_PROJECTS_LIMIT = 100
# Primary keys are 32-bit integers; a larger id names nothing (and PostgreSQL would reject it).
MAX_ID = 2**31 - 1


def require_storable_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise NotFound()
    return value


def _my_organizations_query(ctx: Context):
    return (
        select(Organization)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == ctx.require_user().id, OrganizationMember.deleted_at.is_(None))
    )


# The caller's own memberships are part of their account: readable without an active organization.
@use_case(policy.ACCOUNT_VIEW)
def list_my_organizations(ctx: Context, ordering: str | None = None) -> list[Organization]:
    """The organizations the caller is a (not deleted) member of."""
    columns = {"id": Organization.id, "title": Organization.title, "created_at": Organization.created_at}
    query = _my_organizations_query(ctx)
    for name in (ordering or "").split(","):
        name = name.strip()
        column = columns.get(name.lstrip("-"))
        if column is not None:
            query = query.order_by(column.desc() if name.startswith("-") else column.asc())
    return list(ctx.session.scalars(query.order_by(Organization.id)))


@use_case(policy.ACCOUNT_VIEW)
def get_my_organization(ctx: Context, org_id: int) -> Organization:
    """An organization the caller belongs to; NotFound for any other."""
    require_storable_id(org_id)
    organization = ctx.session.scalar(_my_organizations_query(ctx).where(Organization.id == org_id))
    if organization is None:
        raise NotFound()
    return organization


def member_user_ids(session: Session, org_id: int) -> list[int]:
    """The organization's current (not removed) members, ascending: Label Studio's `users`."""
    return list(session.scalars(
        select(OrganizationMember.user_id)
        .where(OrganizationMember.organization_id == org_id, OrganizationMember.deleted_at.is_(None))
        .order_by(OrganizationMember.user_id)
    ))


@dataclass
class MemberDetails:
    member: OrganizationMember
    annotations_count: int
    contributed_projects_count: int
    # Only when asked for (?contributed_to_projects=1): [{"id", "title"}, ...].
    created_projects: list[dict] | None = None
    contributed_to_projects: list[dict] | None = None


@use_case(policy.ORGANIZATIONS_VIEW)
def get_member(ctx: Context, org_id: int, user_id: int, with_projects: bool = False) -> MemberDetails:
    """A member (current or removed) of one of the caller's organizations. Like Label Studio,
    only members of the caller's active organization can be looked at."""
    organization = get_my_organization(ctx, org_id)
    require_storable_id(user_id)
    member = ctx.session.scalar(
        select(OrganizationMember).where(
            OrganizationMember.organization_id == organization.id, OrganizationMember.user_id == user_id
        )
    )
    if member is None:
        raise NotFound("No OrganizationMember matches the given query.")
    if organization.id != ctx.org_id:
        raise PermissionDenied()
    in_org = (Annotation.completed_by_id == user_id, Project.organization_id == organization.id)
    annotations_count, projects_count = ctx.session.execute(
        select(func.count(Annotation.id), func.count(distinct(Annotation.project_id)))
        .join(Project, Project.id == Annotation.project_id)
        .where(*in_org)
    ).one()
    details = MemberDetails(member, annotations_count, projects_count)
    if with_projects:
        details.created_projects = [
            {"id": pid, "title": title}
            for pid, title in ctx.session.execute(
                select(Project.id, Project.title)
                .where(Project.created_by_id == user_id, Project.organization_id == organization.id)
                .order_by(Project.id)
                .limit(MEMBER_PROJECTS_LIMIT)
            )
        ]
        details.contributed_to_projects = [
            {"id": pid, "title": title}
            for pid, title in ctx.session.execute(
                select(Project.id, Project.title)
                .where(
                    Project.organization_id == organization.id,
                    Project.id.in_(select(Annotation.project_id).where(Annotation.completed_by_id == user_id)),
                )
                .order_by(Project.id)
                .limit(MEMBER_PROJECTS_LIMIT)
            )
        ]
    return details
