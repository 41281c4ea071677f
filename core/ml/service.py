"""ML backend use cases: connect, change, remove, train, predict (interactive, for a task, for
a whole project), as Label Studio 1.23.2 does (label_studio/ml), with its slow calls moved to jobs:
training signals and project-wide prediction runs run on the "ml" queue.

Connecting calls the backend's /health then /setup and refuses (400, nothing written) when either
fails; the backend's model_version comes from /setup; the project's model_version takes the
backend's title when empty and follows a rename; a project webhook to <url>/webhook for every
action is created with it and removed with it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from core.auth import policy
from core.auth.policy import require, use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events import record
from core.events.catalog import (
    ML_BACKEND_CREATED,
    ML_BACKEND_DELETED,
    ML_BACKEND_UPDATED,
    ML_TRAINING_REQUESTED,
    PREDICTIONS_CREATED,
    WEBHOOKS_CREATED,
    WEBHOOKS_DELETED,
    WEBHOOKS_UPDATED,
)
from core.jobs.models import Job
from core.jobs.service import start_job
from core.ml import client
from core.ml.client import BASIC_AUTH, NO_AUTH, Connection
from core.ml.connection import apply_state, first_backend, health_and_setup, predict_tasks, task_payloads
from core.ml.jobs import PREDICT_KIND, TRAIN_KIND
from core.ml.models import MLBackend
from core.ml.queries import backend_in_organization
from core.net.outgoing import OutgoingUrlRefused, check_url
from core.projects.models import Project
from core.tasks.models import Task
from core.tasks.queries import is_valid_id
from core.validation import Input
from core.webhooks.models import Webhook
from core.webhooks.service import add_system_webhook

AUTH_METHODS = (NO_AUTH, BASIC_AUTH)
DEFAULT_PREDICT_BATCH_SIZE = 100
MAX_PREDICT_BATCH_SIZE = 10_000
_AUTH_REQUIRED = "Authentication username and password is required for Basic Authentication."
_PASSWORD_REQUIRED = "Authentication password is required for Basic Authentication."


def _read_fields(inp: Input) -> dict[str, Any]:
    """The writable fields of Label Studio's MLBackendSerializer that the body holds."""
    values: dict[str, Any] = {}
    if inp.has("url") or not inp.partial:
        values["url"] = inp.string("url", required=True, allow_null=False, allow_blank=False)
    for name in ("title", "description", "basic_auth_user", "model_version"):
        if inp.has(name):
            values[name] = inp.string(name)
    if inp.has("basic_auth_pass"):
        values["basic_auth_pass"] = inp.string("basic_auth_pass")
    for name in ("is_interactive", "auto_update"):
        if inp.has(name):
            values[name] = inp.boolean(name)
    if inp.has("auth_method"):
        method = inp.data["auth_method"]
        if method not in AUTH_METHODS:
            inp.error("auth_method", f'"{method}" is not a valid choice.')
        else:
            values["auth_method"] = method
    if inp.has("timeout"):
        timeout = inp.number("timeout", allow_null=False)
        if timeout is not None and timeout <= 0:
            inp.error("timeout", "Ensure this value is greater than 0.")
        values["timeout"] = timeout
    if inp.has("extra_params"):
        values["extra_params"] = inp.data["extra_params"]
    return values


def _read_project(ctx: Context, inp: Input) -> Project | None:
    raw = inp.data.get("project")
    if raw is None:
        if not inp.partial or inp.has("project"):
            inp.error("project", "This field is required." if not inp.has("project") else "This field may not be null.")
        return None
    try:
        project_id = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        project_id = None
    if project_id is None:
        inp.error("project", f"Incorrect type. Expected pk value, received {type(raw).__name__}.")
        return None
    project = is_valid_id(project_id) and ctx.session.scalar(
        select(Project).where(Project.id == project_id, Project.organization_id == ctx.org_id))
    if not project:
        inp.error("project", f'Invalid pk "{project_id}" - object does not exist.')
        return None
    return project


def _check_reachable(ctx: Context, connection: Connection, project: Project, extra_params: Any):
    """Label Studio's serializer checks: a URL the policy allows, basic auth complete, /health then
    /setup answering. Any failure is a 400 before anything is written."""
    try:
        check_url(ctx.settings, connection.url)
    except OutgoingUrlRefused as exc:
        raise ValidationError({"url": [str(exc)]})
    if connection.auth_method == BASIC_AUTH and not (connection.basic_auth_user and connection.basic_auth_pass):
        raise ValidationError(_AUTH_REQUIRED)
    healthy, setup = health_and_setup(ctx.session, ctx.settings, connection, project, extra_params)
    if healthy.is_error:
        if healthy.status_code == 401:
            raise ValidationError("Able to connect to ML Server, but authentication parameters were "
                                  "either not provided or are incorrect.")
        raise ValidationError(
            f"Can't connect to ML backend {connection.url}, health check failed. "
            "Make sure it is up and your firewall is properly configured. "
            f"Additional info: {healthy.error}"
        )
    if setup is not None and setup.is_error:
        raise ValidationError(
            f"Successfully connected to {connection.url} but it doesn't look like a valid ML backend. "
            f"Reason: {setup.error}.\nCheck the ML backend server console logs to check the status."
            "There might be something wrong with your model or it might be incompatible with the current labeling configuration."
        )
    return healthy, setup


