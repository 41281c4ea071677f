"""Predictions: /api/predictions/ and /api/predictions/{id}/."""
from __future__ import annotations

from core.errors import ValidationError
from core.predictions import queries, service
from core.shapes.predictions import prediction_json
from core.tasks.queries import MAX_ID
from rest_compat.endpoints.annotations import path_id
from rest_compat.http import ApiRequest, api, api_route

_INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def _id_filter(req: ApiRequest, name: str, errors: dict[str, list[str]]) -> int | None:
    raw = req.query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = [_INVALID_CHOICE]
        return None
    if not 0 < value <= MAX_ID:
        errors[name] = [_INVALID_CHOICE]
    return value


def list_predictions(req: ApiRequest) -> list[dict]:
    errors: dict[str, list[str]] = {}
    task_id = _id_filter(req, "task", errors)
    # `task__project` is the older spelling of the same filter in LS.
    project_id = _id_filter(req, "project", errors)
    nested_project_id = _id_filter(req, "task__project", errors)
    if errors:
        raise ValidationError(errors)
    if nested_project_id is not None:
        if project_id is not None and project_id != nested_project_id:
            return []
        project_id = nested_project_id
    return [prediction_json(p) for p in queries.list_predictions(req.ctx, task_id=task_id, project_id=project_id)]


def create_prediction(req: ApiRequest) -> dict:
    return prediction_json(service.create_prediction(req.ctx, req.json(default={})))


def get_prediction(req: ApiRequest) -> dict:
    return prediction_json(queries.get_prediction(req.ctx, path_id(req)))


def update_prediction(req: ApiRequest) -> dict:
    return prediction_json(service.update_prediction(req.ctx, path_id(req), req.json(default={})))


def replace_prediction(req: ApiRequest) -> dict:
    return prediction_json(service.update_prediction(req.ctx, path_id(req), req.json(default={}), partial=False))


def delete_prediction(req: ApiRequest) -> None:
    service.delete_prediction(req.ctx, path_id(req))


routes = [
    *api_route("/api/predictions/", {"GET": api(list_predictions), "POST": api(create_prediction, status=201)}),
    *api_route(
        "/api/predictions/{id:int}/",
        {
            "GET": api(get_prediction),
            "PATCH": api(update_prediction),
            "PUT": api(replace_prediction),
            "DELETE": api(delete_prediction),
        },
    ),
]
