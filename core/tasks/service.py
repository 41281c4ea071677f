"""Task use cases: create, update, delete, bulk import of tasks (with annotations and
predictions) and of predictions for existing tasks.

Imports validate every item before the first write (Label Studio's TaskValidator rules and
messages), then write with multi-row INSERTs (core.tasks.bulk)."""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import getitem
from typing import Any

from sqlalchemy import delete, select

from core.annotations.models import Annotation
from core.context import Context
from core.errors import NotFound, ValidationError
from core.label_config import data_types as config_data_types
from core.label_config import parsed_label_config
from core.organizations.models import OrganizationMember
from core.projects.models import Project
from core.tasks.bulk import insert_annotations, insert_predictions, insert_tasks
from core.tasks.counters import refresh_task_counters
from core.tasks.models import ProjectImport, Task, TaskEvent
from core.tasks.queries import MAX_ID, get_org_project, get_task, is_valid_id
from core.timeutil import utcnow
from core.users.models import User
from core.validation import Input

DATA_UNDEFINED_NAME = "$undefined$"
MAX_REPORTED_ERRORS = 100
MAX_TASKS_PER_IMPORT = 1_000_000  # Label Studio's TASKS_MAX_NUMBER

# Python types Label Studio accepts in task data for each object tag (tasks/validation.py).
_DATA_TYPES: dict[str, tuple[type, ...]] = {
    "Text": (str, int, float, list),
    "Header": (str, int, float),
    "HyperText": (str,),
    "Image": (str, list),
    "Paragraphs": (list, str),
    "Chat": (list, str),
    "Table": (dict, list, str),
    "TimeSeries": (dict, list, str),
    "TimeSeriesChannel": (dict, list, str),
    "List": (list, str),
    "Choices": (str, list),
    "PolygonLabels": (str, list),
    "Labels": (str, list),
    "BrushLabels": (str, list),
    "EllipseLabels": (str, list),
    "HyperTextLabels": (str, list),
    "KeyPointLabels": (str, list),
    "ParagraphLabels": (str, list),
    "RectangleLabels": (str, list),
    "TimeSeriesLabels": (str, list),
    "Taxonomy": (str, list, type(None)),
    "Ranker": (list, str),
}
# Control tags whose prediction can be given as a bare value (Label Studio's SINGLE_VALUED_TAGS).
_SINGLE_VALUED_TAGS: dict[str, type | tuple[type, ...]] = {"choices": str, "rating": int, "number": float, "textarea": str}


class TaskDataError(Exception):
    """One problem with one task (rendered with the item's index like Label Studio)."""


# ---------------------------------------------------------------- task data validation


def _type_names(types: tuple[type, ...]) -> str:
    return "[" + ", ".join(repr(t.__name__) for t in types) + "]"


def check_task_data(data: Any, data_types: dict[str, str]) -> None:
    """Raise TaskDataError unless `data` has every key the label config reads, of a usable type."""
    if data is None:
        raise TaskDataError("Task is empty (None)")
    if DATA_UNDEFINED_NAME in data and data_types:
        data[next(iter(data_types))] = data.pop(DATA_UNDEFINED_NAME)
    for data_key, data_type in data_types.items():
        is_array = "[" in data_key
        data_key = data_key.split("[")[0]
        try:
            item = reduce(getitem, data_key.split("."), data) if "." in data_key else data[data_key]
        except (KeyError, TypeError, IndexError):
            raise TaskDataError(f'"{data_key}" key is expected in task data')
        expected = (list,) if is_array else _DATA_TYPES.get(data_type, (str,))
        if not isinstance(item, expected):
            raise TaskDataError(
                f"data['{data_key}']={item} is of type '{type(item).__name__}', "
                f"but the object tag {data_type} expects the following types: {_type_names(expected)}"
            )


def _check_data_and_root(data: Any, data_types: dict[str, str], dict_is_root: bool) -> None:
    try:
        check_task_data(data, data_types)
    except TaskDataError as exc:
        suffix = " [assume: item as is = task root with values] " if dict_is_root else ' [assume: item["data"] = task root with values]'
        raise TaskDataError(f"{exc}{suffix}")


def _require_class(task: dict, key: str, types: tuple[type, ...]) -> None:
    if key in task and not isinstance(task[key], types):
        raise TaskDataError(f"Task[{key}] must be {' or '.join(t.__name__ for t in types)}")


