"""POST /api/projects/{id}/import (JSON body, multipart files or url=), .../import/predictions,
POST /api/projects/{id}/reimport, and the import status GET /api/projects/{id}/imports/{import_pk}/."""
from __future__ import annotations

from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from core.errors import DomainError, ValidationError
from core.imports import service as file_imports
from core.imports import tasks_import
from core.imports.predictions import import_predictions
from core.shapes.tasks import import_result_json, project_import_json
from core.validation import parse_bool
from rest_compat.http import ApiRequest, _read_body, _run, api, api_route, domain_error_response, json_response
from rest_compat.uploads import MultipartForm, is_multipart, read_multipart, require_authentication, spool_body


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


def _options(req: ApiRequest) -> tasks_import.ImportOptions:
    return tasks_import.ImportOptions(
        commit_to_project=_bool_param(req, "commit_to_project", True),
        return_task_ids=_bool_param(req, "return_task_ids", False),
        preannotated_from_fields=_strings_param(req, "preannotated_from_fields"),
    )


def _render(result) -> dict:
    if isinstance(result, file_imports.ImportStarted):
        return {result.key: result.project_import.id}
    return import_result_json(result)


def _form_fields(req: ApiRequest) -> dict[str, str]:
    try:
        parsed = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise ValidationError("The form body is not valid UTF-8.")
    return {name: values[-1] for name, values in parsed.items()}


async def _run_with_files(request: Request, view, body: bytes, status: int, form: MultipartForm | None) -> Response:
    """Run the view in the request transaction (files it stores go again if it fails); leftovers
    of the form are removed either way."""
    request.state.form = form
    try:
        return await run_in_threadpool(_run, view, request, body, True, status)
    finally:
        if form is not None:
            form.remove_files()


def _import_view(req: ApiRequest):
    options, form = _options(req), req.request.state.form
    if form is not None:
        if form.files:
            return _render(file_imports.import_files(req.ctx, req.path["id"], [f for _, f in form.files], options))
        return _render(file_imports.import_url(req.ctx, req.path["id"], form.fields.get("url"), options))
    if req.content_type == "application/x-www-form-urlencoded":
        return _render(file_imports.import_url(req.ctx, req.path["id"], _form_fields(req).get("url"), options))
    return import_result_json(tasks_import.import_tasks(req.ctx, req.path["id"], req.json(), options))


def _is_big_json(request: Request, settings) -> bool:
    declared = request.headers.get("content-length", "")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" and declared.isdigit() and int(declared) > settings.import_json_sync_max_bytes


async def import_endpoint(request: Request) -> Response:
    """Import tasks: a JSON body (one task or a list), multipart files (CSV, TSV, TXT, JSON, JSONL,
    media) or url=. Small imports answer with the counts; big ones with {"import": id}."""
    settings = request.app.state.settings
    form = None
    try:
        if is_multipart(request):
            await require_authentication(request)
            form, body = await read_multipart(request, settings), b""
        elif _is_big_json(request, settings):
            await require_authentication(request)
            form, body = await spool_body(request, settings, "tasks.json"), b""
        else:
            body = await _read_body(request, settings.max_body_bytes)
    except DomainError as exc:
        return domain_error_response(exc, settings.version)
    return await _run_with_files(request, _import_view, body, 201, form)


def _reimport_view(req: ApiRequest):
    if req.content_type == "application/x-www-form-urlencoded":
        payload = parse_qs(req.body.decode("utf-8", "replace"))
        payload = {"file_upload_ids": [int(v) for v in payload.get("file_upload_ids", []) if v.isdigit()],
                   "files_as_tasks_list": (payload.get("files_as_tasks_list") or ["true"])[-1]}
    else:
        payload = req.json(default={})
    result = file_imports.reimport(req.ctx, req.path["id"], payload)
    if result is None:  # nothing to re-import: Label Studio answers 200 with zeros
        return json_response({"task_count": 0, "annotation_count": 0, "prediction_count": 0, "duration": 0,
                              "file_upload_ids": [], "found_formats": {}, "data_columns": []}, 200)
    body = _render(result)
    if isinstance(result, tasks_import.ImportResult):
        body.pop("could_be_tasks_list", None)  # not part of Label Studio's re-import answer
    return body


async def reimport_endpoint(request: Request) -> Response:
    """Create the tasks of file uploads made with commit_to_project=false (replacing earlier ones)."""
    settings = request.app.state.settings
    try:
        body = await _read_body(request, settings.max_body_bytes)
    except DomainError as exc:
        return domain_error_response(exc, settings.version)
    return await _run_with_files(request, _reimport_view, body, 201, None)


def import_predictions_view(req: ApiRequest):
    return {"created": import_predictions(req.ctx, req.path["id"], req.json(default=[]))}


def import_status_view(req: ApiRequest):
    return project_import_json(file_imports.get_import_status(req.ctx, req.path["id"], req.path["import_pk"]))


import_endpoint.status = reimport_endpoint.status = 201  # for the generated OpenAPI document

routes = [
    *api_route("/api/projects/{id:int}/import", {"POST": import_endpoint}),
    *api_route("/api/projects/{id:int}/reimport", {"POST": reimport_endpoint}),
    *api_route("/api/projects/{id:int}/import/predictions", {"POST": api(import_predictions_view, status=201)}),
    *api_route("/api/projects/{id:int}/imports/{import_pk:int}/", {"GET": api(import_status_view)}),
    *api_route("/api/projects/{id:int}/reimports/{import_pk:int}/", {"GET": api(import_status_view)}),
]
