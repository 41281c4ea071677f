"""Annotation use cases: create (one or in bulk), update, delete (one, in bulk, or all of a project or task).

Every write keeps the task counters right in the same transaction and, like Label Studio,
marks the task as updated by the caller, then records its event. A create costs a handful of
statements: the task lookup with the insert (INSERT ... SELECT), one task UPDATE (counters and
touch) and the event's INSERT."""
from __future__ import annotations

import json
import uuid
from typing import Any, Iterable

from sqlalchemy import delete, insert, literal, select, update

from core.annotations.models import Annotation
from core.annotations.queries import get_annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import Conflict, NotFound, ValidationError
from core.events import record
from core.events.catalog import ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_CREATED, ANNOTATIONS_DELETED
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.tasks.queries import MAX_ID, get_org_project, is_valid_id
from core.timeutil import utcnow
from core.users.batch import users_by_ids
from core.validation import Input

LAST_ACTIONS = (
    "prediction",
    "propagated_annotation",
    "imported",
    "submitted",
    "updated",
    "skipped",
    "accepted",
    "rejected",
    "fixed_and_accepted",
    "deleted_review",
)
BULK_DELETE_MAX_IDS = 100
_CHUNK = 5000
_RESULT_NOT_LIST = 'annotation "result" field in annotation must be list'


@use_case(policy.ANNOTATIONS_CREATE, emits=(ANNOTATION_CREATED,))
def create_annotation(ctx: Context, task_id: int, data: Any, *, was_cancelled: bool | None = None) -> Annotation:
    """POST /api/tasks/{id}/annotations/. `was_cancelled` is the query parameter, which wins over the body."""
    user = ctx.require_user()
    values = _read_values(ctx, data, partial=False)
    if was_cancelled is not None:
        values["was_cancelled"] = was_cancelled
    if values.get("unique_id") is not None:
        _check_unique_id_free(ctx, values["unique_id"])
    now = utcnow()
    row = {
        "was_cancelled": False,
        "ground_truth": False,
        "bulk_created": False,
        "completed_by_id": user.id,
        "unique_id": str(uuid.uuid4()),
        **values,
        "updated_by_id": user.id,
        "created_at": now,
        "updated_at": now,
    }
    annotation = _insert_on_visible_task(ctx, task_id, row)
    if annotation.ground_truth:
        _keep_single_ground_truth(ctx, [annotation.task_id], [annotation.id])
    _after_write(ctx, [annotation.task_id])
    record(ctx, ANNOTATION_CREATED, project_id=annotation.project_id, ids=[annotation.id])
    return annotation


def _insert_on_visible_task(ctx: Context, task_id: int, row: dict[str, Any]) -> Annotation:
    """INSERT ... SELECT from the task row scoped to the caller's organization: the task lookup
    and the insert in one statement (annotation writes are the hot path). NotFound when no row came back."""
    if not is_valid_id(task_id):
        raise NotFound()
    columns = Annotation.__table__.c
    source = (
        select(Task.id, Task.project_id, *(literal(value, columns[name].type) for name, value in row.items()))
        .join(Project, Project.id == Task.project_id)
        .where(Task.id == task_id, Project.organization_id == ctx.org_id)
    )
    statement = insert(Annotation).from_select(["task_id", "project_id", *row], source).returning(Annotation)
    annotation = ctx.session.scalars(statement).one_or_none()
    if annotation is None:
        raise NotFound()
    return annotation


@use_case(policy.ANNOTATIONS_CHANGE, emits=(ANNOTATION_UPDATED,))
def update_annotation(ctx: Context, annotation_id: int, data: Any) -> Annotation:
    """PATCH /api/annotations/{id}/. The task and project of an annotation never change."""
    user = ctx.require_user()
    annotation = get_annotation(ctx, annotation_id)
    values = _read_values(ctx, data, partial=True)
    if values.get("unique_id") is not None and values["unique_id"] != annotation.unique_id:
        _check_unique_id_free(ctx, values["unique_id"])
    for name, value in values.items():
        setattr(annotation, name, value)
    annotation.updated_by_id = user.id
    annotation.updated_at = utcnow()
    ctx.session.flush()
    if values.get("ground_truth"):
        _keep_single_ground_truth(ctx, [annotation.task_id], [annotation.id])
    _after_write(ctx, [annotation.task_id])
    record(ctx, ANNOTATION_UPDATED, project_id=annotation.project_id, ids=[annotation.id])
    return annotation


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def delete_annotation(ctx: Context, annotation_id: int) -> None:
    annotation = get_annotation(ctx, annotation_id)
    ctx.session.execute(delete(Annotation).where(Annotation.id == annotation.id), execution_options={"synchronize_session": False})
    ctx.session.expunge(annotation)
    _after_delete(ctx, annotation.project_id, [(annotation.id, annotation.task_id)])


