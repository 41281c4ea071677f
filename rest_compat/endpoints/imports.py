"""Synchronous JSON import: POST /api/projects/{id}/import, .../import/predictions, and the
import status GET /api/projects/{id}/imports/{import_pk}/."""
from __future__ import annotations

from core.errors import ValidationError
from core.tasks import service
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route
from rest_compat.shapes.tasks import import_result_json, project_import_json


def _bool_param(req: ApiRequest, name: str, default: bool) -> bool:
    raw = req.query.get(name)
    if raw is None:
        return default
    value = parse_bool(raw)
    if value is None:
        raise ValidationError({name: [f"Incorrect bool value: {raw}"]})
    return value


def _strings_param(req: ApiRequest, name: str) -> list[str] | None:
    """Label Studio's list_of_strings_from_request: one value split on ',', ';' or '|'."""
    values = req.query.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        return values
    for separator in (",", ";", "|"):
        if separator in values[0]:
            return values[0].split(separator)
    return [values[0]]


def import_view(req: ApiRequest):
    options = service.ImportOptions(
        commit_to_project=_bool_param(req, "commit_to_project", True),
        return_task_ids=_bool_param(req, "return_task_ids", False),
        preannotated_from_fields=_strings_param(req, "preannotated_from_fields"),
    )
    result = service.import_tasks(req.ctx, req.path["id"], req.json(), options)
    return import_result_json(result)


def import_predictions_view(req: ApiRequest):
    return {"created": service.import_predictions(req.ctx, req.path["id"], req.json(default=[]))}


def import_status_view(req: ApiRequest):
    return project_import_json(service.get_project_import(req.ctx, req.path["id"], req.path["import_pk"]))


routes = [
    *api_route("/api/projects/{id:int}/import", {"POST": api(import_view, status=201)}),
    *api_route("/api/projects/{id:int}/import/predictions", {"POST": api(import_predictions_view, status=201)}),
    *api_route("/api/projects/{id:int}/imports/{import_pk:int}/", {"GET": api(import_status_view)}),
]
