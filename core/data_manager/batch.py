"""Batch reads of Data Manager views for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.data_manager.models import View
from core.projects.models import Project
from core.tasks.queries import is_valid_id


def views_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, View]:
    """The organization's views among `ids`; views of other organizations are absent."""
    wanted = {pk for pk in ids if is_valid_id(pk)}
    if not wanted:
        return {}
    rows = session.scalars(
        select(View).join(Project, Project.id == View.project_id).where(View.id.in_(wanted), Project.organization_id == org_id)
    )
    return {view.id: view for view in rows}


def views_by_project_ids(session: Session, org_id: int, project_ids: Sequence[int]) -> dict[int, list[View]]:
    """Each project's views in tab order (order, then id), as GET /api/dm/views/?project= lists them."""
    if not project_ids:
        return {}
    rows = session.scalars(
        select(View)
        .join(Project, Project.id == View.project_id)
        .where(View.project_id.in_(set(project_ids)), Project.organization_id == org_id)
        .order_by(View.project_id, View.order, View.id)
    )
    grouped: dict[int, list[View]] = defaultdict(list)
    for view in rows:
        grouped[view.project_id].append(view)
    return {pid: grouped[pid] for pid in project_ids}
