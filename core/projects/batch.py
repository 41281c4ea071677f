"""Batch reads of projects for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.projects.models import Project


def projects_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Project]:
    """The organization's projects among `ids`; ids of other organizations are absent."""
    if not ids:
        return {}
    rows = session.scalars(select(Project).where(Project.id.in_(set(ids)), Project.organization_id == org_id))
    return {project.id: project for project in rows}


def projects_page(session: Session, org_id: int, first: int, after_id: int | None) -> tuple[list[Project], bool]:
    """Keyset page of the organization's projects ordered by id: (up to `first` projects, has_next)."""
    query = select(Project).where(Project.organization_id == org_id).order_by(Project.id).limit(first + 1)
    if after_id is not None:
        query = query.where(Project.id > after_id)
    rows = list(session.scalars(query))
    return rows[:first], len(rows) > first


def project_count(session: Session, org_id: int) -> int:
    return session.scalar(select(func.count(Project.id)).where(Project.organization_id == org_id)) or 0
