"""Prediction use cases: create, update, delete. Like annotations, every write touches the task
(updated now, by the caller) and refreshes its counters in the same transaction."""
from __future__ import annotations

import numbers
from typing import Any

from sqlalchemy import delete, null, select

from core.annotations.service import read_pk
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.events import record
from core.events.catalog import PREDICTION_UPDATED, PREDICTIONS_CREATED, PREDICTIONS_DELETED
from core.label_config import parsed_label_config
from core.predictions.models import Prediction
from core.predictions.queries import get_prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.tasks.queries import MAX_ID, is_valid_id
from core.timeutil import utcnow
from core.validation import Input

# Control tags whose whole value LS accepts as a bare string or number in a prediction result.
SINGLE_VALUED_TAGS = {"choices": str, "rating": int, "number": float, "textarea": str}
_MISSING = object()


def normalize_prediction_result(result: Any, label_config: str | None) -> list | None:
    """Label Studio's accepted prediction result forms: a list of region dicts as is; a dict
    (a region's "value") or a bare string/integer wrapped into a region of the first control
    tag that fits. None when nothing fits (LS stores that as an empty result)."""
    if isinstance(result, list):
        if not all(isinstance(item, dict) for item in result):
            raise ValidationError("Each item in prediction result should be dict")
        return result
    if isinstance(result, dict):
        for name, info in parsed_label_config(label_config).items():
            tag_type = info["type"].lower()
            if tag_type in result:
                return [_region(name, info, tag_type, result)]
        return None
    if isinstance(result, (str, numbers.Integral)):
        for name, info in parsed_label_config(label_config).items():
            tag_type = info["type"].lower()
            if tag_type in SINGLE_VALUED_TAGS and isinstance(result, SINGLE_VALUED_TAGS[tag_type]):
                return [_region(name, info, tag_type, {tag_type: [result]})]
        return None
    raise ValidationError(f"Incorrect format {type(result)} for prediction result {result}")


def _region(name: str, info: dict, tag_type: str, value: dict) -> dict:
    return {"from_name": name, "to_name": ",".join(info["to_name"]), "type": tag_type, "value": value}


@use_case(policy.PREDICTIONS_CHANGE, emits=(PREDICTIONS_CREATED,))
def create_prediction(ctx: Context, data: Any) -> Prediction:
    """POST /api/predictions/."""
    ctx.require_user()
    values, task_id, raw_result = _read_values(ctx, data, partial=False)
    task, project = _task_with_project(ctx, task_id)
    result = normalize_prediction_result(raw_result, project.label_config)
    prediction = Prediction(task_id=task.id, project_id=task.project_id, **values)
    if result is not None:  # left out, the column stays SQL NULL (a None would be JSON null)
        prediction.result = result
    ctx.session.add(prediction)
    ctx.session.flush()
    _after_write(ctx, [task.id])
    record(ctx, PREDICTIONS_CREATED, project_id=prediction.project_id, ids=[prediction.id])
    return prediction


@use_case(policy.PREDICTIONS_CHANGE, emits=(PREDICTION_UPDATED,))
def update_prediction(ctx: Context, prediction_id: int, data: Any, *, partial: bool = True) -> Prediction:
    """PATCH (partial) or PUT /api/predictions/{id}/; moving it to another task of the
    organization is allowed, as in LS."""
    ctx.require_user()
    prediction = get_prediction(ctx, prediction_id)
    values, task_id, raw_result = _read_values(ctx, data, partial=partial)
    touched = {prediction.task_id}
    if task_id is not None and task_id != prediction.task_id:
        task, project = _task_with_project(ctx, task_id)
        prediction.task_id, prediction.project_id = task.id, task.project_id
        touched.add(task.id)
    else:
        project = ctx.session.get(Project, prediction.project_id)
    if raw_result is not _MISSING:
        result = normalize_prediction_result(raw_result, project.label_config)
        prediction.result = result if result is not None else null()
    for name, value in values.items():
        setattr(prediction, name, value)
    prediction.updated_at = utcnow()
    ctx.session.flush()
    _after_write(ctx, sorted(touched))
    record(ctx, PREDICTION_UPDATED, project_id=prediction.project_id, ids=[prediction.id])
    return prediction


@use_case(policy.PREDICTIONS_CHANGE, emits=(PREDICTIONS_DELETED,))
def delete_prediction(ctx: Context, prediction_id: int) -> None:
    prediction = get_prediction(ctx, prediction_id)
    ctx.session.execute(delete(Prediction).where(Prediction.id == prediction.id), execution_options={"synchronize_session": False})
    ctx.session.expunge(prediction)
    _after_write(ctx, [prediction.task_id])
    record(ctx, PREDICTIONS_DELETED, project_id=prediction.project_id, ids=[prediction.id])


def _read_values(ctx: Context, data: Any, *, partial: bool) -> tuple[dict[str, Any], int | None, Any]:
    """(column values, task id, raw result or _MISSING) from a prediction body."""
    inp = Input(data, partial=partial)
    task_id = None
    if inp.has("task"):
        task_id = read_pk(inp, "task", allow_null=False)
    elif not partial:
        inp.error("task", "This field is required.")
    raw_result: Any = _MISSING
    if inp.has("result"):
        raw_result = inp.data["result"]
        if raw_result is None:
            inp.error("result", "This field may not be null.")
    elif not partial:
        inp.error("result", "This field is required.")
    values: dict[str, Any] = {}
    if inp.has("score"):
        values["score"] = inp.number("score")
    if inp.has("model_version"):
        values["model_version"] = inp.string("model_version", allow_null=False)
    if inp.has("cluster"):
        values["cluster"] = inp.integer("cluster", allow_null=True, min_value=-MAX_ID, max_value=MAX_ID)
    if inp.has("neighbors"):
        values["neighbors"] = inp.data["neighbors"]
    if inp.has("mislabeling"):
        values["mislabeling"] = inp.number("mislabeling", allow_null=False)
    for name in ("model", "model_run"):
        if inp.has(name):
            reference = read_pk(inp, name)
            # No ML backend or model run of this server can be named here yet.
            if reference is not None:
                inp.error(name, f'Invalid pk "{reference}" - object does not exist.')
            values[f"{name}_id"] = None
    if inp.has("project"):
        project_id = read_pk(inp, "project")
        if project_id is not None and not _project_visible(ctx, project_id):
            inp.error("project", f'Invalid pk "{project_id}" - object does not exist.')
    inp.done()
    if values.get("neighbors", _MISSING) is None:
        values["neighbors"] = null()
    return values, task_id, raw_result


def _task_with_project(ctx: Context, task_id: int) -> tuple[Task, Project]:
    """The task and its project in one query; an unknown or foreign task is a field error, as in LS."""
    row = is_valid_id(task_id) and ctx.session.execute(
        select(Task, Project).join(Project, Project.id == Task.project_id).where(Task.id == task_id, Project.organization_id == ctx.org_id)
    ).first()
    if not row:
        raise ValidationError({"task": [f'Invalid pk "{task_id}" - object does not exist.']})
    return row[0], row[1]


def _project_visible(ctx: Context, project_id: int) -> bool:
    return is_valid_id(project_id) and ctx.session.scalar(
        select(Project.id).where(Project.id == project_id, Project.organization_id == ctx.org_id)
    ) is not None


def _after_write(ctx: Context, task_ids: list[int]) -> None:
    # LS also marks the task updated (now, by the caller) whenever its predictions change.
    refresh_task_counters(ctx.session, task_ids, touched_by=ctx.user.id)
