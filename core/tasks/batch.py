"""Batch reads of tasks for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.projects.models import Project
from core.tasks.models import Task


def tasks_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Task]:
    """The organization's tasks among `ids`; tasks of other organizations are absent."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Task).join(Project, Project.id == Task.project_id).where(Task.id.in_(set(ids)), Project.organization_id == org_id)
    )
    return {task.id: task for task in rows}


def task_pages_by_project_ids(
    session: Session, org_id: int, project_ids: Sequence[int], first: int, after_id: int | None
) -> dict[int, tuple[list[Task], bool]]:
    """For each project, a keyset page of its tasks ordered by id: (up to `first` tasks, has_next).

    One statement for all projects: ROW_NUMBER() per project keeps `first + 1` rows each
    (the extra row only tells whether a next page exists)."""
    if not project_ids:
        return {}
    position = func.row_number().over(partition_by=Task.project_id, order_by=Task.id).label("position")
    ranked = (
        select(Task.id.label("task_id"), position)
        .join(Project, Project.id == Task.project_id)
        .where(Task.project_id.in_(set(project_ids)), Project.organization_id == org_id)
    )
    if after_id is not None:
        ranked = ranked.where(Task.id > after_id)
    ranked = ranked.subquery()
    task = aliased(Task)
    rows = session.scalars(
        select(task).join(ranked, ranked.c.task_id == task.id).where(ranked.c.position <= first + 1).order_by(task.project_id, task.id)
    )
    grouped: dict[int, list[Task]] = defaultdict(list)
    for row in rows:
        grouped[row.project_id].append(row)
    return {pid: (grouped[pid][:first], len(grouped[pid]) > first) for pid in project_ids}


def task_counts_by_project_ids(session: Session, org_id: int, project_ids: Sequence[int]) -> dict[int, int]:
    """Number of tasks of each project (0 for projects without tasks or outside the organization)."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Task.project_id, func.count(Task.id))
        .join(Project, Project.id == Task.project_id)
        .where(Task.project_id.in_(set(project_ids)), Project.organization_id == org_id)
        .group_by(Task.project_id)
    )
    counts = {project_id: count for project_id, count in rows}
    return {pid: counts.get(pid, 0) for pid in project_ids}
