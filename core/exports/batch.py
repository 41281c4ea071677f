"""Batch reads of export snapshots for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.exports.models import ConvertedFormat, Export
from core.projects.models import Project
from core.tasks.queries import is_valid_id


def exports_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Export]:
    """The organization's snapshots among `ids`; snapshots of other organizations are absent."""
    wanted = {pk for pk in ids if is_valid_id(pk)}
    if not wanted:
        return {}
    rows = session.scalars(
        select(Export).join(Project, Project.id == Export.project_id).where(Export.id.in_(wanted), Project.organization_id == org_id)
    )
    return {export.id: export for export in rows}


def export_pages_by_project_ids(
    session: Session, org_id: int, project_ids: Sequence[int], first: int, before_id: int | None
) -> dict[int, tuple[list[Export], bool]]:
    """For each project, a keyset page of its snapshots newest first (by id, which grows with
    created_at): (up to `first` snapshots, has_next). One statement for all projects."""
    if not project_ids:
        return {}
    position = func.row_number().over(partition_by=Export.project_id, order_by=Export.id.desc()).label("position")
    ranked = (
        select(Export.id.label("export_id"), position)
        .join(Project, Project.id == Export.project_id)
        .where(Export.project_id.in_(set(project_ids)), Project.organization_id == org_id)
    )
    if before_id is not None:
        ranked = ranked.where(Export.id < before_id)
    ranked = ranked.subquery()
    export = aliased(Export)
    rows = session.scalars(
        select(export).join(ranked, ranked.c.export_id == export.id).where(ranked.c.position <= first + 1)
        .order_by(export.project_id, export.id.desc())
    )
    grouped: dict[int, list[Export]] = defaultdict(list)
    for row in rows:
        grouped[row.project_id].append(row)
    return {pid: (grouped[pid][:first], len(grouped[pid]) > first) for pid in project_ids}


def export_counts_by_project_ids(session: Session, org_id: int, project_ids: Sequence[int]) -> dict[int, int]:
    if not project_ids:
        return {}
    rows = session.execute(
        select(Export.project_id, func.count(Export.id))
        .join(Project, Project.id == Export.project_id)
        .where(Export.project_id.in_(set(project_ids)), Project.organization_id == org_id)
        .group_by(Export.project_id)
    )
    counts = dict(rows.all())
    return {pid: counts.get(pid, 0) for pid in project_ids}


def converted_formats_by_export_ids(session: Session, org_id: int, export_ids: Sequence[int]) -> dict[int, list[ConvertedFormat]]:
    """Each snapshot's conversions, oldest first."""
    if not export_ids:
        return {}
    rows = session.scalars(
        select(ConvertedFormat)
        .join(Project, Project.id == ConvertedFormat.project_id)
        .where(ConvertedFormat.export_id.in_(set(export_ids)), Project.organization_id == org_id)
        .order_by(ConvertedFormat.id)
    )
    grouped: dict[int, list[ConvertedFormat]] = defaultdict(list)
    for row in rows:
        grouped[row.export_id].append(row)
    return {eid: grouped[eid] for eid in export_ids}
