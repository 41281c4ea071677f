"""Batch reads of organizations for GraphQL DataLoaders."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.organizations.models import Organization


def organizations_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> dict[int, Organization]:
    """Only the caller's own organization (`org_id`) is ever returned."""
    if org_id not in set(ids):
        return {}
    organization = session.scalar(select(Organization).where(Organization.id == org_id))
    return {organization.id: organization} if organization is not None else {}
