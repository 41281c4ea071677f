"""Reads of annotations, always scoped to the caller's organization."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound
from core.projects.models import Project
from core.tasks.queries import get_task, is_valid_id
from core.users.batch import users_by_ids
from core.users.models import User


@use_case(policy.ANNOTATIONS_VIEW)
def get_annotation(ctx: Context, annotation_id: int) -> Annotation:
    """The annotation, if its project belongs to the caller's organization; NotFound otherwise."""
    if not is_valid_id(annotation_id):
        raise NotFound()
    annotation = ctx.session.scalar(
        select(Annotation)
        .join(Project, Project.id == Annotation.project_id)
        .where(Annotation.id == annotation_id, Project.organization_id == ctx.org_id)
    )
    if annotation is None:
        raise NotFound()
    return annotation


@use_case(policy.ANNOTATIONS_VIEW)
def list_task_annotations(ctx: Context, task_id: int) -> list[Annotation]:
    """A task's submitted annotations, oldest first; cancelled (skipped) ones are left out, like LS."""
    task = get_task(ctx, task_id)
    return list(
        ctx.session.scalars(
            select(Annotation).where(Annotation.task_id == task.id, Annotation.was_cancelled.is_(False)).order_by(Annotation.id)
        )
    )


def authors_of(session: Session, org_id: int, annotations: Iterable[Annotation], known: Iterable[User | None] = ()) -> dict[int, User]:
    """completed_by_id -> User for these annotations in one query (for created_username),
    skipping users already loaded (usually the caller)."""
    found = {user.id: user for user in known if user is not None}
    missing = {a.completed_by_id for a in annotations if a.completed_by_id is not None and a.completed_by_id not in found}
    found.update(users_by_ids(session, org_id, list(missing)))
    return found
