"""Predictions in imports: Label Studio's shorthand results expanded, preannotated fields turned
into predictions, and predictions added to existing tasks."""
from __future__ import annotations

import numbers
from typing import Any

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.events import record
from core.events.catalog import PREDICTIONS_CREATED
from core.imports.validation import MAX_REPORTED_ERRORS, TaskDataError
from core.label_config import parsed_label_config
from core.projects.models import Project
from core.tasks.bulk import insert_predictions
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.tasks.queries import get_org_project, is_valid_id

# Control tags whose prediction can be given as a bare value (Label Studio's SINGLE_VALUED_TAGS).
_SINGLE_VALUED_TAGS: dict[str, type | tuple[type, ...]] = {"choices": str, "rating": int, "number": float, "textarea": str}


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


@use_case(policy.PREDICTIONS_CHANGE, emits=(PREDICTIONS_CREATED,))
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
    prediction_ids = insert_predictions(ctx.session, rows)
    refresh_task_counters(ctx.session, {row["task_id"] for row in rows})
    if prediction_ids:
        record(ctx, PREDICTIONS_CREATED, project_id=project.id, ids=prediction_ids)
    return len(rows)
