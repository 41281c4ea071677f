"""Task -> Label Studio JSON: TaskSerializer (create), TaskSimpleSerializer (update),
DataManagerTaskSerializer (list and detail), the export's ExportDataSerializer, ProjectImport and TaskEvent."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.projects.models import Project
from core.shapes.annotations import annotation_json
from core.shapes.predictions import prediction_json
from core.shapes.users import completed_by_dm_json
from core.tasks.models import ProjectImport, Task, TaskEvent
from core.timeutil import isoformat

if TYPE_CHECKING:
    from core.imports.tasks_import import ImportResult
    from core.tasks.queries import TaskRelations

# The Data Manager cuts its pretty-printed result columns at this length.
RESULTS_CHAR_LIMIT = 500


def _updated_by(task: Task) -> list[dict]:
    return [{"user_id": task.updated_by_id}] if task.updated_by_id else []


def _tail(task: Task) -> dict:
    """The model fields every task shape ends with, in Label Studio's order."""
    return {
        "data": task.data,
        "meta": task.meta if task.meta is not None else {},
        "created_at": isoformat(task.created_at),
        "updated_at": isoformat(task.updated_at),
        "is_labeled": bool(task.is_labeled),
        "overlap": task.overlap,
    }


def _comments(task: Task) -> dict:
    return {
        "comment_count": task.comment_count,
        "unresolved_comment_count": task.unresolved_comment_count,
        "last_comment_updated_at": isoformat(task.last_comment_updated_at),
    }


def task_json(task: Task) -> dict:
    """TaskSerializer: the answer to POST /api/tasks/."""
    return {
        "id": task.id,
        **_tail(task),
        "inner_id": task.inner_id,
        "total_annotations": task.total_annotations,
        "cancelled_annotations": task.cancelled_annotations,
        "total_predictions": task.total_predictions,
        **_comments(task),
        "project": task.project_id,
        "updated_by": task.updated_by_id,
        "file_upload": task.file_upload_id,
        "comment_authors": [],
    }


def task_simple_json(task: Task, relations: TaskRelations) -> dict:
    """TaskSimpleSerializer: the answer to PATCH /api/tasks/{id}/."""
    return {
        **task_json(task),
        "annotations": [annotation_json(a, relations.users) for a in relations.annotations.get(task.id, [])],
        "predictions": [prediction_json(p) for p in relations.predictions.get(task.id, [])],
    }


def _pretty(values: list[Any], unique: bool = False) -> str:
    """The Data Manager's one-line rendering of aggregated values (results, ids, versions)."""
    values = [v for v in values if v is not None]
    if not values:
        return ""
    if unique:
        values = sorted(set(values), key=str)
    output = json.dumps(_round_floats(values), ensure_ascii=False)[1:-1]
    return output[:RESULTS_CHAR_LIMIT].replace(',"', ', "').replace("],[", "] [").replace('"', "")


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round_floats(v) for v in value]
    return value


