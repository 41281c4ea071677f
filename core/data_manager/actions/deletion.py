"""Delete the selected tasks, their annotations (optionally one annotator's) or their predictions."""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.data_manager.actions.common import ActionRun, _chunks, _in_project, _record, _select
from core.data_manager.models import View
from core.errors import ValidationError
from core.events.catalog import ANNOTATIONS_DELETED, PREDICTIONS_DELETED, TASKS_DELETED, VIEWS_DELETED
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.users.models import User

# ---------------------------------------------------------------- delete_tasks


def _delete_tasks(run: ActionRun, ids: list[int]) -> Counter:
    """One DELETE per chunk; annotations, predictions and every other row of a task go with it
    through ON DELETE CASCADE."""
    deleted: list[int] = []
    for chunk in _chunks(ids):
        deleted += run.session.scalars(
            delete(Task).where(*_in_project(run, chunk)).returning(Task.id), execution_options={"synchronize_session": False}
        )
    _record(run, TASKS_DELETED, deleted)
    return Counter(tasks=len(deleted))


def _finish_task_deletion(run: ActionRun) -> bool:
    """Label Studio drops the project's tabs once it has no tasks left and asks the frontend to
    reload; returns that reload flag."""
    if run.session.scalar(select(exists().where(Task.project_id == run.project.id))):
        return False
    dropped = run.session.scalars(
        delete(View).where(View.project_id == run.project.id).returning(View.id), execution_options={"synchronize_session": False}
    )
    _record(run, VIEWS_DELETED, dropped)
    return True


def _respond_delete_tasks(run: ActionRun, counts: Counter) -> dict:
    reload = _finish_task_deletion(run)
    return {"processed_items": counts["tasks"], "reload": reload, "detail": f"Deleted {counts['tasks']} tasks"}


# ---------------------------------------------------------------- delete_tasks_annotations


def _annotator_param(body: dict, *_: Any) -> dict:
    annotator = body.get("annotator")
    if annotator in (None, ""):
        return {"annotator": None}
    try:
        if isinstance(annotator, bool):
            raise ValueError
        return {"annotator": int(annotator)}
    except (TypeError, ValueError):
        raise ValidationError({"annotator": ["A valid integer is required."]})


def _delete_annotations(run: ActionRun, ids: list[int]) -> Counter:
    deleted, touched = [], set()
    annotator = run.params.get("annotator")
    for chunk in _chunks(ids):
        conditions = [Annotation.task_id.in_(chunk), Annotation.project_id == run.project.id]
        if annotator is not None:
            conditions.append(Annotation.completed_by_id == annotator)
        for annotation_id, task_id in run.session.execute(
            delete(Annotation).where(*conditions).returning(Annotation.id, Annotation.task_id),
            execution_options={"synchronize_session": False},
        ):
            deleted.append(annotation_id)
            touched.add(task_id)
    # Label Studio marks the tasks that lost annotations updated by the caller.
    refresh_task_counters(run.session, touched, touched_by=run.user_id)
    _record(run, ANNOTATIONS_DELETED, deleted)
    return Counter(annotations=len(deleted))


def _respond_deleted_annotations(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["annotations"], "detail": f"Deleted {counts['annotations']} annotations"}


# ---------------------------------------------------------------- delete_tasks_predictions


def _delete_predictions(run: ActionRun, ids: list[int]) -> Counter:
    deleted, touched = [], set()
    for chunk in _chunks(ids):
        conditions = [Prediction.task_id.in_(chunk), Prediction.project_id == run.project.id]
        for prediction_id, task_id in run.session.execute(
            delete(Prediction).where(*conditions).returning(Prediction.id, Prediction.task_id),
            execution_options={"synchronize_session": False},
        ):
            deleted.append(prediction_id)
            touched.add(task_id)
    refresh_task_counters(run.session, touched)
    _record(run, PREDICTIONS_DELETED, deleted)
    return Counter(predictions=len(deleted))


def _respond_deleted_predictions(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["predictions"], "detail": f"Deleted {counts['predictions']} predictions"}


# ---------------------------------------------------------------- dialog form


def _annotators_form(session: Session, project: Project) -> list[dict]:
    authors = select(Annotation.completed_by_id).where(Annotation.project_id == project.id)
    users = session.execute(select(User.id, User.first_name, User.last_name, User.username, User.email)
                            .where(User.id.in_(authors)).order_by(User.id)).all()
    options = [{"value": str(user.id), "label": f"{user.first_name} {user.last_name}".strip() or user.username or user.email}
               for user in users]
    return [{"columnCount": 1, "fields": [_select("annotator", "Annotator", options, placeholder="All", searchable=True)]}]
