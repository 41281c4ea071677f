"""Reads of tasks, always scoped to the caller's organization."""
from __future__ import annotations

from sqlalchemy import select

from core.context import Context
from core.errors import NotFound
from core.projects.models import Project
from core.tasks.models import Task


def get_task(ctx: Context, task_id: int) -> Task:
    """The task, if it belongs to a project of the caller's organization; NotFound otherwise."""
    task = ctx.session.execute(
        select(Task).join(Project, Project.id == Task.project_id).where(Task.id == task_id, Project.organization_id == ctx.org_id)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound()
    return task
