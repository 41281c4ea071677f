"""The legacy 0.8 API's use cases, each a composition of the existing services.

The 0.8 API is single-project. Its "current project" is the project named by `project_id` when the
client gives one, else the caller's most recently created project in their active organization.
A server that keeps no session cannot remember a switch, so clients name the project explicitly
(`?project=<id>`) to work on any other one."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from core import label_config as lc
from core.annotations import service as annotations
from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events.catalog import (
    ANNOTATION_CREATED,
    ANNOTATION_UPDATED,
    ANNOTATIONS_DELETED,
    PREDICTIONS_CREATED,
    PREDICTIONS_DELETED,
    PROJECT_CREATED,
    PROJECT_UPDATED,
    TASKS_CREATED,
    TASKS_DELETED,
    TASKS_UPDATED,
)
from core.exports import ExportOptions, ExportPlan, plan_export
from core.imports import service as file_imports
from core.imports import tasks_import
from core.legacy.sample_task import sample_task_data
from core.predictions import service as predictions
from core.predictions.models import Prediction
from core.projects import service as projects
from core.projects.models import Project
from core.tasks import service as tasks
from core.tasks.models import Task
from core.tasks.queries import get_org_project, get_task

NO_PROJECT_DETAIL = "No project yet: create one with POST /api/project, or name one with ?project=<id>."
# Completion keys of 0.8 the annotation service knows under the same name.
_COMPLETION_FIELDS = ("result", "lead_time", "was_cancelled", "ground_truth", "completed_by")


@use_case(policy.PROJECTS_VIEW)
def current_project(ctx: Context, project_id: int | None = None) -> Project:
    """The project the legacy API works on (see the module docstring); NotFound when there is none."""
    if project_id is not None:
        return get_org_project(ctx, project_id)
    user = ctx.require_user()
    project = ctx.session.scalar(
        select(Project)
        .where(Project.organization_id == ctx.org_id, Project.created_by_id == user.id)
        .order_by(Project.created_at.desc(), Project.id.desc())
        .limit(1)
    )
    if project is None:
        raise NotFound(NO_PROJECT_DETAIL)
    return project


@use_case(policy.PROJECTS_CREATE, emits=(PROJECT_CREATED,))
def create_project(ctx: Context, description: str | None, body: Any) -> Project:
    """POST /api/project: 0.8 named the new project after its `desc`; other settings pass through."""
    fields = dict(body) if isinstance(body, dict) else {}
    fields.pop("desc", None)
    if description is not None:
        fields["title"] = description
    return projects.create_project(ctx, fields)


@use_case(policy.PROJECTS_CHANGE, emits=(PROJECT_UPDATED,))
def update_project(ctx: Context, project_id: int | None, body: Any) -> Project:
    return projects.update_project(ctx, current_project(ctx, project_id).id, body)


def _current_project_or_none(ctx: Context, project_id: int | None) -> Project | None:
    try:
        return current_project(ctx, project_id)
    except NotFound:
        if project_id is not None:
            raise
        return None


@use_case(policy.PROJECTS_VIEW)
def validate_config(ctx: Context, project_id: int | None, label_config: Any) -> None:
    """POST /api/validate-config: the config must be valid and, when there is a current project,
    fit its existing completions the way saving it would require."""
    if label_config is None:
        raise ValidationError({"label_config": ["This field is required."]})
    lc.validate_label_config(label_config)
    project = _current_project_or_none(ctx, project_id)
    if project is not None:
        projects.check_config_fits_annotations(ctx, project, label_config, strict_labels=False)


@use_case(policy.PROJECTS_CHANGE, emits=(PROJECT_UPDATED,))
def save_label_config(ctx: Context, project_id: int | None, label_config: Any) -> Project:
    """POST /api/project/config: validated (and checked against existing annotations) by the
    project service; a missing config is a label_config error like any other."""
    if label_config is None:
        raise ValidationError({"label_config": ["This field is required."]})
    project = current_project(ctx, project_id)
    return projects.update_project(ctx, project.id, {"label_config": label_config})


def completion_to_annotation(completion: Any) -> Any:
    """A 0.8 completion body as an annotation body: its id and unix timestamps belong to the
    server, and the deprecated `skipped` flag means `was_cancelled`."""
    if not isinstance(completion, dict):
        return completion  # the annotation service reports the wrong type
    body = {key: completion[key] for key in _COMPLETION_FIELDS if key in completion}
    if "was_cancelled" not in body and completion.get("skipped") is True:
        body["was_cancelled"] = True
    return body


@use_case(policy.ANNOTATIONS_CREATE, emits=(ANNOTATION_CREATED,))
def create_completion(ctx: Context, task_id: int, completion: Any, *, was_cancelled: bool | None) -> Annotation:
    return annotations.create_annotation(ctx, task_id, completion_to_annotation(completion), was_cancelled=was_cancelled)


def _task_completion(ctx: Context, task_id: int, completion_id: int) -> Annotation:
    """The completion, only under the task it belongs to (as 0.8 addressed it)."""
    task = get_task(ctx, task_id)
    annotation = ctx.session.scalar(select(Annotation).where(Annotation.id == completion_id, Annotation.task_id == task.id))
    if annotation is None:
        raise NotFound()
    return annotation


@use_case(policy.ANNOTATIONS_CHANGE, emits=(ANNOTATION_UPDATED,))
def update_completion(ctx: Context, task_id: int, completion_id: int, completion: Any, *, was_cancelled: bool | None) -> Annotation:
    annotation = _task_completion(ctx, task_id, completion_id)
    body = completion_to_annotation(completion)
    if was_cancelled is not None and isinstance(body, dict):
        body["was_cancelled"] = was_cancelled
    return annotations.update_annotation(ctx, annotation.id, body)


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def delete_completion(ctx: Context, task_id: int, completion_id: int) -> None:
    annotations.delete_annotation(ctx, _task_completion(ctx, task_id, completion_id).id)


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def delete_task_completions(ctx: Context, task_id: int) -> int:
    task = get_task(ctx, task_id)
    return annotations.delete_all_annotations(ctx, task.project_id, task_id=task.id)


@use_case(policy.ANNOTATIONS_VIEW)
def project_completion_ids(ctx: Context, project_id: int | None) -> list[int]:
    """Ids of every completion (annotation, skipped ones included) of the current project."""
    project = current_project(ctx, project_id)
    return list(ctx.session.scalars(select(Annotation.id).where(Annotation.project_id == project.id).order_by(Annotation.id)))


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def delete_project_completions(ctx: Context, project_id: int | None) -> int:
    return annotations.delete_all_annotations(ctx, current_project(ctx, project_id).id)


@use_case(policy.TASKS_DELETE, emits=(TASKS_DELETED,))
def delete_project_tasks(ctx: Context, project_id: int | None) -> int:
    return tasks.delete_all_tasks(ctx, current_project(ctx, project_id).id)


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def import_tasks(ctx: Context, project_id: int | None, payload: Any) -> tasks_import.ImportResult:
    project = current_project(ctx, project_id)
    return tasks_import.import_tasks(ctx, project.id, payload, tasks_import.ImportOptions(return_task_ids=True))


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def import_files(
    ctx: Context, project_id: int | None, files: list[file_imports.IncomingFile]
) -> tasks_import.ImportResult | file_imports.ImportStarted:
    """Files posted to /api/project/import (0.8's `-F FileUpload=@file`), imported like 1.x uploads:
    in the request when small, else as an import job."""
    project = current_project(ctx, project_id)
    return file_imports.import_files(ctx, project.id, files, tasks_import.ImportOptions(return_task_ids=True))


@use_case(policy.EXPORTS_VIEW)
def plan_project_export(ctx: Context, project_id: int | None, export_type: str) -> ExportPlan:
    """0.8 exported the tasks that have completions, like the export service's default."""
    return plan_export(ctx, current_project(ctx, project_id).id, ExportOptions(export_type=export_type))


@use_case(policy.PROJECTS_VIEW)
def project_sample_task(ctx: Context, project_id: int | None) -> dict:
    """Example task data for the current project's labeling config."""
    project = current_project(ctx, project_id)
    return sample_task_data(project.label_config or projects.DEFAULT_LABEL_CONFIG)


@use_case(policy.TASKS_VIEW)
def next_task(ctx: Context, project_id: int | None) -> Task:
    """The first task by id that is not labeled yet and that the caller has not annotated
    (a skip counts: 0.8 kept skips as completions); NotFound when none is left."""
    user = ctx.require_user()
    project = current_project(ctx, project_id)
    annotated_by_caller = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id == user.id)
    task = ctx.session.scalar(
        select(Task)
        .where(Task.project_id == project.id, Task.is_labeled.is_(False), ~annotated_by_caller)
        .order_by(Task.id)
        .limit(1)
    )
    if task is None:
        raise NotFound("No more tasks to label.")
    return task


