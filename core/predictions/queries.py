"""Reads of predictions, always scoped to the caller's organization."""
from __future__ import annotations

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.tasks.queries import is_valid_id

_INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@use_case(policy.PREDICTIONS_VIEW)
def get_prediction(ctx: Context, prediction_id: int) -> Prediction:
    """The prediction, if its project belongs to the caller's organization; NotFound otherwise."""
    if not is_valid_id(prediction_id):
        raise NotFound()
    prediction = ctx.session.scalar(
        select(Prediction)
        .join(Project, Project.id == Prediction.project_id)
        .where(Prediction.id == prediction_id, Project.organization_id == ctx.org_id)
    )
    if prediction is None:
        raise NotFound()
    return prediction


@use_case(policy.PREDICTIONS_VIEW)
def list_predictions(ctx: Context, task_id: int | None = None, project_id: int | None = None) -> list[Prediction]:
    """GET /api/predictions/ with LS's `task` / `project` filters. A filter naming a task or
    project the caller cannot see is a 400, as django-filter answers for an unknown choice."""
    query = (
        select(Prediction)
        .join(Project, Project.id == Prediction.project_id)
        .where(Project.organization_id == ctx.org_id)
        .order_by(Prediction.id)
    )
    if task_id is not None:
        query = query.where(Prediction.task_id == task_id)
    if project_id is not None:
        query = query.where(Prediction.project_id == project_id)
    predictions = list(ctx.session.scalars(query))
    if not predictions:
        _check_filters_exist(ctx, task_id, project_id)
    return predictions


def _check_filters_exist(ctx: Context, task_id: int | None, project_id: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if task_id is not None:
        task = ctx.session.scalar(
            select(Task.id).join(Project, Project.id == Task.project_id).where(Task.id == task_id, Project.organization_id == ctx.org_id)
        )
        if task is None:
            errors["task"] = [_INVALID_CHOICE]
    if project_id is not None:
        project = ctx.session.scalar(select(Project.id).where(Project.id == project_id, Project.organization_id == ctx.org_id))
        if project is None:
            errors["project"] = [_INVALID_CHOICE]
    if errors:
        raise ValidationError(errors)
