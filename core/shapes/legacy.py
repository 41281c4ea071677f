"""Core objects -> the JSON of the legacy Label Studio 0.8 API.

0.8 called annotations "completions" and stamped them with unix seconds; tasks carry them under
"completions" (not "annotations") and show `completed_at` as "YYYY-MM-DD HH:MM:SS"."""
from __future__ import annotations

import calendar
import csv
import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from core import label_config as lc
from core.annotations.models import Annotation
from core.errors import ValidationError
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task

if TYPE_CHECKING:
    from core.imports.tasks_import import ImportResult


def unix_seconds(value: datetime | None) -> int | None:
    """Naive UTC (as stored) -> seconds since the epoch."""
    return calendar.timegm(value.timetuple()) if value is not None else None


def completion_json(annotation: Annotation) -> dict:
    return {
        "id": annotation.id,
        "lead_time": annotation.lead_time,
        "result": annotation.result if annotation.result is not None else [],
        "created_at": unix_seconds(annotation.created_at),
        "updated_at": unix_seconds(annotation.updated_at),
        "completed_by": annotation.completed_by_id,
        "was_cancelled": bool(annotation.was_cancelled),
        "ground_truth": bool(annotation.ground_truth),
    }


def prediction_json(prediction: Prediction) -> dict:
    return {
        "id": prediction.id,
        "model_version": prediction.model_version or "",
        "score": prediction.score,
        "result": prediction.result if prediction.result is not None else [],
        "created_at": unix_seconds(prediction.created_at),
    }


def task_json(task: Task, completions: Iterable[Annotation], predictions: Iterable[Prediction]) -> dict:
    completed_at = task.completed_at.strftime("%Y-%m-%d %H:%M:%S") if task.completed_at is not None else None
    return {
        "id": task.id,
        "data": task.data,
        "meta": task.meta if task.meta is not None else {},
        "completions": [completion_json(annotation) for annotation in completions],
        "predictions": [prediction_json(prediction) for prediction in predictions],
        "created_at": unix_seconds(task.created_at),
        "updated_at": unix_seconds(task.updated_at),
        "completed_at": completed_at,
        "is_labeled": bool(task.is_labeled),
        "total_completions": task.total_annotations,
        "cancelled_completions": task.cancelled_annotations,
        "total_predictions": task.total_predictions,
        "project": task.project_id,
    }


def project_json(project: Project, counters: Mapping[str, int]) -> dict:
    """0.8's project.serialize(): settings, derived config views and counters. Every project
    here is one of many (0.8's multi-session mode), and its members may manage tasks and completions.
    `counters`: Label Studio's COUNTER_FIELDS in their order, as
    core.projects.queries.project_counters(..., fields=COUNTER_FIELDS) returns them."""
    config = project.label_config or ""
    parsed = lc.parsed_label_config(config)
    completion_count = counters.get("total_annotations_number", 0) + counters.get("skipped_annotations_number", 0)
    return {
        "id": project.id,
        "project_name": project.title,
        "title": project.title,
        "description": project.description,
        "task_count": counters.get("task_number", 0),
        "completion_count": completion_count,
        "config": {
            "title": project.title,
            "description": project.description,
            "label_config": config,
            "instruction": project.expert_instruction,
            "show_instruction": project.show_instruction,
            "show_skip_button": project.show_skip_button,
            "enable_empty_annotation": project.enable_empty_annotation,
            "maximum_annotations": project.maximum_annotations,
            "sampling": project.sampling,
        },
        "label_config": config,
        "label_config_line": config.replace("\n", "").replace("\r", ""),
        "instruction": project.expert_instruction,
        "data_types": lc.data_types(config),
        "config_has_control_tags": bool(parsed),
        "can_manage_tasks": True,
        "can_manage_completions": True,
        "can_delete_tasks": True,
        "multi_session_mode": True,
        **counters,
    }


def import_result_json(result: ImportResult) -> dict:
    return {
        "task_count": result.task_count,
        "completion_count": result.annotation_count or 0,
        "prediction_count": result.prediction_count or 0,
        "duration": result.duration,
        "new_task_ids": result.task_ids or [],
    }


SAMPLE_FILE_FORMATS = ("json", "csv", "tsv", "txt")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def sample_tasks_file(tasks: list[dict], file_format: str) -> tuple[bytes, str]:
    """Example tasks as an importable file: (content, content type). CSV/TSV cells that are not
    strings hold JSON; TXT holds one value per line, so it suits configs reading one key only."""
    if file_format == "json":
        return json.dumps(tasks, ensure_ascii=False).encode(), "application/json"
    columns = list(dict.fromkeys(key for task in tasks for key in task))
    if file_format == "txt":
        if len(columns) > 1:
            raise ValidationError({"q": ["TXT is unsupported for projects with multiple sources in config"]})
        lines = [_cell(task.get(columns[0], "")) if columns else "" for task in tasks]
        return ("\n".join(lines) + "\n").encode(), "text/plain"
    if file_format in ("csv", "tsv"):
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if file_format == "csv" else "\t", lineterminator="\n")
        writer.writerow(columns)
        for task in tasks:
            writer.writerow([_cell(task.get(column, "")) for column in columns])
        return out.getvalue().encode(), "text/csv" if file_format == "csv" else "text/tab-separated-values"
    raise ValidationError({"q": [f'Incorrect format "{file_format}": use one of {", ".join(SAMPLE_FILE_FORMATS)}']})
