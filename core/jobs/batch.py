"""Batch reads of jobs for GraphQL DataLoaders, scoped to one organization."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.models import Job
from core.tasks.queries import is_valid_id


def jobs_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Job]:
    """The organization's jobs among `ids`; jobs of other organizations are absent."""
    wanted = {pk for pk in ids if is_valid_id(pk)}
    if not wanted:
        return {}
    rows = session.scalars(select(Job).where(Job.id.in_(wanted), Job.organization_id == org_id))
    return {job.id: job for job in rows}
