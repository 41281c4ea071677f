"""Job kind "dm_action": a Data Manager action over a selection too large for the request.

The first run resolves the selection once and keeps the task ids in the job's payload, so a
reclaimed job works on the same tasks. Then one transaction per batch: the action's work, the
running counts (in `job.result`) and the progress are committed together, so a job resumed
after a crash skips the batches already done and reports the same totals. The job's final
result is the response the action would have given in the request."""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.data_manager.actions import ACTIONS, JOB_KIND, ActionRun
from core.data_manager.selection import task_selection
from core.db.unit_of_work import transaction
from core.errors import ValidationError
from core.jobs.models import Job
from core.jobs.registry import DEFAULT_QUEUE, register_job_kind
from core.jobs.service import report_progress
from core.projects.models import Project

KIND = JOB_KIND
BATCH_SIZE = 2000


def _resolve_task_ids(session: Session, job: Job) -> list[int]:
    # The request that queued the job checked the project and the action's permissions.
    payload = job.payload
    project = session.get_one(Project, job.project_id)
    selection = task_selection(session, project, payload.get("filters"), payload.get("ordering"), payload.get("selectedItems"))
    return list(session.scalars(selection))


def run(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    with transaction(session_factory) as session:
        job = session.get_one(Job, job_id)
        action = ACTIONS.get(job.payload.get("action"))
        if action is None:
            raise ValidationError(f"Unknown Data Manager action {job.payload.get('action')!r}")
        task_ids = job.payload.get("task_ids")
        if task_ids is None:
            task_ids = _resolve_task_ids(session, job)
            session.execute(
                update(Job).where(Job.id == job_id).values(payload={**job.payload, "task_ids": task_ids}),
                execution_options={"synchronize_session": False},
            )
            report_progress(session, job_id, 0, len(task_ids))
        done = job.progress_done
        counts = Counter((job.result or {}).get("counts", {}))
        user_id, project_id, params = job.created_by_id, job.project_id, job.payload.get("params", {})

    # Actions that must see every task at once (duplicates) run in a single batch.
    batch_size = BATCH_SIZE if action.batchable else max(len(task_ids), 1)
    while done < len(task_ids):
        batch = task_ids[done:done + batch_size]
        with transaction(session_factory) as session:
            action_run = ActionRun(session, session.get_one(Project, project_id), user_id, params, settings)
            counts += action.work(action_run, batch)
            done += len(batch)
            session.execute(
                update(Job).where(Job.id == job_id).values(result={"counts": dict(counts)}),
                execution_options={"synchronize_session": False},
            )
            report_progress(session, job_id, done, len(task_ids))

    with transaction(session_factory) as session:
        action_run = ActionRun(session, session.get_one(Project, project_id), user_id, params)
        return action.respond(action_run, counts)


def register_jobs() -> None:
    register_job_kind(KIND, run, queue=DEFAULT_QUEUE)
