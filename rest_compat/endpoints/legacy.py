"""The legacy Label Studio 0.8 API (seeds/legacy-backend-api-0.8.txt), served as thin aliases onto
the same core services as the 1.x API (composed in core.legacy.service).

The current project. 0.8 served one project per server (or per browser session in its
multi-session mode). Here the current project is the one named by `?project=<id>` on any legacy
route, else the caller's most recently created project in their active organization.
`GET /api/project-switch?uuid=<id>` answers for project <id> (0.8 named projects by UUID; the
project id stands in for it). The server keeps no session, so a switch is not remembered: pass
`?project=<id>` to keep working on a project other than your newest.

Routes that 1.x already serves keep their 1.x behaviour (GET /api/tasks, GET/PATCH/DELETE
/api/tasks/<id>/); only the methods 1.x lacks are added there. /api/health and /version live in
system.py. ML backends (/api/models*) are served over core.ml (shapes in core.ml.legacy); storages
(/api/project/storage-settings) are not served: that domain is not built.

Status codes follow 0.8: 201 for a created project, a saved config (empty body), an import, a
project PATCH and a completion create or update; 204 for validate-config and deletes. A config
error is 0.8's 400 {"label_config": [...]}; every other error has Label Studio's usual error shape.
Completions are annotations under 0.8's names (see core.shapes.legacy); the export is the
1.x export service's file, tasks with "annotations"."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from core.errors import DomainError, ValidationError
from core.exports import stream_export
from core.imports.service import ImportStarted
from core.legacy import service
from core.legacy.sample_task import sample_task_data
from core.ml import legacy as ml_legacy
from core.projects.queries import COUNTER_FIELDS, project_counters
from core.shapes.ml import ml_backend_json
from core.shapes.legacy import completion_json, import_result_json, project_json, sample_tasks_file, task_json
from core.tasks.queries import load_task_relations
from core.timeutil import utcnow
from core.validation import parse_bool
from rest_compat.endpoints.imports import _run_with_files
from rest_compat.http import ApiRequest, _read_body, api, api_route, domain_error_response, json_response
from rest_compat.uploads import is_multipart, read_multipart

XML_CONTENT_TYPES = ("application/xml", "text/xml")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


# --- request parsing ---------------------------------------------------------------------


def _project_id(req: ApiRequest) -> int | None:
    return req.int_param("project")


def _body(req: ApiRequest, default: Any = None) -> Any:
    """JSON, or a urlencoded form (0.8's web pages posted forms), one value per field."""
    if req.content_type == FORM_CONTENT_TYPE:
        return dict(parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return req.json(default=default)


def _label_config(req: ApiRequest) -> Any:
    """The config from a raw XML body, a form or JSON field `label_config`, or the query string."""
    if req.content_type in XML_CONTENT_TYPES:
        try:
            return req.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"label_config": ["The XML body is not valid UTF-8."]}) from None
    body = _body(req, default={})
    if isinstance(body, dict) and "label_config" in body:
        return body["label_config"]
    return req.query.get("label_config")


def _was_cancelled(req: ApiRequest) -> bool | None:
    raw = req.query.get("was_cancelled")
    if raw is None:
        return None
    value = parse_bool(raw)
    if value is None:
        raise ValidationError({"was_cancelled": ["Must be a valid boolean."]})
    return value


def _config_errors_as_legacy(req: ApiRequest, action: Callable[[], Any]) -> Any:
    """Run `action`; a ValidationError about the config alone becomes 0.8's 400 body."""
    try:
        return action()
    except ValidationError as exc:
        if set(exc.errors) != {"label_config"}:
            raise
        req.ctx.session.rollback()
        return json_response({"label_config": exc.errors["label_config"]}, 400)


# --- rendering ---------------------------------------------------------------------------


def _project(req: ApiRequest, project) -> dict:
    counters = project_counters(req.ctx.session, [project.id], fields=COUNTER_FIELDS)[project.id]
    return project_json(project, counters)


def _task(req: ApiRequest, task) -> dict:
    relations = load_task_relations(req.ctx, [task])
    return task_json(task, relations.annotations.get(task.id, []), relations.predictions.get(task.id, []))


# --- project -----------------------------------------------------------------------------


def get_project(req: ApiRequest):
    """The current project's settings, task count and counters."""
    return _project(req, service.current_project(req.ctx, _project_id(req)))


