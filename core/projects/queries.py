"""Reads of projects: org-scoped lookups and the counters Label Studio shows on a project."""
from __future__ import annotations

from sqlalchemy import select

from core.context import Context
from core.errors import NotFound
from core.projects.models import Project


def get_project(ctx: Context, project_id: int) -> Project:
    """The project with this id in the caller's organization; NotFound for any other."""
    project = ctx.session.scalar(
        select(Project).where(Project.id == project_id, Project.organization_id == ctx.org_id)
    )
    if project is None:
        raise NotFound()
    return project
