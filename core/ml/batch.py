"""Batch reads of ML backends for GraphQL DataLoaders, scoped to one organization (no state refresh)."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ml.models import MLBackend
from core.projects.models import Project


def ml_backends_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, MLBackend]:
    if not ids:
        return {}
    rows = session.scalars(
        select(MLBackend).join(Project, Project.id == MLBackend.project_id)
        .where(MLBackend.id.in_(set(ids)), Project.organization_id == org_id)
    )
    return {backend.id: backend for backend in rows}
