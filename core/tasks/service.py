"""Task use cases: create, update and delete tasks (one or all of a project), record task events.

Bulk imports live in core.imports (tasks_import, predictions, validation)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.events import record
from core.events.catalog import TASK_EVENT_CREATED, TASKS_CREATED, TASKS_DELETED, TASKS_UPDATED
from core.imports.validation import TaskDataError, _check_data_and_root
from core.label_config import data_types as config_data_types
from core.projects.models import Project
from core.tasks.bulk import insert_tasks
from core.tasks.models import Task, TaskEvent
from core.tasks.queries import MAX_ID, get_org_project, get_task, is_valid_id
from core.timeutil import utcnow
from core.validation import Input

# ---------------------------------------------------------------- single tasks

# Fields a client may set on a task (Label Studio's TaskSerializer minus relations we own).
_COUNTER_FIELDS = ("total_annotations", "cancelled_annotations", "total_predictions", "comment_count", "unresolved_comment_count")


def _read_task_fields(body: Input) -> dict:
    values: dict[str, Any] = {}
    if body.has("meta"):
        meta = body.data["meta"]
        if meta is not None and not isinstance(meta, (dict, list)):
            body.error("meta", "Value must be valid JSON.")
        values["meta"] = meta if meta is not None else {}
    for name in ("overlap", "inner_id", *_COUNTER_FIELDS):
        if body.has(name):
            values[name] = body.integer(
                name, min_value=0 if name != "inner_id" else None, max_value=MAX_ID, allow_null=name == "inner_id"
            )
    if body.has("is_labeled"):
        values["is_labeled"] = body.boolean("is_labeled")
    if body.has("allow_skip"):
        values["allow_skip"] = body.boolean("allow_skip", allow_null=True)
    if body.has("last_comment_updated_at"):
        values["last_comment_updated_at"] = body.datetime_("last_comment_updated_at")
    return values


def _check_single_task_data(data: Any, project: Project) -> None:
    if not isinstance(data, dict):
        raise ValidationError("Task[data] must be dict")
    try:
        _check_data_and_root(data, config_data_types(project.label_config), dict_is_root=False)
    except TaskDataError as exc:
        raise ValidationError(str(exc))


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def create_task(ctx: Context, payload: Any) -> Task:
    """POST /api/tasks/: one task in a project of the caller's organization."""
    ctx.require_user()
    body = Input(payload)
    if not body.has("data"):
        body.error("data", "This field is required.")
    project_id = body.integer("project", required=True, allow_null=False, max_value=MAX_ID)
    values = _read_task_fields(body)
    body.done()
    project = get_org_project(ctx, project_id)
    data = body.data["data"]
    _check_single_task_data(data, project)
    task_id = insert_tasks(
        ctx.session,
        project,
        [{"data": data, "meta": values.pop("meta", {}), "allow_skip": values.pop("allow_skip", True)}],
    )[0]
    task = ctx.session.get(Task, task_id)
    for name, value in values.items():
        if value is not None or name == "last_comment_updated_at":
            setattr(task, name, value)
    ctx.session.flush()
    record(ctx, TASKS_CREATED, project_id=project.id, ids=[task.id])
    return task


@use_case(policy.TASKS_CHANGE, emits=(TASKS_UPDATED,))
def update_task(ctx: Context, task_id: int, payload: Any) -> Task:
    """PATCH /api/tasks/{id}/. Label Studio accepts data without re-checking the label config
    here; it must still be an object."""
    task = get_task(ctx, task_id)
    body = Input(payload, partial=True)
    data = body.dict_("data", allow_null=False)
    values = _read_task_fields(body)
    body.done()
    if data is not None:
        task.data = data
    for name, value in values.items():
        if value is not None or name in ("last_comment_updated_at", "allow_skip"):
            setattr(task, name, value)
    task.updated_at = utcnow()
    ctx.session.flush()
    record(ctx, TASKS_UPDATED, project_id=task.project_id, ids=[task.id])
    return task


@use_case(policy.TASKS_DELETE, emits=(TASKS_DELETED,))
def delete_task(ctx: Context, task_id: int) -> None:
    task = get_task(ctx, task_id)
    ctx.session.execute(delete(Task).where(Task.id == task.id))
    ctx.session.expunge(task)
    record(ctx, TASKS_DELETED, project_id=task.project_id, ids=[task.id])


@use_case(policy.TASKS_DELETE, emits=(TASKS_DELETED,))
def delete_all_tasks(ctx: Context, project_id: int) -> int:
    """Delete every task of the project in one statement (annotations, predictions and other
    rows that belong to tasks go with them through ON DELETE CASCADE); returns how many."""
    project = get_org_project(ctx, project_id)
    deleted_ids = ctx.session.scalars(
        delete(Task).where(Task.project_id == project.id).returning(Task.id), execution_options={"synchronize_session": False}
    ).all()
    if deleted_ids:
        record(ctx, TASKS_DELETED, project_id=project.id, ids=deleted_ids)
    ctx.session.expire_all()
    return len(deleted_ids)


# ---------------------------------------------------------------- events


# Sent by the labeling interface while the caller annotates, so annotators may record them.
@use_case(policy.ANNOTATIONS_CREATE, emits=(TASK_EVENT_CREATED,))
def create_task_event(ctx: Context, task_id: int, payload: Any) -> TaskEvent:
    """Record a labeling-interface event on a task (annotation loaded, region drawn, ...)."""
    user = ctx.require_user()
    task = get_task(ctx, task_id)
    body = Input(payload)
    event_key = body.string("event_key", required=True, allow_null=False, allow_blank=False, max_length=255)
    event_time: datetime | None = body.datetime_("event_time", required=True, allow_null=False)
    annotation_id = body.integer("annotation", allow_null=True)
    draft_id = body.integer("annotation_draft_id", allow_null=True, max_value=MAX_ID)
    review_id = body.integer("review", allow_null=True, max_value=MAX_ID)
    meta = body.data.get("meta")
    body.done()
    if annotation_id is not None:
        exists = is_valid_id(annotation_id) and ctx.session.scalar(
            select(Annotation.id).where(Annotation.id == annotation_id, Annotation.task_id == task.id)
        )
        if not exists:
            raise ValidationError({"annotation": [f'Invalid pk "{annotation_id}" - object does not exist.']})
    event = TaskEvent(
        task_id=task.id,
        project_id=task.project_id,
        organization_id=ctx.org_id,
        actor_id=user.id,
        annotation_id=annotation_id,
        annotation_draft_id=draft_id,
        review_id=review_id,
        event_key=event_key,
        event_time=event_time,
        meta=meta,
    )
    ctx.session.add(event)
    ctx.session.flush()
    record(ctx, TASK_EVENT_CREATED, project_id=task.project_id, ids=[event.id])
    return event
