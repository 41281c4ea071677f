"""What every ML use case and job shares, without a request context: keeping a backend's state
fresh (health + setup, cached), and asking /predict for tasks then storing the predictions.

Label Studio calls /health and /setup on every read of a backend; here the answer is trusted for
`settings.ml_health_cache_seconds` (health_checked_at), so list pages and task reads do not
call a backend each time."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.annotations.batch import annotations_by_task_ids
from core.auth.models import LegacyToken
from core.config import Settings
from core.events import Event, record_event
from core.events.catalog import PREDICTIONS_CREATED
from core.ml import client
from core.ml.client import BackendAnswer, Connection
from core.ml.models import CONNECTED, DISCONNECTED, ERROR, MLBackend
from core.predictions.batch import predictions_by_task_ids
from core.predictions.models import Prediction
from core.projects.models import Project
from core.shapes.tasks import task_simple_json
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.tasks.queries import TaskRelations
from core.timeutil import utcnow
from core.users.batch import users_by_ids

log = logging.getLogger("labelgraph.ml")


def access_token(session: Session, project: Project) -> str | None:
    """The project creator's legacy token, handed to the backend at /setup (as Label Studio does)
    so it can fetch task data."""
    if project.created_by_id is None:
        return None
    return session.scalar(select(LegacyToken.key).where(LegacyToken.user_id == project.created_by_id))


def health_and_setup(session: Session, settings: Settings, connection: Connection, project: Project,
                     extra_params: Any) -> tuple[BackendAnswer, BackendAnswer | None]:
    """/health, then /setup when healthy (Label Studio's order)."""
    healthy = client.health(settings, connection)
    if healthy.is_error:
        return healthy, None
    return healthy, client.setup(settings, connection, project, access_token=access_token(session, project),
                                 extra_params=extra_params)


def apply_state(backend: MLBackend, healthy: BackendAnswer, setup: BackendAnswer | None) -> None:
    """Label Studio's update_state from the answers: DI when /health failed, ER when /setup did,
    else CO with setup's model_version (when auto_update)."""
    if healthy.is_error or setup is None:
        backend.state = DISCONNECTED
    elif setup.is_error:
        backend.state, backend.error_message = ERROR, setup.error
    else:
        backend.state, backend.error_message = CONNECTED, None
        version = setup.body.get("model_version") if isinstance(setup.body, dict) else None
        if backend.auto_update:
            backend.model_version = str(version) if version is not None else backend.model_version
    backend.health_checked_at = utcnow()


def refresh_state(session: Session, settings: Settings, backend: MLBackend, project: Project, *,
                  force: bool = False) -> bool:
    """Ask the backend for its state unless a recent answer is cached (or `force`); True when
    its state, error or model version changed."""
    checked = backend.health_checked_at
    if not force and checked is not None and utcnow() - checked < timedelta(seconds=settings.ml_health_cache_seconds):
        return False
    before = (backend.state, backend.error_message, backend.model_version)
    healthy, setup = health_and_setup(session, settings, Connection.of(backend), project, backend.extra_params)
    apply_state(backend, healthy, setup)
    session.flush()
    return (backend.state, backend.error_message, backend.model_version) != before


def first_backend(session: Session, project_id: int) -> MLBackend | None:
    """The backend Label Studio asks for a project's predictions (project.ml_backend: the first)."""
    return session.scalar(select(MLBackend).where(MLBackend.project_id == project_id).order_by(MLBackend.id).limit(1))


def tasks_without_prediction_of(session: Session, task_ids: Iterable[int], model_version: str | None) -> list[int]:
    """The tasks, in id order, that have no prediction of `model_version` yet (Label Studio asks
    for predictions only for those: none again until the version changes)."""
    ids = sorted(set(task_ids))
    if not ids:
        return []
    has_version = select(Prediction.task_id).where(Prediction.task_id.in_(ids),
                                                    Prediction.model_version == (model_version or ""))
    return list(session.scalars(select(Task.id).where(Task.id.in_(ids), Task.id.not_in(has_version)).order_by(Task.id)))


def task_payloads(session: Session, project: Project, task_ids: list[int], *, drafts: bool = False) -> list[dict]:
    """Tasks as Label Studio sends them to /predict (TaskSimpleSerializer: with annotations and predictions)."""
    tasks = list(session.scalars(select(Task).where(Task.id.in_(task_ids), Task.project_id == project.id).order_by(Task.id)))
    annotations = annotations_by_task_ids(session, project.organization_id, task_ids)
    authors = {a.completed_by_id for items in annotations.values() for a in items if a.completed_by_id is not None}
    relations = TaskRelations(annotations, predictions_by_task_ids(session, project.organization_id, task_ids),
                              users_by_ids(session, project.organization_id, list(authors)))
    payloads = [task_simple_json(task, relations) for task in tasks]
    if drafts:
        for payload in payloads:
            payload["drafts"] = []
    return payloads


def predictions_from_answer(answer: BackendAnswer, tasks: list[dict], model_version: str | None) -> list[dict] | None:
    """Label Studio's reading of a /predict answer: {"results": [one prediction (or a list) per
    task, in order]}. None when the answer cannot be matched to the tasks."""
    results = answer.body.get("results") if isinstance(answer.body, dict) else None
    if answer.is_error or not isinstance(results, list) or not results or len(results) != len(tasks):
        return None
    rows = []
    for task, result in zip(tasks, results):
        for item in result if isinstance(result, list) else [result]:
            if not isinstance(item, dict) or not isinstance(item.get("result"), list):
                continue
            score = item.get("score")
            rows.append({
                "task_id": task["id"],
                "project_id": task["project"],
                "result": item["result"],
                "score": float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                "model_version": str(item.get("model_version") or model_version or ""),
            })
    return rows


def ask_predictions(session: Session, settings: Settings, backend: MLBackend, project: Project,
                    task_ids: list[int]) -> tuple[list[dict], str | None]:
    """Call /predict once for the tasks (Label Studio falls back to one call per task when a
    backend answers a single result for many tasks). Returns (prediction rows, error)."""
    tasks = task_payloads(session, project, task_ids)
    if not tasks:
        return [], None
    connection = Connection.of(backend)
    answer = client.predict(settings, connection, project, tasks)
    rows = predictions_from_answer(answer, tasks, backend.model_version)
    if rows is None and not answer.is_error and len(tasks) > 1 and len((answer.body or {}).get("results") or []) == 1:
        rows = []
        for task in tasks:
            one = predictions_from_answer(client.predict(settings, connection, project, [task]), [task], backend.model_version)
            rows.extend(one or [])
    if rows is None:
        error = answer.error or "The ML backend's answer does not match the tasks sent: expected {\"results\": [...]} with one item per task."
        log.info("No predictions from ML backend %s: %s", backend.id, error)
        return [], error
    return rows, None


def store_predictions(session: Session, project: Project, rows: list[dict], actor_id: int | None) -> list[int]:
    """Insert the predictions, refresh their tasks' counters and record PREDICTIONS_CREATED."""
    if not rows:
        return []
    now = utcnow()
    ids = list(session.scalars(insert(Prediction).returning(Prediction.id),
                               [{**row, "mislabeling": 0.0, "created_at": now, "updated_at": now} for row in rows]))
    refresh_task_counters(session, [row["task_id"] for row in rows], touched_by=actor_id)
    record_event(session, Event(PREDICTIONS_CREATED, project.organization_id, project.id, tuple(ids), actor_id))
    return ids


def predict_tasks(session: Session, settings: Settings, backend: MLBackend, project: Project, task_ids: Iterable[int],
                  *, actor_id: int | None, force_refresh: bool = True) -> list[int]:
    """Label Studio's predict_tasks: refresh the backend's state, skip tasks that already have a
    prediction of its model version, ask /predict for the others and store the answers."""
    refresh_state(session, settings, backend, project, force=force_refresh)
    if backend.state in (DISCONNECTED, ERROR):  # Label Studio's not_ready
        return []
    missing = tasks_without_prediction_of(session, task_ids, backend.model_version)
    rows, _ = ask_predictions(session, settings, backend, project, missing)
    return store_predictions(session, project, rows, actor_id)
