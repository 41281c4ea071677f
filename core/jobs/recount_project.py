"""Job kind "recount_project": recompute the task counters of one project, in batches.

For admins after a bulk change made outside the services (a manual SQL fix, a restore).
Recomputing is idempotent, so a reclaimed job simply starts over. Each batch records
TASKS_UPDATED for its tasks in its own transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.auth import policy
from core.auth.policy import use_case
from core.config import Settings
from core.context import Context
from core.db.unit_of_work import transaction
from core.events import Event, record_event
from core.events.catalog import TASKS_UPDATED
from core.jobs.models import Job
from core.jobs.registry import DEFAULT_QUEUE, register_job_kind
from core.jobs.service import report_progress, start_job
from core.projects.queries import get_project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task

KIND = "recount_project"
BATCH_SIZE = 2000


@use_case(policy.PROJECTS_CHANGE, emits=(TASKS_UPDATED,))
def request_project_recount(ctx: Context, project_id: int) -> Job:
    """Start a recount of a project of the caller's organization (NotFound for any other)."""
    project = get_project(ctx, project_id)
    return start_job(ctx, KIND, {}, project_id=project.id)


def run(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    with transaction(session_factory) as session:
        job = session.get_one(Job, job_id)
        organization_id, project_id, requested_by = job.organization_id, job.project_id, job.created_by_id
        total = session.scalar(select(func.count(Task.id)).where(Task.project_id == project_id))
        report_progress(session, job_id, 0, total)
    done, after_id = 0, 0
    while True:
        # One transaction per batch: short locks, and progress committed with the work it reports.
        with transaction(session_factory) as session:
            ids = list(
                session.scalars(
                    select(Task.id).where(Task.project_id == project_id, Task.id > after_id).order_by(Task.id).limit(BATCH_SIZE)
                )
            )
            if not ids:
                break
            refresh_task_counters(session, ids)
            record_event(session, Event(TASKS_UPDATED, organization_id, project_id, tuple(ids), requested_by))
            done += len(ids)
            after_id = ids[-1]
            report_progress(session, job_id, done, max(total, done))
    return {"tasks": done}


def register_jobs() -> None:
    register_job_kind(KIND, run, queue=DEFAULT_QUEUE)