def _webhook_url(url: str) -> str:
    return url.rstrip("/") + "/webhook"


@use_case(policy.MODELS_CHANGE, emits=(ML_BACKEND_CREATED, WEBHOOKS_CREATED))
def create_ml_backend(ctx: Context, data: Any) -> MLBackend:
    """POST /api/ml/: connect a backend to a project of the caller's organization."""
    user = ctx.require_user()
    inp = Input(data)
    project = _read_project(ctx, inp)
    values = _read_fields(inp)
    inp.done()
    values = {k: v for k, v in values.items() if v is not None or k in ("title", "description", "basic_auth_user")}
    defaults = {"state": "DI", "title": "default", "description": "", "model_version": "", "auth_method": NO_AUTH,
                "is_interactive": False, "auto_update": True, "timeout": 100.0}
    backend = MLBackend(project_id=project.id, **{**defaults, **values})
    healthy, setup = _check_reachable(ctx, Connection.of(backend), project, backend.extra_params)
    apply_state(backend, healthy, setup)
    ctx.session.add(backend)
    # Label Studio sets the new backend as the project's source of predictions when none is chosen.
    if project.show_collab_predictions and not project.model_version:
        project.model_version = backend.title
    # Label Studio skips the webhook when the project already has one to the same URL.
    url = _webhook_url(backend.url)
    if ctx.session.scalar(select(Webhook.id).where(Webhook.project_id == project.id, Webhook.url == url)) is None:
        webhook = add_system_webhook(ctx.session, organization_id=project.organization_id, project_id=project.id,
                                     url=url, created_by_id=user.id)
        backend.webhook_id = webhook.id
        record(ctx, WEBHOOKS_CREATED, project_id=project.id, ids=[webhook.id])
    ctx.session.flush()
    record(ctx, ML_BACKEND_CREATED, project_id=project.id, ids=[backend.id])
    return backend


@use_case(policy.MODELS_CHANGE, emits=(ML_BACKEND_UPDATED, WEBHOOKS_UPDATED))
def update_ml_backend(ctx: Context, backend_id: Any, data: Any) -> MLBackend:
    """PATCH /api/ml/{id}: change settings; the backend is checked again (/health, /setup) with
    the new values and a failure is a 400 that changes nothing."""
    backend, project = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    inp = Input(data, partial=True)
    if inp.has("project"):
        other = _read_project(ctx, inp)
        if other is not None and other.id != project.id:
            inp.error("project", "The project of an ML backend cannot be changed.")
    values = _read_fields(inp)
    # An empty password keeps the stored one (Label Studio's validate_basic_auth_pass).
    if "basic_auth_pass" in values and not values["basic_auth_pass"]:
        values.pop("basic_auth_pass")
        if not backend.basic_auth_pass and values.get("auth_method", backend.auth_method) == BASIC_AUTH:
            inp.error("basic_auth_pass", _PASSWORD_REQUIRED)
    if "timeout" in values and values["timeout"] is None:
        values.pop("timeout")
    inp.done()
    merged = {name: values.get(name, getattr(backend, name)) for name in
              ("url", "auth_method", "basic_auth_user", "basic_auth_pass", "timeout", "extra_params")}
    connection = Connection(merged["url"], merged["auth_method"] or NO_AUTH, merged["basic_auth_user"],
                            merged["basic_auth_pass"], float(merged["timeout"] or 100.0))
    healthy, setup = _check_reachable(ctx, connection, project, merged["extra_params"])
    old_title, old_url = backend.title, backend.url
    for name, value in values.items():
        setattr(backend, name, value)
    apply_state(backend, healthy, setup)
    # Label Studio's MLBackend.save: a rename carries the project's model_version along.
    if backend.title != old_title and project.model_version == old_title:
        project.model_version = backend.title
    if backend.url != old_url and backend.webhook_id is not None:
        webhook = ctx.session.get(Webhook, backend.webhook_id)
        if webhook is not None:
            webhook.url = _webhook_url(backend.url)
            record(ctx, WEBHOOKS_UPDATED, project_id=project.id, ids=[webhook.id])
    ctx.session.flush()
    record(ctx, ML_BACKEND_UPDATED, project_id=project.id, ids=[backend.id])
    return backend