def create_project(req: ApiRequest):
    """Create a project titled after `desc` (query string or body); it becomes the current project."""
    body = _body(req, default={})
    description = req.query.get("desc")
    if description is None and isinstance(body, dict) and body.get("desc") is not None:
        description = str(body["desc"])
    return _project(req, service.create_project(req.ctx, description, body))


def update_project(req: ApiRequest):
    """Update the current project's settings (1.x project fields)."""
    return _project(req, service.update_project(req.ctx, _project_id(req), _body(req, default={})))


def switch_project(req: ApiRequest):
    """The project named by `uuid` (its id); pass ?project=<id> on later calls to keep using it."""
    project_id = req.int_param("uuid", detail="Not a valid UUID")
    if project_id is None:
        raise ValidationError({"uuid": ["This field is required."]}, detail="Not a valid UUID")
    return _project(req, service.current_project(req.ctx, project_id))


def save_config(req: ApiRequest):
    """Save the labeling config: JSON {"label_config"}, a form field, or a raw XML body."""

    def save() -> Response:
        service.save_label_config(req.ctx, _project_id(req), _label_config(req))
        return Response(status_code=201)

    return _config_errors_as_legacy(req, save)


def import_tasks(req: ApiRequest):
    """Import a JSON list of tasks, or files posted as multipart form data, into the current project."""
    form = req.request.state.form
    if form is None:
        return import_result_json(service.import_tasks(req.ctx, _project_id(req), req.json()))
    result = service.import_files(req.ctx, _project_id(req), [file for _, file in form.files])
    if isinstance(result, ImportStarted):
        # Too big to import in the request: its progress is at /api/projects/{id}/imports/{import}/.
        return {result.key: result.project_import.id}
    return import_result_json(result)


async def import_endpoint(request: Request) -> Response:
    """Reads a multipart body as files (stored while the request runs) or any other body as bytes."""
    settings = request.app.state.settings
    form = None
    try:
        if is_multipart(request):
            form, body = await read_multipart(request, settings), b""
        else:
            body = await _read_body(request, settings.max_body_bytes)
    except DomainError as exc:
        return domain_error_response(exc, settings.version)
    return await _run_with_files(request, import_tasks, body, 201, form)


# Read by the OpenAPI generator, like the endpoints api() builds.
import_endpoint.view, import_endpoint.status, import_endpoint.auth = import_tasks, 201, True


def export_project(req: ApiRequest):
    """Download the current project's annotated tasks; `format` is an export format (JSON by default)."""
    plan = service.plan_project_export(req.ctx, _project_id(req), req.query.get("format") or "JSON")
    chunks = stream_export(req.request.app.state.session_factory, plan)
    headers = {"Content-Disposition": f'attachment; filename="{plan.filename}"', "filename": plan.filename}
    return StreamingResponse(chunks, media_type=plan.content_type, headers=headers)


def next_task(req: ApiRequest):
    """The next task to label: the first by id not labeled yet and not annotated by the caller."""
    return _task(req, service.next_task(req.ctx, _project_id(req)))


# --- tasks and completions -----------------------------------------------------------------


def delete_all_tasks(req: ApiRequest):
    """Delete every task of the current project, with its completions and predictions."""
    service.delete_project_tasks(req.ctx, _project_id(req))


def rewrite_task(req: ApiRequest):
    """Rewrite a task: its data, and when given all its completions and all its predictions."""
    return _task(req, service.rewrite_task(req.ctx, req.path["id"], req.json()))


def create_completion(req: ApiRequest):
    """Add a completion (annotation) to the task; ?was_cancelled=1 records a skip."""
    completion = service.create_completion(req.ctx, req.path["id"], req.json(default={}), was_cancelled=_was_cancelled(req))
    return completion_json(completion)


def delete_task_completions(req: ApiRequest):
    """Delete every completion of the task."""
    service.delete_task_completions(req.ctx, req.path["id"])


def update_completion(req: ApiRequest):
    """Update a completion of the task."""
    completion = service.update_completion(
        req.ctx, req.path["id"], req.path["completion_id"], req.json(default={}), was_cancelled=_was_cancelled(req)
    )
    return completion_json(completion)


def delete_completion(req: ApiRequest):
    """Delete a completion of the task."""
    service.delete_completion(req.ctx, req.path["id"], req.path["completion_id"])


