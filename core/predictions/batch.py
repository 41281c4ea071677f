"""Batch reads of predictions for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.predictions.models import Prediction
from core.projects.models import Project


def predictions_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Prediction]:
    if not ids:
        return {}
    rows = session.scalars(
        select(Prediction)
        .join(Project, Project.id == Prediction.project_id)
        .where(Prediction.id.in_(set(ids)), Project.organization_id == org_id)
    )
    return {prediction.id: prediction for prediction in rows}


def predictions_by_task_ids(session: Session, org_id: int, task_ids: Sequence[int]) -> dict[int, list[Prediction]]:
    """Each task's predictions ordered by id (an empty list for unknown or foreign tasks)."""
    grouped: dict[int, list[Prediction]] = defaultdict(list)
    if task_ids:
        rows = session.scalars(
            select(Prediction)
            .join(Project, Project.id == Prediction.project_id)
            .where(Prediction.task_id.in_(set(task_ids)), Project.organization_id == org_id)
            .order_by(Prediction.id)
        )
        for row in rows:
            grouped[row.task_id].append(row)
    return {task_id: grouped.get(task_id, []) for task_id in task_ids}