@use_case(policy.ANNOTATIONS_CREATE, emits=(ANNOTATIONS_CREATED,))
def bulk_create_annotations(ctx: Context, data: Any) -> list[int]:
    """POST /api/annotations/bulk/: the same annotation on every selected task, in one
    executemany insert. Tasks come from `tasks`, `selected_items` (within `project`) or `task`;
    any task outside the caller's organization (or the given project) is a 404."""
    user = ctx.require_user()
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    selection = Input({k: data[k] for k in ("tasks", "selected_items", "project", "task") if k in data})
    task_list = selection.list_("tasks", allow_null=False)
    selected = selection.dict_("selected_items")
    project_id = selection.integer("project", allow_null=True, max_value=MAX_ID)
    single_task = selection.integer("task", allow_null=True, max_value=MAX_ID)
    if task_list is not None and not _all_ints(task_list):
        selection.error("tasks", "A valid integer is required.")
    if selected is not None:
        _check_selected_items(selection, selected)
    selection.done()
    values = _read_values(ctx, {k: v for k, v in data.items() if k not in ("tasks", "selected_items", "project", "task")}, partial=False)
    if values.get("unique_id") is not None:
        raise ValidationError({"unique_id": ["A unique id cannot be shared by several annotations."]})

    task_projects = _selected_task_projects(ctx, task_list, selected, project_id, single_task)
    if not task_projects:
        return []
    values.setdefault("completed_by_id", user.id)
    values.setdefault("bulk_created", True)
    now = utcnow()
    rows = [
        {
            **values,
            "task_id": task_id,
            "project_id": task_project,
            "updated_by_id": user.id,
            "unique_id": str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
        }
        for task_id, task_project in task_projects
    ]
    statement = insert(Annotation).returning(Annotation.id, sort_by_parameter_order=True)
    new_ids = list(ctx.session.scalars(statement, rows))
    task_ids = [task_id for task_id, _ in task_projects]
    if values.get("ground_truth"):
        _keep_single_ground_truth(ctx, task_ids, new_ids)
    _after_write(ctx, task_ids)
    # Without a project the tasks may come from several: one event per project.
    ids_by_project: dict[int, list[int]] = {}
    for (_, task_project), annotation_id in zip(task_projects, new_ids):
        ids_by_project.setdefault(task_project, []).append(annotation_id)
    for task_project, annotation_ids in ids_by_project.items():
        record(ctx, ANNOTATIONS_CREATED, project_id=task_project, ids=annotation_ids)
    return new_ids


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def bulk_delete_annotations(ctx: Context, data: Any) -> int:
    """POST /api/annotations/bulk-delete/: delete up to 100 annotations of one project.
    An id that is not an annotation of that project (of the caller's organization) is a 404."""
    ctx.require_user()
    inp = Input(data)
    ids = inp.list_("ids", required=True, allow_null=False)
    project_id = inp.integer("project", required=True, max_value=MAX_ID)
    if ids is not None:
        if not _all_ints(ids):
            inp.error("ids", "A valid integer is required.")
        elif not ids:
            inp.error("ids", "This list may not be empty.")
        elif len(ids) > BULK_DELETE_MAX_IDS:
            inp.error("ids", f"Ensure this field has no more than {BULK_DELETE_MAX_IDS} elements.")
    inp.done()
    project = get_org_project(ctx, project_id)
    wanted = set(ids)
    rows = ctx.session.execute(
        select(Annotation.id, Annotation.task_id).where(Annotation.id.in_(_storable(wanted)), Annotation.project_id == project.id)
    ).all()
    if len(rows) != len(wanted):
        raise NotFound()
    ctx.session.execute(delete(Annotation).where(Annotation.id.in_(wanted)), execution_options={"synchronize_session": False})
    _after_delete(ctx, project.id, rows)
    return len(rows)


