"""Create annotations by the caller: from the selected tasks' predictions, or as copies of one
source annotation (propagate_annotations)."""
from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.data_manager.actions.common import ActionRun, _chunks, _in_project, _record, _select
from core.errors import ValidationError
from core.events.catalog import ANNOTATIONS_CREATED
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.timeutil import utcnow

# ---------------------------------------------------------------- predictions_to_annotations


def _model_version_param(body: dict, *_: Any) -> dict:
    version = body.get("model_version")
    if version is None:
        return {"model_version": None}
    if isinstance(version, list):
        if not all(isinstance(item, str) for item in version):
            raise ValidationError({"model_version": ["Each model version must be a string."]})
        return {"model_version": version}
    if isinstance(version, (dict, bool)):
        raise ValidationError({"model_version": ["Not a valid string."]})
    return {"model_version": str(version)}


def _insert_annotations_by_caller(run: ActionRun, rows: list[dict]) -> list[int]:
    """Annotations by the acting user in the action's project, one multi-row INSERT; each row
    names its task_id, result and parent (prediction or annotation). Returns the new ids."""
    now = utcnow()
    common = {
        "project_id": run.project.id, "completed_by_id": run.user_id, "was_cancelled": False,
        "ground_truth": False, "bulk_created": False, "created_at": now, "updated_at": now,
        "parent_prediction_id": None, "parent_annotation_id": None,
    }
    table = Annotation.__table__
    return list(run.session.scalars(
        table.insert().returning(table.c.id), [{**common, **row, "unique_id": str(uuid.uuid4())} for row in rows]
    ))


def _predictions_to_annotations(run: ActionRun, ids: list[int]) -> Counter:
    """An annotation by the caller from every prediction of the tasks that no annotation was
    made from yet (so running it twice creates nothing new), in one executemany per chunk."""
    version = run.params.get("model_version")
    created, touched = [], set()
    already_converted = exists().where(Annotation.parent_prediction_id == Prediction.id)
    for chunk in _chunks(ids):
        query = select(Prediction.id, Prediction.task_id, Prediction.result).where(
            Prediction.task_id.in_(chunk), Prediction.project_id == run.project.id, ~already_converted
        )
        if isinstance(version, list):
            query = query.where(Prediction.model_version.in_(version))
        elif version is not None:
            query = query.where(Prediction.model_version == version)
        predictions = run.session.execute(query.order_by(Prediction.id)).all()
        if not predictions:
            continue
        created += _insert_annotations_by_caller(run, [
            {"task_id": task_id, "result": result, "parent_prediction_id": prediction_id}
            for prediction_id, task_id, result in predictions
        ])
        touched.update(task_id for _, task_id, _ in predictions)
    refresh_task_counters(run.session, touched, touched_by=run.user_id)
    _record(run, ANNOTATIONS_CREATED, created)
    return Counter(annotations=len(created))


def _respond_created_annotations(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Created {counts['annotations']} annotations"}


# ---------------------------------------------------------------- propagate_annotations


def _source_annotation_param(body: dict, session: Session, project: Project) -> dict:
    raw = body.get("source_annotation_id")
    try:
        annotation_id = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        annotation_id = None
    source = None
    if annotation_id is not None and 0 < annotation_id <= 2**31 - 1:
        source = session.execute(
            select(Annotation.id, Annotation.task_id, Annotation.result).where(Annotation.id == annotation_id, Annotation.project_id == project.id)
        ).one_or_none()
    if source is None:
        message = f"Source annotation {raw} not found in the current project"
        raise ValidationError({"source_annotation_id": [message]}, detail=message)
    return {"source_annotation_id": source.id, "source_task_id": source.task_id, "result": source.result}


def _propagate_annotations(run: ActionRun, ids: list[int]) -> Counter:
    """A copy of the source annotation, by the caller, on every selected task but its own."""
    created, touched = [], []
    source_task = run.params["source_task_id"]
    for chunk in _chunks(ids):
        task_ids = run.session.scalars(select(Task.id).where(*_in_project(run, chunk), Task.id != source_task)).all()
        if not task_ids:
            continue
        created += _insert_annotations_by_caller(run, [
            {"task_id": task_id, "result": run.params["result"], "parent_annotation_id": run.params["source_annotation_id"]}
            for task_id in task_ids
        ])
        touched.extend(task_ids)
    refresh_task_counters(run.session, touched)
    _record(run, ANNOTATIONS_CREATED, created)
    return Counter(annotations=len(created))


# ---------------------------------------------------------------- dialog forms


def _model_versions_form(session: Session, project: Project) -> list[dict]:
    versions = list(session.scalars(
        select(Prediction.model_version).where(Prediction.project_id == project.id).group_by(Prediction.model_version).order_by(Prediction.model_version)
    ))
    first = project.model_version
    if first:
        # The project's current model version comes first.
        versions = [first, *(version for version in versions if version != first)]
    return [{"columnCount": 1, "fields": [_select("model_version", "Choose predictions", versions, value=first)]}]


def _propagate_form(session: Session, project: Project) -> list[dict]:
    first_id = session.scalar(select(func.min(Annotation.id)).where(Annotation.project_id == project.id))
    label = "Enter source annotation ID" + (f" [first ID: {first_id}]" if first_id is not None else "")
    return [{"columnCount": 1, "fields": [{"type": "number", "name": "source_annotation_id", "label": label}]}]
