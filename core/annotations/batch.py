"""Batch reads of annotations for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.projects.models import Project


def annotations_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Annotation]:
    if not ids:
        return {}
    rows = session.scalars(
        select(Annotation)
        .join(Project, Project.id == Annotation.project_id)
        .where(Annotation.id.in_(set(ids)), Project.organization_id == org_id)
    )
    return {annotation.id: annotation for annotation in rows}


def annotations_by_task_ids(session: Session, org_id: int, task_ids: Sequence[int]) -> dict[int, list[Annotation]]:
    """Each task's annotations ordered by id (an empty list for unknown or foreign tasks)."""
    grouped: dict[int, list[Annotation]] = defaultdict(list)
    if task_ids:
        rows = session.scalars(
            select(Annotation)
            .join(Project, Project.id == Annotation.project_id)
            .where(Annotation.task_id.in_(set(task_ids)), Project.organization_id == org_id)
            .order_by(Annotation.id)
        )
        for row in rows:
            grouped[row.task_id].append(row)
    return {task_id: grouped.get(task_id, []) for task_id in task_ids}