def list_completion_ids(req: ApiRequest):
    """Ids of every completion of the current project."""
    return {"ids": service.project_completion_ids(req.ctx, _project_id(req))}


def delete_all_completions(req: ApiRequest):
    """Delete every completion of the current project."""
    service.delete_project_completions(req.ctx, _project_id(req))


# --- labeling config helpers ----------------------------------------------------------------


def validate_config(req: ApiRequest):
    """Check a labeling config (and that the current project's completions fit it, if any)."""

    def validate() -> None:
        service.validate_config(req.ctx, _project_id(req), _label_config(req))

    return _config_errors_as_legacy(req, validate)


def import_example(req: ApiRequest):
    """Example task data for the labeling config given in `label_config`."""

    def example():
        config = _label_config(req)
        if config is None:
            raise ValidationError({"label_config": ["This field is required."]})
        return sample_task_data(config)

    return _config_errors_as_legacy(req, example)


def import_example_file(req: ApiRequest):
    """A file of example tasks for the current project's config; `q` is json (default), csv, tsv or txt."""
    data = service.project_sample_task(req.ctx, _project_id(req))
    file_format = (req.query.get("q") or "json").lower()
    content, content_type = sample_tasks_file([data, data], file_format)
    filename = f"sample-{utcnow():%Y-%m-%d-%H-%M}.{file_format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "filename": filename}
    return Response(content, media_type=content_type, headers=headers)


# --- machine learning models -------------------------------------------------------------


def list_models(req: ApiRequest):
    """The current project's ML backends; `name` is 0.8's name for a backend (its title)."""
    return {"models": [{"name": b.title, **ml_backend_json(b)} for b in ml_legacy.legacy_models(req.ctx, _project_id(req))]}


def delete_model(req: ApiRequest):
    """Remove the ML backend named by `name` in the JSON body."""
    ml_legacy.legacy_delete_model(req.ctx, _project_id(req), _body(req, default={}))


def train_models(req: ApiRequest):
    """Send a training signal to every ML backend of the current project (as jobs)."""
    return {"jobs": ml_legacy.legacy_train(req.ctx, _project_id(req))}


def model_predictions(req: ApiRequest):
    """Predictions by mode: data (for the body's task data), specific_tasks (task_ids), all_tasks (a job)."""
    body = _body(req, default={}) if req.request.method == "POST" else {}
    return ml_legacy.legacy_predictions(req.ctx, _project_id(req), req.query.get("mode"), body, req.query.get("task_ids"))


routes = [
    *api_route("/api/models", {"GET": api(list_models), "DELETE": api(delete_model)}),
    *api_route("/api/models/train", {"POST": api(train_models)}),
    *api_route("/api/models/predictions", {"GET": api(model_predictions), "POST": api(model_predictions)}),
    *api_route(
        "/api/project",
        {"GET": api(get_project), "POST": api(create_project, status=201), "PATCH": api(update_project, status=201)},
    ),
    *api_route("/api/project/config", {"POST": api(save_config, status=201)}),
    *api_route("/api/project/import", {"POST": import_endpoint}),
    *api_route("/api/project/export", {"GET": api(export_project)}),
    *api_route("/api/project/next", {"GET": api(next_task)}),
    *api_route("/api/project-switch", {"GET": api(switch_project)}),
    # 1.x serves GET/POST /api/tasks/ and GET/PATCH/DELETE /api/tasks/{id}/: only the missing methods here.
    *api_route("/api/tasks/", {"DELETE": api(delete_all_tasks)}),
    *api_route("/api/tasks/{id:int}/", {"POST": api(rewrite_task)}),
    *api_route(
        "/api/tasks/{id:int}/completions",
        {"POST": api(create_completion, status=201), "DELETE": api(delete_task_completions)},
    ),
    *api_route(
        "/api/tasks/{id:int}/completions/{completion_id:int}",
        {"PATCH": api(update_completion, status=201), "DELETE": api(delete_completion)},
    ),
    *api_route("/api/completions", {"GET": api(list_completion_ids), "DELETE": api(delete_all_completions)}),
    *api_route("/api/validate-config", {"POST": api(validate_config, status=204)}),
    *api_route("/api/import-example", {"GET": api(import_example), "POST": api(import_example)}),
    *api_route("/api/import-example-file", {"GET": api(import_example_file)}),
]
