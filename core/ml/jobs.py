"""Job kinds of the "ml" queue: the training signal (START_TRAINING to <url>/webhook) and a
prediction run over a project's tasks (Label Studio Enterprise's "predict all tasks"), plus the
outbox subscriber that sends the training signal every N-th annotation.

Label Studio sends both inside the request; here the request answers at once and a worker calls
the backend, so a slow or absent backend never holds up an API call or an annotation save."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.annotations.models import Annotation
from core.config import Settings
from core.db.unit_of_work import transaction
from core.errors import DomainError
from core.events import Event, record_event
from core.events.catalog import ANNOTATION_CREATED, ANNOTATION_UPDATED, ML_BACKEND_UPDATED, ML_TRAINING_REQUESTED
from core.events.outbox import register_subscriber
from core.jobs.models import Job
from core.jobs.registry import ML_QUEUE, register_job_kind
from core.jobs.service import report_progress, start_job_in_session
from core.ml import client
from core.ml.client import Connection
from core.ml.connection import ask_predictions, refresh_state, store_predictions, tasks_without_prediction_of
from core.ml.models import DISCONNECTED, ERROR, TRAINING, MLBackend
from core.projects.models import Project
from core.projects.queries import config_suitable_for_bulk_annotation, project_counters, users_by_ids
from core.shapes.projects import project_json
from core.tasks.models import Task

TRAIN_KIND = "ml_train"
PREDICT_KIND = "ml_predict"
START_TRAINING = "START_TRAINING"


def _project_payload(session: Session, project: Project) -> dict:
    """The project as Label Studio's webhook payloads carry it (with its counters)."""
    counters = project_counters(session, [project.id])[project.id]
    created_by = users_by_ids(session, [project.created_by_id]).get(project.created_by_id)
    return project_json(project, counters, created_by, config_suitable_for_bulk_annotation(project.label_config))


def _set_state(session: Session, backend_id: int, state: str, error: str | None) -> None:
    session.execute(update(MLBackend).where(MLBackend.id == backend_id).values(state=state, error_message=error),
                    execution_options={"synchronize_session": False})


def run_training(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    """Send START_TRAINING; the backend goes to TR (training) or ER with the error (Label Studio's train())."""
    with transaction(session_factory) as session:
        job = session.get_one(Job, job_id)
        backend = session.get(MLBackend, job.payload.get("ml_backend_id"))
        if backend is None:
            raise DomainError("The ML backend was removed before the training signal was sent.")
        project = session.get_one(Project, backend.project_id)
        connection, backend_id, actor_id = Connection.of(backend), backend.id, job.created_by_id
        organization_id, project_id = project.organization_id, project.id
        payload = {"project": _project_payload(session, project)}
    answer = client.send_webhook(settings, connection, START_TRAINING, payload)
    with transaction(session_factory) as session:
        _set_state(session, backend_id, ERROR if answer.is_error else TRAINING, answer.error)
        record_event(session, Event(ML_BACKEND_UPDATED, organization_id, project_id, (backend_id,), actor_id))
    if answer.is_error:
        raise DomainError(f"The ML backend did not take the training signal: {answer.error}")
    return {"status_code": answer.status_code, "response": answer.body}


def run_prediction(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    """Ask the backend for the predictions the project's tasks lack, `batch_size` tasks per call;
    each batch is stored with its progress in one transaction. A reclaimed job starts over and
    skips the tasks predicted already (they have a prediction of the model version)."""
    with transaction(session_factory) as session:
        job = session.get_one(Job, job_id)
        batch_size = int(job.payload.get("batch_size") or 100)
        backend = session.get(MLBackend, job.payload.get("ml_backend_id"))
        if backend is None:
            raise DomainError("The ML backend was removed before the prediction run started.")
        project = session.get_one(Project, backend.project_id)
        refresh_state(session, settings, backend, project, force=True)
        if backend.state in (DISCONNECTED, ERROR):
            raise DomainError(f"The ML backend is not ready ({backend.state}): {backend.error_message or 'health check failed'}")
        backend_id, project_id, actor_id, model_version = backend.id, project.id, job.created_by_id, backend.model_version
        all_ids = list(session.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)))
        todo = tasks_without_prediction_of(session, all_ids, model_version)
        report_progress(session, job_id, 0, len(todo))
    done, stored, errors = 0, 0, []
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        with transaction(session_factory) as session:
            backend = session.get(MLBackend, backend_id)
            project = session.get(Project, project_id)
            if backend is None or project is None:
                raise DomainError("The ML backend or its project was removed during the prediction run.")
            missing = tasks_without_prediction_of(session, batch, model_version)
            rows, error = ask_predictions(session, settings, backend, project, missing)
            if error:
                errors.append(error)
            stored += len(store_predictions(session, project, rows, actor_id))
            done += len(batch)
            report_progress(session, job_id, done, len(todo))
    result: dict[str, Any] = {"tasks": len(todo), "predictions": stored, "model_version": model_version}
    if errors:
        result["errors"] = errors[:10]
    return result


# ---------------------------------------------------------------- training every N-th annotation


def _training_backends(session: Session, project_ids: set[int]) -> dict[int, tuple[int, list[MLBackend]]]:
    """project id -> (N, its backends) for the projects that train every N annotations."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Project.id, Project.min_annotations_to_start_training, MLBackend)
        .join(MLBackend, MLBackend.project_id == Project.id)
        .where(Project.id.in_(project_ids), Project.min_annotations_to_start_training > 0)
        .order_by(MLBackend.id)
    )
    found: dict[int, tuple[int, list[MLBackend]]] = {}
    for project_id, every, backend in rows:
        found.setdefault(project_id, (every, []))[1].append(backend)
    return found


def on_annotations_saved(session: Session, events: list[Event]) -> None:
    """Label Studio's update_ml_backend signal: when a saved annotation (not a ground truth) makes
    the project's annotation count a multiple of min_annotations_to_start_training, every backend
    of the project gets a training job. A created annotation counts as the annotations up to it
    (its rank, so events dispatched in a batch each see their own count); an updated one, as
    Label Studio does on every save, the project's count."""
    training = _training_backends(session, {e.project_id for e in events if e.project_id is not None})
    if not training:
        return
    for event in events:
        if event.project_id not in training:
            continue
        every, backends = training[event.project_id]
        for annotation_id in event.object_ids:
            ground_truth = session.scalar(select(Annotation.ground_truth).where(Annotation.id == annotation_id))
            if ground_truth is None or ground_truth:
                continue
            counted = select(func.count(Annotation.id)).where(Annotation.project_id == event.project_id)
            if event.kind == ANNOTATION_CREATED:
                counted = counted.where(Annotation.id <= annotation_id)
            if session.scalar(counted) % every:
                continue
            for backend in backends:
                job = start_job_in_session(session, TRAIN_KIND, {"ml_backend_id": backend.id},
                                           organization_id=event.organization_id, project_id=event.project_id,
                                           created_by_id=event.actor_id)
                record_event(session, Event(ML_TRAINING_REQUESTED, event.organization_id, event.project_id,
                                            (backend.id,), event.actor_id, {"job": job.id, "annotation": annotation_id}))


def register_jobs() -> None:
    register_job_kind(TRAIN_KIND, run_training, queue=ML_QUEUE)
    register_job_kind(PREDICT_KIND, run_prediction, queue=ML_QUEUE)


def register_subscribers() -> None:
    register_subscriber("ml_training_signal", on_annotations_saved, [ANNOTATION_CREATED, ANNOTATION_UPDATED])