@use_case(policy.MODELS_CHANGE, emits=(ML_BACKEND_DELETED, WEBHOOKS_DELETED))
def delete_ml_backend(ctx: Context, backend_id: Any) -> None:
    """DELETE /api/ml/{id}: remove the backend and the webhook created with it."""
    backend, project = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    if project.model_version == backend.title:
        project.model_version = ""
    webhook_id = backend.webhook_id
    ctx.session.delete(backend)
    ctx.session.flush()
    if webhook_id is not None:
        removed = ctx.session.execute(delete(Webhook).where(Webhook.id == webhook_id), execution_options={"synchronize_session": False})
        if removed.rowcount:
            record(ctx, WEBHOOKS_DELETED, project_id=project.id, ids=[webhook_id])
    record(ctx, ML_BACKEND_DELETED, project_id=project.id, ids=[backend.id])


def _start_training(ctx: Context, backend: MLBackend) -> Job:
    job = start_job(ctx, TRAIN_KIND, {"ml_backend_id": backend.id}, project_id=backend.project_id)
    record(ctx, ML_TRAINING_REQUESTED, project_id=backend.project_id, ids=[backend.id], data={"job": job.id})
    return job


@use_case(policy.MODELS_CHANGE, emits=(ML_TRAINING_REQUESTED,))
def request_training(ctx: Context, backend_id: Any) -> Job:
    """POST /api/ml/{id}/train: answered at once; a job sends START_TRAINING to <url>/webhook."""
    backend, _ = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    return _start_training(ctx, backend)


@use_case(policy.MODELS_PREDICT, emits=(PREDICTIONS_CREATED,))
def start_prediction_run(ctx: Context, backend_id: Any, batch_size: Any = None) -> Job:
    """POST /api/ml/{id}/predict (Label Studio Enterprise): a job asks the backend for the
    predictions the project's tasks lack, `batch_size` tasks per /predict call, with progress.
    The job records PREDICTIONS_CREATED for each batch it stores."""
    backend, project = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    require(ctx, policy.MODELS_PREDICT, project=project)
    size = DEFAULT_PREDICT_BATCH_SIZE
    if batch_size not in (None, ""):
        try:
            size = int(batch_size)
        except (TypeError, ValueError):
            raise ValidationError({"batch_size": ["A valid integer is required."]})
        if not 0 < size <= MAX_PREDICT_BATCH_SIZE:
            raise ValidationError({"batch_size": [f"Ensure this value is between 1 and {MAX_PREDICT_BATCH_SIZE}."]})
    return start_job(ctx, PREDICT_KIND, {"ml_backend_id": backend.id, "batch_size": size}, project_id=project.id)


NOT_INTERACTIVE = "Model is not set to be used for interactive preannotations"


@use_case(policy.TASKS_VIEW)
def predict_interactive(ctx: Context, backend_id: Any, data: Any) -> dict:
    """POST /api/ml/{id}/interactive-annotating: synchronous, bounded by the backend's timeout.
    Answers {"data": results[0]}, or {"errors": [...]} with 200 as Label Studio does (a backend
    not set up as interactive is not called)."""
    backend, project = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    require(ctx, policy.MODELS_PREDICT, project=project)
    inp = Input(data)
    task_id = inp.integer("task", required=True)
    context = inp.data.get("context")
    inp.done()
    if not is_valid_id(task_id) or ctx.session.scalar(
            select(Task.id).where(Task.id == task_id, Task.project_id == project.id)) is None:
        raise NotFound()
    if not backend.is_interactive:
        return {"errors": [NOT_INTERACTIVE]}
    tasks = task_payloads(ctx.session, project, [task_id], drafts=True)
    answer = client.predict(ctx.settings, Connection.of(backend), project, tasks, context=context)
    if answer.is_error:
        return {"errors": [answer.error]}
    if not isinstance(answer.body, dict) or "results" not in answer.body:
        return {"errors": ["Incorrect response from ML service: ML backend returns an incorrect response, it must be a dict."]}
    results = answer.body["results"]
    if not isinstance(results, list) or not results:
        return {"errors": ["Incorrect response from ML service: ML backend has to return list with more than 1 result."]}
    return {"data": results[0]}


@use_case(policy.TASKS_VIEW, emits=(PREDICTIONS_CREATED,))
def retrieve_missing_prediction(ctx: Context, task: Task, project: Project) -> bool:
    """Label Studio's GET /api/tasks/{id}/: a task without predictions, in a project that shows
    predictions, is sent to the project's (first) backend; True when predictions were stored.
    The backend's state comes from the health cache, so a down backend costs no call."""
    if not (project.evaluate_predictions_automatically or project.show_collab_predictions):
        return False
    backend = first_backend(ctx.session, project.id)
    if backend is None:
        return False
    user = ctx.require_user()
    return bool(predict_tasks(ctx.session, ctx.settings, backend, project, [task.id], actor_id=user.id, force_refresh=False))
