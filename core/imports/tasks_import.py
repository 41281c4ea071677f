"""Importing a JSON body of tasks (with annotations and predictions) into a project, and the
ProjectImport row that records an import.

Every item is validated before the first write (core.imports.validation), then written with
multi-row INSERTs (core.tasks.bulk)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events import record
from core.events.catalog import TASKS_CREATED
from core.imports.predictions import _optional_float, _prediction_row, preannotations_from_fields
from core.imports.validation import MAX_REPORTED_ERRORS, TaskDataError, validate_import_items
from core.label_config import data_types as config_data_types
from core.organizations.models import OrganizationMember
from core.projects.models import Project
from core.tasks.bulk import insert_annotations, insert_predictions, insert_tasks
from core.tasks.counters import refresh_task_counters
from core.tasks.models import ProjectImport
from core.tasks.queries import get_org_project, is_valid_id
from core.timeutil import utcnow
from core.users.models import User

MAX_TASKS_PER_IMPORT = 1_000_000  # Label Studio's TASKS_MAX_NUMBER


@dataclass
class ImportOptions:
    commit_to_project: bool = True
    return_task_ids: bool = False
    preannotated_from_fields: list[str] | None = None


@dataclass
class ImportResult:
    import_id: int
    task_count: int
    annotation_count: int | None
    prediction_count: int | None
    duration: float
    task_ids: list[int] | None = None
    file_upload_ids: list[int] = field(default_factory=list)
    could_be_tasks_list: bool = False
    found_formats: list[str] = field(default_factory=list)
    data_columns: list[str] = field(default_factory=list)


def _members_by_email(ctx: Context, project: Project) -> dict[str, int]:
    rows = ctx.session.execute(
        select(User.email, User.id)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == project.organization_id, OrganizationMember.deleted_at.is_(None))
    )
    return {email: user_id for email, user_id in rows}


def _annotation_author(completed_by: Any, members: dict[str, int], member_ids: set[int], default_user_id: int) -> int:
    if completed_by is None:
        return default_user_id
    if isinstance(completed_by, dict):
        if "email" not in completed_by:
            raise ValidationError("It's expected to have 'email' field in 'completed_by' data in annotations")
        email = completed_by["email"]
        if email not in members:
            raise ValidationError(f"Unknown annotator's email {email}")
        return members[email]
    if isinstance(completed_by, int) and not isinstance(completed_by, bool) and completed_by in member_ids:
        return completed_by
    raise ValidationError(f"Import data contains completed_by={completed_by} which is not a valid annotator's email or ID")


def _import_items(payload: Any) -> list:
    """The request body as a list of items: one task object or a list of them."""
    if isinstance(payload, dict):
        return [payload]
    if not isinstance(payload, list):
        raise ValidationError("load_tasks: No data found in DATA or in FILES")
    if not payload:
        raise ValidationError("load_tasks: No tasks added")
    if len(payload) > MAX_TASKS_PER_IMPORT:
        raise ValidationError(f"Maximum task number is {MAX_TASKS_PER_IMPORT}, current task number is {len(payload)}")
    return payload


def _annotation_rows(ctx: Context, project: Project, tasks: list[dict]) -> list[tuple[int, dict]]:
    """(task index, annotation row) for every imported annotation, authors resolved."""
    if not any(task["annotations"] for task in tasks):
        return []
    members = _members_by_email(ctx, project)
    member_ids = set(members.values())
    default_author = ctx.require_user().id
    rows = []
    for index, task in enumerate(tasks):
        for annotation in task["annotations"]:
            rows.append((index, {
                "project_id": project.id,
                "result": annotation["result"],
                "completed_by_id": _annotation_author(annotation.get("completed_by"), members, member_ids, default_author),
                "was_cancelled": bool(annotation.get("was_cancelled", False)),
                "ground_truth": bool(annotation.get("ground_truth", True)),  # Label Studio's import default
                "lead_time": _optional_float(annotation.get("lead_time")),
                "import_id": annotation.get("id") if is_valid_id(annotation.get("id")) else None,
            }))
    return rows


def _prediction_rows(project: Project, tasks: list[dict]) -> list[tuple[int, dict]]:
    """(task index, prediction row) for every imported prediction, shorthand results expanded."""
    rows, errors = [], []
    for index, task in enumerate(tasks):
        for number, prediction in enumerate(task["predictions"]):
            try:
                rows.append((index, _prediction_row(prediction, project, None)))
            except TaskDataError as exc:
                errors.append(f"Task {index}, prediction {number}: Failed to create prediction - {exc}")
    if errors:
        raise ValidationError({"predictions": errors[:MAX_REPORTED_ERRORS]})
    return rows


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def import_tasks(ctx: Context, project_id: int, payload: Any, options: ImportOptions | None = None) -> ImportResult:
    """Import a JSON body (one task or a list) into the project; all or nothing: every item is
    checked before the first write."""
    options = options or ImportOptions()
    started = time.monotonic()
    user = ctx.require_user()
    project = get_org_project(ctx, project_id)
    items = _import_items(payload)
    if options.preannotated_from_fields:
        items = preannotations_from_fields(items, options.preannotated_from_fields, project)
    tasks = validate_import_items(items, config_data_types(project.label_config))
    annotation_rows = _annotation_rows(ctx, project, tasks)
    prediction_rows = _prediction_rows(project, tasks)

    project_import = ProjectImport(
        project_id=project.id,
        created_by_id=user.id,
        status="in_progress",
        commit_to_project=options.commit_to_project,
        return_task_ids=options.return_task_ids,
        preannotated_from_fields=options.preannotated_from_fields,
        file_upload_ids=[],
        found_formats=[],
        data_columns=[],
        could_be_tasks_list=False,
    )
    ctx.session.add(project_import)
    ctx.session.flush()

    task_ids: list[int] = []
    annotation_count: int | None = None
    prediction_count: int | None = None
    if options.commit_to_project:
        task_ids = insert_tasks(ctx.session, project, tasks, import_id=project_import.id)
        for index, row in annotation_rows + prediction_rows:
            row["task_id"] = task_ids[index]
        insert_annotations(ctx.session, [row for _, row in annotation_rows])
        insert_predictions(ctx.session, [row for _, row in prediction_rows])
        refresh_task_counters(ctx.session, {task_ids[index] for index, _ in annotation_rows + prediction_rows})
        if prediction_rows and not project.model_version:
            project.model_version = prediction_rows[-1][1]["model_version"]
        annotation_count, prediction_count = len(annotation_rows), len(prediction_rows)

    return complete_import(
        ctx, project_import, task_count=len(tasks), annotation_count=annotation_count,
        prediction_count=prediction_count, duration=time.monotonic() - started, task_ids=task_ids,
    )


# Every import that finishes in the request ends here: the tasks it created are one event.
@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def complete_import(ctx: Context, project_import: ProjectImport, *, task_count: int, annotation_count: int | None,
                    prediction_count: int | None, duration: float, task_ids: list[int],
                    found_formats: Any = None, data_columns: list[str] | None = None) -> ImportResult:
    """Record a finished import on its row and answer it as Label Studio does."""
    project_import.status = "completed"
    project_import.task_count = task_count
    project_import.annotation_count = annotation_count or 0
    project_import.prediction_count = prediction_count or 0
    if found_formats is not None:
        project_import.found_formats = found_formats
    if data_columns is not None:
        project_import.data_columns = data_columns
    project_import.duration = duration
    project_import.task_ids = task_ids if project_import.return_task_ids else []
    project_import.finished_at = utcnow()
    ctx.session.flush()
    if task_ids:
        record(ctx, TASKS_CREATED, project_id=project_import.project_id, ids=task_ids)
    return ImportResult(
        import_id=project_import.id,
        task_count=task_count,
        annotation_count=annotation_count,
        prediction_count=prediction_count,
        duration=duration,
        task_ids=task_ids if project_import.return_task_ids and task_ids else None,
        file_upload_ids=list(project_import.file_upload_ids or []),
        could_be_tasks_list=project_import.could_be_tasks_list,
        found_formats=found_formats if found_formats is not None else [],
        data_columns=data_columns if data_columns is not None else [],
    )


@use_case(policy.TASKS_VIEW)
def get_project_import(ctx: Context, project_id: int, import_id: int) -> ProjectImport:
    project = get_org_project(ctx, project_id)
    if not is_valid_id(import_id):
        raise NotFound()
    project_import = ctx.session.scalar(
        select(ProjectImport).where(ProjectImport.id == import_id, ProjectImport.project_id == project.id)
    )
    if project_import is None:
        raise NotFound()
    return project_import