def _check_list_of_dicts(body: dict, key: str, errors: dict[str, list[str]]) -> None:
    value = body.get(key)
    if value is not None and (not isinstance(value, list) or not all(isinstance(item, dict) for item in value)):
        errors[key] = ["Expected a list of objects."]


@use_case(
    policy.TASKS_CHANGE,
    emits=(TASKS_UPDATED, ANNOTATIONS_DELETED, ANNOTATION_CREATED, PREDICTIONS_DELETED, PREDICTIONS_CREATED),
)
def rewrite_task(ctx: Context, task_id: int, body: Any) -> Task:
    """POST /api/tasks/<id>: replace the task's data (and meta), and when given, all its
    completions and all its predictions. Each write goes through its own service; the
    request's transaction makes the whole rewrite all or nothing."""
    task = get_task(ctx, task_id)
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]})
    completions_key = "completions" if "completions" in body else "annotations"
    errors: dict[str, list[str]] = {}
    for key in (completions_key, "predictions"):
        _check_list_of_dicts(body, key, errors)
    if errors:
        raise ValidationError(errors)

    task_fields = {key: body[key] for key in ("data", "meta") if key in body}
    if task_fields:
        tasks.update_task(ctx, task.id, task_fields)
    if body.get(completions_key) is not None:
        delete_task_completions(ctx, task.id)
        for completion in body[completions_key]:
            create_completion(ctx, task.id, completion, was_cancelled=None)
    if body.get("predictions") is not None:
        for prediction_id in ctx.session.scalars(select(Prediction.id).where(Prediction.task_id == task.id)).all():
            predictions.delete_prediction(ctx, prediction_id)
        for prediction in body["predictions"]:
            predictions.create_prediction(ctx, {**prediction, "task": task.id})
    return get_task(ctx, task.id)