def normalize_import_item(item: Any, data_types: dict[str, str]) -> dict:
    """One imported item -> {"data", "meta", "annotations", "predictions", "allow_skip"}.
    Items with a "data" key are tasks; any other dict is the data itself."""
    if not isinstance(item, dict):
        raise TaskDataError('Task root must be dict with "data", "meta", "annotations", "predictions" fields')
    if "data" not in item:
        _check_data_and_root(item, data_types, dict_is_root=True)
        return {"data": item, "meta": {}, "annotations": [], "predictions": [], "allow_skip": True}
    # Label Studio accepts a list here (legacy), but a task's data is always an object here.
    _require_class(item, "data", (dict,))
    _check_data_and_root(item["data"], data_types, dict_is_root=False)
    annotations_key = "annotations" if "annotations" in item or "completions" not in item else "completions"
    _require_class(item, annotations_key, (list,))
    annotations = item.get(annotations_key) or []
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise TaskDataError("Annotation must be dict")
        if "result" not in annotation:
            raise TaskDataError('Annotation must have "result" fields')
        if not isinstance(annotation["result"], list):
            raise TaskDataError('"result" field in annotation must be list')
    _require_class(item, "predictions", (list,))
    predictions = item.get("predictions") or []
    for prediction in predictions:
        if not isinstance(prediction, dict):
            raise TaskDataError("Prediction must be dict")
        if "result" not in prediction:
            raise TaskDataError('Prediction must have "result" fields')
    _require_class(item, "meta", (dict, list))
    allow_skip = item.get("allow_skip", True)
    if allow_skip is not None and not isinstance(allow_skip, bool):
        raise TaskDataError("Task[allow_skip] must be bool")
    return {
        "data": item["data"],
        "meta": item.get("meta") if item.get("meta") is not None else {},
        "annotations": annotations,
        "predictions": predictions,
        "allow_skip": True if allow_skip is None else allow_skip,
    }


def _item_error(index: int, message: str, item: Any) -> str:
    return f"Error at item {index}: {message} :: {item!r}"


def _plain_data_keys(data_types: dict[str, str]) -> list[tuple[str, frozenset[type]]] | None:
    """(key, accepted types) when the config reads only top-level keys; None otherwise."""
    if any("." in key or "[" in key for key in data_types):
        return None
    return [(key, frozenset(_DATA_TYPES.get(tag, (str,)))) for key, tag in data_types.items()]


_MISSING = object()


def validate_import_items(items: list, data_types: dict[str, str]) -> list[dict]:
    """Every item normalized, or ValidationError listing (up to 100) bad items by index."""
    tasks, errors = [], []
    plain_keys = _plain_data_keys(data_types)
    for index, item in enumerate(items):
        # Fast path for the common flat item {"text": ...} whose values have the exact types
        # the config accepts; anything else takes the full check below (same verdicts).
        if plain_keys is not None and type(item) is dict and "data" not in item and DATA_UNDEFINED_NAME not in item:
            for key, accepted in plain_keys:
                if type(item.get(key, _MISSING)) not in accepted:
                    break
            else:
                tasks.append({"data": item, "meta": {}, "annotations": (), "predictions": (), "allow_skip": True})
                continue
        try:
            tasks.append(normalize_import_item(item, data_types))
        except TaskDataError as exc:
            errors.append(_item_error(index, str(exc), item))
            if len(errors) >= MAX_REPORTED_ERRORS:
                errors[-1] = "..."
                break
    if errors:
        raise ValidationError({"non_field_errors": errors})
    return tasks


# ---------------------------------------------------------------- predictions


def prepare_prediction_result(result: Any, project: Project) -> list:
    """Label Studio's shorthand forms: a list of regions as is, a dict as the value of the first
    control tag that has that key, a bare string/number for a single-valued control tag."""
    if isinstance(result, list):
        if not all(isinstance(region, dict) for region in result):
            raise TaskDataError("Each item in prediction result should be dict")
        return result
    if isinstance(result, dict) or (isinstance(result, (str, numbers.Integral)) and not isinstance(result, bool)):
        for control_name, control in parsed_label_config(project.label_config).items():
            tag_type = control["type"].lower()
            to_name = ",".join(control.get("to_name", []))
            if isinstance(result, dict):
                if tag_type in result:
                    return [{"from_name": control_name, "to_name": to_name, "type": tag_type, "value": result}]
            elif tag_type in _SINGLE_VALUED_TAGS and isinstance(result, _SINGLE_VALUED_TAGS[tag_type]):
                return [{"from_name": control_name, "to_name": to_name, "type": tag_type, "value": {tag_type: [result]}}]
    raise TaskDataError(f"Incorrect format {type(result)} for prediction result {result}")