def _average(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def dm_task_json(task: Task, project: Project, relations: TaskRelations | None, *, detail: bool = False) -> dict:
    """DataManagerTaskSerializer. Without `relations` (GET /api/tasks/ without fields=all) the
    computed columns are not evaluated, as in Label Studio: empty strings and lists."""
    if relations is None:
        return {
            "id": task.id,
            "drafts": [],
            "annotators": [],
            "inner_id": task.inner_id,
            "cancelled_annotations": task.cancelled_annotations,
            "total_annotations": task.total_annotations,
            "total_predictions": task.total_predictions,
            "annotations_results": "",
            "predictions_results": "",
            "file_upload": None,
            "storage_filename": None,
            "annotations_ids": "",
            "predictions_model_versions": "",
            "updated_by": _updated_by(task),
            **_tail(task),
            **_comments(task),
            "project": task.project_id,
            "comment_authors": [],
        }
    annotations = relations.annotations.get(task.id, [])
    predictions = relations.predictions.get(task.id, [])
    if detail:
        rendered_annotations = []
        for annotation in annotations:
            body = annotation_json(annotation, relations.users)
            author = relations.users.get(annotation.completed_by_id)
            if author is not None:
                body["completed_by"] = completed_by_dm_json(author)
            rendered_annotations.append(body)
    else:
        rendered_annotations = [annotation_json(a, relations.users) for a in annotations]
    # Label Studio averages the project's model version when it has one ("" included), else all.
    scored = [p for p in predictions if project.model_version is None or p.model_version == project.model_version]
    return {
        "id": task.id,
        "predictions": [prediction_json(p) for p in predictions],
        "annotations": rendered_annotations,
        "drafts": [],
        "annotators": sorted({a.completed_by_id for a in annotations if a.completed_by_id is not None}),
        "inner_id": task.inner_id,
        "cancelled_annotations": task.cancelled_annotations,
        "total_annotations": task.total_annotations,
        "total_predictions": task.total_predictions,
        "completed_at": isoformat(task.completed_at),
        # The task detail leaves these two out of the evaluation (Label Studio does too).
        "annotations_results": "" if detail else _pretty([a.result for a in annotations]),
        "predictions_results": "" if detail else _pretty([p.result for p in predictions]),
        "predictions_score": _average([p.score for p in scored]),
        "file_upload": None,
        "storage_filename": None,
        "annotations_ids": _pretty([a.id for a in annotations], unique=True),
        "predictions_model_versions": _pretty([p.model_version for p in predictions], unique=True),
        "avg_lead_time": _average([a.lead_time for a in annotations]),
        "draft_exists": False,
        "updated_by": _updated_by(task),
        **_tail(task),
        **_comments(task),
        "project": task.project_id,
        "comment_authors": [],
    }


def dm_task_json_evaluated(task: Task, project: Project, relations: TaskRelations | None, evaluated: set[str]) -> dict:
    """The list shape without fields=all, plus the computed columns Label Studio evaluates
    because a filter, the ordering or the view's visible columns use them."""
    body = dm_task_json(task, project, None)
    if "completed_at" in evaluated:
        body["completed_at"] = isoformat(task.completed_at)
    if evaluated - {"completed_at"} and relations is not None:
        computed = dm_task_json(task, project, relations)
        body.update({name: computed[name] for name in sorted(evaluated) if name in computed})
    return body


def exported_task_json(task: Any, *, annotations: list[dict], predictions: list, data: Any, meta: Any,
                       file_upload: str | None = None) -> dict:
    """The export's task (data_export ExportDataSerializer): its annotations
    (core.shapes.annotations.exported_annotation_json), the name of the stored file the task was
    imported from ("<uuid8>-<name>", Label Studio's file_upload_name; left out for other tasks, as
    Label Studio does), drafts and predictions (ids, or expanded with
    core.shapes.predictions.exported_prediction_json), then the model's fields. `task` is a Task or a
    row with its columns; the caller passes the JSON columns (the export embeds raw JSON text). Times
    stay datetimes (see core.shapes.annotations.raw_time). Big exports render the fields after
    "predictions" in SQL instead (core.exports.sql_json), in this order."""
    head = {"id": task.id, "annotations": annotations}
    if file_upload is not None:
        head["file_upload"] = file_upload
    return {
        **head,
        "drafts": [],
        "predictions": predictions,
        "data": data,
        "meta": meta,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "allow_skip": task.allow_skip,
        "inner_id": task.inner_id,
        "total_annotations": task.total_annotations,
        "cancelled_annotations": task.cancelled_annotations,
        "total_predictions": task.total_predictions,
        "comment_count": task.comment_count,
        "unresolved_comment_count": task.unresolved_comment_count,
        "last_comment_updated_at": task.last_comment_updated_at,
        "project": task.project_id,
        "updated_by": task.updated_by_id,
        "comment_authors": [],
    }


def import_result_json(result: ImportResult) -> dict:
    """The 201 answer of a synchronous (Community edition) import."""
    body = {
        "task_count": result.task_count,
        "annotation_count": result.annotation_count,
        "prediction_count": result.prediction_count,
        "duration": result.duration,
        "file_upload_ids": result.file_upload_ids,
        "could_be_tasks_list": result.could_be_tasks_list,
        "found_formats": result.found_formats,
        "data_columns": result.data_columns,
    }
    if result.task_ids is not None:
        body["task_ids"] = result.task_ids
    return body


def project_import_json(project_import: ProjectImport) -> dict:
    return {
        "id": project_import.id,
        "project": project_import.project_id,
        "preannotated_from_fields": project_import.preannotated_from_fields,
        "commit_to_project": project_import.commit_to_project,
        "return_task_ids": project_import.return_task_ids,
        "status": project_import.status,
        "url": project_import.url,
        "error": project_import.error,
        "created_at": isoformat(project_import.created_at),
        "updated_at": isoformat(project_import.updated_at),
        "finished_at": isoformat(project_import.finished_at),
        "task_count": project_import.task_count,
        "annotation_count": project_import.annotation_count,
        "prediction_count": project_import.prediction_count,
        "duration": int(project_import.duration or 0),
        "file_upload_ids": project_import.file_upload_ids or [],
        "could_be_tasks_list": project_import.could_be_tasks_list,
        "found_formats": project_import.found_formats or [],
        "data_columns": project_import.data_columns or [],
        # Label Studio keeps the raw request body of asynchronous imports here; it is not stored.
        "tasks": None,
        "task_ids": project_import.task_ids or [],
    }


def task_event_json(event: TaskEvent) -> dict:
    return {
        "id": event.id,
        "task": event.task_id,
        "project": event.project_id,
        "organization": event.organization_id,
        "actor": event.actor_id,
        "annotation": event.annotation_id,
        "annotation_draft_id": event.annotation_draft_id,
        "review": event.review_id,
        "event_key": event.event_key,
        "event_time": isoformat(event.event_time),
        "meta": event.meta,
        "created_at": isoformat(event.created_at),
    }