@use_case(policy.ANNOTATIONS_DELETE, emits=(ANNOTATIONS_DELETED,))
def delete_all_annotations(ctx: Context, project_id: int, *, task_id: int | None = None) -> int:
    """Delete every annotation of the project (or of one of its tasks) in one statement; returns how many."""
    project = get_org_project(ctx, project_id)
    conditions = [Annotation.project_id == project.id]
    if task_id is not None:
        conditions.append(Annotation.task_id == task_id)
    rows = ctx.session.execute(
        delete(Annotation).where(*conditions).returning(Annotation.id, Annotation.task_id),
        execution_options={"synchronize_session": False},
    ).all()
    _after_delete(ctx, project.id, rows)
    return len(rows)


# --- input -------------------------------------------------------------------------------


def _read_values(ctx: Context, data: Any, *, partial: bool) -> dict[str, Any]:
    """Validated column values from an annotation body. `task`/`project` are ignored (the URL
    decides) and so is `updated_by` (always the caller), as in Label Studio."""
    inp = Input(data, partial=partial)
    values: dict[str, Any] = {}
    if inp.has("result"):
        result = _parse_result(inp)
        if result is not None:
            values["result"] = result
    for name in ("was_cancelled", "ground_truth"):
        if inp.has(name):
            values[name] = inp.boolean(name)
    if inp.has("bulk_created"):
        values["bulk_created"] = inp.boolean("bulk_created", allow_null=True)
    if inp.has("lead_time"):
        values["lead_time"] = inp.number("lead_time")
    if inp.has("draft_created_at"):
        values["draft_created_at"] = inp.datetime_("draft_created_at")
    if inp.has("import_id"):
        values["import_id"] = inp.integer("import_id", allow_null=True, min_value=-MAX_ID, max_value=MAX_ID)
    if inp.has("last_action"):
        action = inp.string("last_action")
        if action is not None and action not in LAST_ACTIONS:
            inp.error("last_action", f'"{action}" is not a valid choice.')
        values["last_action"] = action
    if inp.has("unique_id"):
        values["unique_id"] = _parse_unique_id(inp)
    references = {
        "completed_by": ("completed_by_id", False),
        "last_created_by": ("last_created_by_id", True),
        "parent_prediction": ("parent_prediction_id", True),
        "parent_annotation": ("parent_annotation_id", True),
    }
    for name, (column, nullable) in references.items():
        if inp.has(name):
            values[column] = read_pk(inp, name, allow_null=nullable)
    inp.done()
    _check_references(ctx, values)
    return values


def read_pk(inp: Input, name: str, *, allow_null: bool = True) -> int | None:
    """A primary-key field with Django REST framework's messages; existence is checked by the caller."""
    value = inp.data[name]
    if value is None:
        if not allow_null:
            inp.error(name, "This field may not be null.")
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        type_name = {str: "str", float: "float", bool: "bool", list: "list", dict: "dict"}.get(type(value), type(value).__name__)
        inp.error(name, f"Incorrect type. Expected pk value, received {type_name}.")
        return None
    return value


def _parse_result(inp: Input) -> list | None:
    value = inp.data["result"]
    if value is None:
        inp.error("result", "This field may not be null.")
        return None
    if isinstance(value, str):
        # LS accepts the result as a JSON string too.
        try:
            value = json.loads(value)
        except ValueError:
            inp.error("result", 'annotation "result" can\'t be parse from str to JSON')
            return None
    if not isinstance(value, list):
        inp.error("result", _RESULT_NOT_LIST)
        return None
    if not all(isinstance(item, dict) for item in value):
        inp.error("result", "Each item in annotation result should be dict")
        return None
    return value


def _parse_unique_id(inp: Input) -> str | None:
    raw = inp.string("unique_id", allow_null=False)
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        inp.error("unique_id", "Must be a valid UUID.")
        return None


def _check_references(ctx: Context, values: dict[str, Any]) -> None:
    """Users must belong to the caller's organization, parents to its projects."""
    errors: dict[str, list[str]] = {}
    user_fields = {"completed_by": values.get("completed_by_id"), "last_created_by": values.get("last_created_by_id")}
    wanted_users = {uid for uid in user_fields.values() if is_valid_id(uid) and uid != ctx.user.id}
    known_users = users_by_ids(ctx.session, ctx.org_id, list(wanted_users)) if wanted_users else {}
    for name, uid in user_fields.items():
        if uid is not None and uid != ctx.user.id and uid not in known_users:
            errors[name] = [f'Invalid pk "{uid}" - object does not exist.']
    for name, model in (("parent_prediction", Prediction), ("parent_annotation", Annotation)):
        parent_id = values.get(f"{name}_id")
        if parent_id is None:
            continue
        exists = is_valid_id(parent_id) and ctx.session.scalar(
            select(model.id).join(Project, Project.id == model.project_id).where(model.id == parent_id, Project.organization_id == ctx.org_id)
        )
        if not exists:
            errors[name] = [f'Invalid pk "{parent_id}" - object does not exist.']
    if errors:
        raise ValidationError(errors)


