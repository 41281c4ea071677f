"""The legacy 0.8 API's "Machine Learning Models" routes over the same use cases, on the current
project (core.legacy.service.current_project):

- GET /api/models: {"models": [...]}, each backend as 1.x shapes it plus 0.8's `name` (its title);
- DELETE /api/models {"name"}: removes the backend of that name;
- POST /api/models/train: a training signal (a job) for every backend: {"jobs": [ids]};
- /api/models/predictions?mode=data: /predict for a task made of the body's `data` (nothing
  stored): the backend's {"results": [...]}; mode=specific_tasks (`task_ids` in the JSON body or
  the query, comma-separated): predictions stored for those tasks now, as the Data Manager action
  does: {"predictions": [ids]}; mode=all_tasks: a prediction run job over the project: {"job": id}."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import require, use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events.catalog import ML_BACKEND_DELETED, ML_BACKEND_UPDATED, ML_TRAINING_REQUESTED, PREDICTIONS_CREATED
from core.legacy.service import current_project
from core.ml import client
from core.ml.client import Connection
from core.ml.connection import first_backend, predict_tasks
from core.ml.models import MLBackend
from core.ml.queries import list_ml_backends
from core.ml.service import delete_ml_backend, request_training, start_prediction_run
from core.tasks.models import Task
from core.tasks.queries import is_valid_id

MODES = ("data", "all_tasks", "specific_tasks")


@use_case(policy.MODELS_VIEW, emits=(ML_BACKEND_UPDATED,))
def legacy_models(ctx: Context, project_id: int | None) -> list[MLBackend]:
    return list_ml_backends(ctx, current_project(ctx, project_id).id)


@use_case(policy.MODELS_CHANGE, emits=(ML_BACKEND_DELETED,))
def legacy_delete_model(ctx: Context, project_id: int | None, body: Any) -> None:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise ValidationError({"name": ["This field is required."]})
    project = current_project(ctx, project_id)
    backend_id = ctx.session.scalar(select(MLBackend.id).where(MLBackend.project_id == project.id, MLBackend.title == name)
                                    .order_by(MLBackend.id).limit(1))
    if backend_id is None:
        raise NotFound(f"No ML backend named {name!r} in this project.")
    delete_ml_backend(ctx, backend_id)


@use_case(policy.MODELS_CHANGE, emits=(ML_TRAINING_REQUESTED,))
def legacy_train(ctx: Context, project_id: int | None) -> list[int]:
    project = current_project(ctx, project_id)
    backend_ids = list(ctx.session.scalars(select(MLBackend.id).where(MLBackend.project_id == project.id).order_by(MLBackend.id)))
    if not backend_ids:
        raise ValidationError("The project has no ML backend to train.")
    return [request_training(ctx, backend_id).id for backend_id in backend_ids]


def _task_ids(body: Any, query_ids: str | None) -> list[int]:
    raw = body.get("task_ids") if isinstance(body, dict) and "task_ids" in body else query_ids
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    try:
        ids = [int(value) for value in raw or []]
    except (TypeError, ValueError):
        raise ValidationError({"task_ids": ["A list of task ids is required."]})
    if not ids:
        raise ValidationError({"task_ids": ["A list of task ids is required."]})
    return ids


@use_case(policy.MODELS_PREDICT, emits=(PREDICTIONS_CREATED,))
def legacy_predictions(ctx: Context, project_id: int | None, mode: str | None, body: Any, query_task_ids: str | None) -> dict:
    if mode not in MODES:
        raise ValidationError({"mode": [f"Use one of: {', '.join(MODES)}."]})
    project = current_project(ctx, project_id)
    backend = first_backend(ctx.session, project.id)
    if backend is None:
        raise ValidationError("The project has no ML backend.")
    require(ctx, policy.MODELS_PREDICT, project=project)
    if mode == "all_tasks":
        return {"job": start_prediction_run(ctx, backend.id).id}
    if mode == "data":
        data = body.get("data", body) if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ValidationError({"data": ["Task data (a JSON object) is required."]})
        answer = client.predict(ctx.settings, Connection.of(backend), project, [{"id": 0, "data": data, "project": project.id}])
        if answer.is_error:
            raise ValidationError(f"The ML backend failed to predict: {answer.error}")
        return answer.body if isinstance(answer.body, dict) else {"results": answer.body}
    ids = [i for i in _task_ids(body, query_task_ids) if is_valid_id(i)]
    found = list(ctx.session.scalars(select(Task.id).where(Task.id.in_(ids), Task.project_id == project.id)))
    if len(found) != len(set(ids)):
        raise NotFound("Some of the tasks are not in the project.")
    user = ctx.require_user()
    return {"predictions": predict_tasks(ctx.session, ctx.settings, backend, project, found, actor_id=user.id)}