def _optional_float(value: Any) -> float | None:
    """A number, or None for anything else (Label Studio stores no score then)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _prediction_row(prediction: dict, project: Project, task_id: int | None) -> dict:
    model_version = prediction.get("model_version", "undefined")
    return {
        "task_id": task_id,
        "project_id": project.id,
        "result": prepare_prediction_result(prediction.get("result"), project),
        "score": _optional_float(prediction.get("score")),
        "model_version": str(model_version) if model_version is not None else "undefined",
    }


def preannotations_from_fields(items: list, fields: list[str], project: Project) -> list:
    """Flat items {"text": ..., "label": ...} -> {"data": item, "predictions": [one region per field]}
    (Label Studio's reformat_predictions; missing fields are skipped)."""
    controls = parsed_label_config(project.label_config)
    reformatted = []
    for item in items:
        if not isinstance(item, dict):
            reformatted.append(item)
            continue
        data = item["data"] if "data" in item else item
        regions = []
        for name in fields:
            if not isinstance(data, dict) or data.get(name) is None:
                continue
            value = data[name]
            control = controls.get(name)
            to_name = control["to_name"][0] if control and control.get("to_name") else "text"
            tag_type = control["type"].lower() if control else "choices"
            if isinstance(value, dict):
                region_value = value
            else:
                value_key = "text" if tag_type == "textarea" else tag_type
                if tag_type in ("rating", "number", "datetime"):
                    region_value = {value_key: value}
                else:
                    region_value = {value_key: value if isinstance(value, list) else [value]}
            regions.append({"result": [{"from_name": name, "to_name": to_name, "type": tag_type, "value": region_value}],
                            "score": 1.0, "model_version": "preannotated"})
        reformatted.append({"data": data, "predictions": regions})
    return reformatted


# ---------------------------------------------------------------- import


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


def import_predictions(ctx: Context, project_id: int, payload: Any) -> int:
    """Add predictions to existing tasks of the project; returns how many were created."""
    project = get_org_project(ctx, project_id)
    if not isinstance(payload, list):
        raise ValidationError(f"Expected a list of predictions but got type \"{type(payload).__name__}\".")
    wanted = {item.get("task") for item in payload if isinstance(item, dict)}
    wanted_ids = [task_id for task_id in wanted if is_valid_id(task_id)]
    existing = set(ctx.session.scalars(select(Task.id).where(Task.project_id == project.id, Task.id.in_(wanted_ids)))) if wanted_ids else set()
    rows, errors = [], []
    for index, item in enumerate(payload):
        if not isinstance(item, dict):
            errors.append(f"Prediction {index}: Prediction must be a dictionary")
            continue
        if item.get("task") not in existing:
            errors.append(f"Prediction {index}: Invalid task ID {item.get('task')} - task not found in project")
            continue
        if "result" not in item:
            errors.append(f'Prediction {index}: Prediction must have "result" fields')
            continue
        try:
            rows.append(_prediction_row(item, project, item["task"]))
        except TaskDataError as exc:
            errors.append(f"Prediction {index}: Failed to create prediction - {exc}")
    if errors:
        raise ValidationError({"non_field_errors": errors[:MAX_REPORTED_ERRORS]})
    insert_predictions(ctx.session, rows)
    refresh_task_counters(ctx.session, {row["task_id"] for row in rows})
    return len(rows)


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
    return task


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
    return task


def delete_task(ctx: Context, task_id: int) -> None:
    task = get_task(ctx, task_id)
    ctx.session.execute(delete(Task).where(Task.id == task.id))
    ctx.session.expunge(task)


def delete_all_tasks(ctx: Context, project_id: int) -> int:
    """Delete every task of the project in one statement (annotations, predictions and other
    rows that belong to tasks go with them through ON DELETE CASCADE); returns how many."""
    project = get_org_project(ctx, project_id)
    deleted = ctx.session.execute(
        delete(Task).where(Task.project_id == project.id), execution_options={"synchronize_session": False}
    ).rowcount
    ctx.session.expire_all()
    return deleted


# ---------------------------------------------------------------- events


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
    return event