def _check_unique_id_free(ctx: Context, unique_id: str) -> None:
    if ctx.session.scalar(select(Annotation.id).where(Annotation.unique_id == unique_id)) is not None:
        raise Conflict("Annotation with this unique id already exists")


def _storable(ids: Iterable[int]) -> list[int]:
    # Ids out of the 32-bit column range name no row (and PostgreSQL would refuse them).
    return [i for i in ids if is_valid_id(i)]


def _all_ints(values: list) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _check_selected_items(inp: Input, selected: dict) -> None:
    if not isinstance(selected.get("all"), bool):
        inp.error("selected_items", 'selected_items must contain "all" (a boolean).')
        return
    key = "excluded" if selected["all"] else "included"
    listed = selected.get(key, [])
    if not isinstance(listed, list) or not _all_ints(listed):
        inp.error("selected_items", f'"{key}" must be a list of task ids.')


def _selected_task_projects(
    ctx: Context, task_list: list[int] | None, selected: dict | None, project_id: int | None, single_task: int | None
) -> list[tuple[int, int]]:
    """(task id, project id) of every selected task, in the order given; NotFound if any is foreign."""
    if project_id is not None:
        get_org_project(ctx, project_id)
    if selected is not None and selected["all"]:
        if project_id is None:
            raise ValidationError({"project": ["This field is required when selected_items.all is true."]})
        excluded = set(selected.get("excluded", []))
        rows = ctx.session.execute(select(Task.id, Task.project_id).where(Task.project_id == project_id).order_by(Task.id)).all()
        return [(task_id, project) for task_id, project in rows if task_id not in excluded]
    if task_list is not None:
        wanted = task_list
    elif selected is not None:
        wanted = selected.get("included", [])
    elif single_task is not None:
        wanted = [single_task]
    else:
        raise ValidationError({"tasks": ["This field is required."]})
    wanted = list(dict.fromkeys(wanted))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(Task.id, Task.project_id)
            .join(Project, Project.id == Task.project_id)
            .where(Task.id.in_(_storable(wanted[start:start + _CHUNK])), Project.organization_id == ctx.org_id)
        )
        if project_id is not None:
            query = query.where(Task.project_id == project_id)
        found.update(ctx.session.execute(query).tuples().all())
    if len(found) != len(wanted):
        raise NotFound()
    return [(task_id, found[task_id]) for task_id in wanted]


# --- side effects on tasks -----------------------------------------------------------------


def _keep_single_ground_truth(ctx: Context, task_ids: list[int], keep_ids: list[int]) -> None:
    """LS allows one ground-truth annotation per task: the one just marked wins. `keep_ids`
    hold at most one annotation per task; bulk-created ones are newer than every other."""
    keep = Annotation.id != keep_ids[0] if len(keep_ids) == 1 else Annotation.id < min(keep_ids)
    for start in range(0, len(task_ids), _CHUNK):
        ctx.session.execute(
            update(Annotation)
            .where(Annotation.task_id.in_(task_ids[start:start + _CHUNK]), keep, Annotation.ground_truth.is_(True))
            .values(ground_truth=False),
            execution_options={"synchronize_session": False},
        )


def _after_write(ctx: Context, task_ids: list[int]) -> None:
    # LS also marks the task updated (now, by the caller) whenever its annotations change.
    refresh_task_counters(ctx.session, task_ids, touched_by=ctx.user.id)


def _after_delete(ctx: Context, project_id: int, deleted: Iterable[tuple[int, int]]) -> None:
    """Counters of the tasks concerned and one event for the (annotation id, task id) rows deleted, if any."""
    deleted = list(deleted)
    if not deleted:
        return
    _after_write(ctx, [task_id for _, task_id in deleted])
    record(ctx, ANNOTATIONS_DELETED, project_id=project_id, ids=[annotation_id for annotation_id, _ in deleted])
