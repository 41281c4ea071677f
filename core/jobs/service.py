"""Job life cycle: start (queued, enqueued after commit), claim (guarded), progress, finish, sweep.

Every state change is a conditional UPDATE, so two workers that receive the same message (a
redelivery, a sweep that re-enqueued it) never both run it: the first claim wins, the second
finds nothing to claim and returns."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.db.unit_of_work import after_commit, transaction
from core.errors import NotFound
from core.jobs.models import COMPLETED, FAILED, QUEUED, RUNNING, UNFINISHED, Job
from core.jobs.ports import JobQueue
from core.projects.models import Project
from core.timeutil import utcnow

log = logging.getLogger("labelgraph.jobs")

# A running job whose worker has not written a heartbeat for this long is presumed dead and
# may be claimed again. Workers beat every quarter of it (see core.jobs.runner).
HEARTBEAT_TIMEOUT = timedelta(seconds=60)
# Claims per job before it is failed: stops a job that kills its worker from looping forever.
MAX_ATTEMPTS = 10
MAX_ERROR_CHARS = 10_000
_MAX_ID = 2**31 - 1


def start_job(ctx: Context, kind: str, payload: dict[str, Any], project_id: int | None = None) -> Job:
    """Write a queued job in the caller's transaction; its id is enqueued only after the commit,
    so a worker never looks for a row that does not exist yet (or was rolled back)."""
    user = ctx.require_user()
    queue: JobQueue | None = ctx.ports.get("jobs")
    if queue is None:
        raise RuntimeError('No job queue in ctx.ports["jobs"]; the composition root provides one.')
    if project_id is not None:
        # Usually already loaded by the calling service, so the identity map answers.
        project = ctx.session.get(Project, project_id)
        if project is None or project.organization_id != ctx.org_id:
            raise NotFound()
    now = utcnow()
    job = Job(
        kind=kind,
        organization_id=ctx.org_id,
        project_id=project_id,
        created_by_id=user.id,
        status=QUEUED,
        payload=payload,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(job)
    ctx.session.flush()
    job_id = job.id
    ctx.after_commit(lambda: queue.enqueue(kind, job_id))
    return job


# Session.info key of the job queue, installed on the session factory by the composition root
# (as the outbox notifier is), for code without a request context that starts jobs: outbox
# subscribers, e.g. the ML training signal after every N-th annotation.
JOB_QUEUE = "labelgraph.job_queue"


def start_job_in_session(session: Session, kind: str, payload: dict[str, Any], *, organization_id: int,
                         project_id: int | None = None, created_by_id: int | None = None) -> Job:
    """start_job without a caller: the row is written in `session`'s transaction and enqueued
    after its commit through session.info[JOB_QUEUE] (when there is none, the sweeper sends it)."""
    now = utcnow()
    job = Job(kind=kind, organization_id=organization_id, project_id=project_id, created_by_id=created_by_id,
              status=QUEUED, payload=payload, created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    queue: JobQueue | None = session.info.get(JOB_QUEUE)
    if queue is not None:
        job_id = job.id
        after_commit(session, lambda: queue.enqueue(kind, job_id))
    return job


@use_case(policy.JOBS_VIEW)
def get_job(ctx: Context, job_id: int) -> Job:
    """The job with this id in the caller's organization; NotFound for any other."""
    if not 0 < job_id <= _MAX_ID:
        raise NotFound()
    job = ctx.session.scalar(select(Job).where(Job.id == job_id, Job.organization_id == ctx.org_id))
    if job is None:
        raise NotFound()
    return job


def claim_job(session: Session, job_id: int, *, heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT) -> Job | None:
    """Mark the job running for the caller. Returns None when there is nothing to do: another
    worker holds it (fresh heartbeat), it is finished, or it no longer exists. Commit right away
    so other workers see the claim."""
    now = utcnow()
    claimable = or_(
        Job.status == QUEUED,
        and_(Job.status == RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now - heartbeat_timeout)),
    )
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(status=RUNNING, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        return None
    job = session.scalar(select(Job).where(Job.id == job_id).execution_options(populate_existing=True))
    if job.attempts > MAX_ATTEMPTS:
        fail_job(session, job_id, f"Gave up after {MAX_ATTEMPTS} attempts (the job kept stopping its worker).")
        return None
    return job


def report_progress(session: Session, job_id: int, done: int, total: int | None = None) -> None:
    """Record progress (and a heartbeat) in the caller's transaction: commit it with the batch it
    describes, so a reclaimed job can trust `progress_done` to resume from."""
    values: dict[str, Any] = {"progress_done": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["progress_total"] = total
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == RUNNING).values(**values),
        execution_options={"synchronize_session": False},
    )


def beat(session: Session, job_id: int, attempt: int) -> bool:
    """Heartbeat of the worker holding claim number `attempt`; False when it lost the claim."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt).values(heartbeat_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def complete_job(session: Session, job_id: int, result: dict[str, Any] | None = None, *, attempt: int | None = None) -> bool:
    """Mark a running job completed; False when it was not ours to finish (lost claim, already done)."""
    conditions = [Job.id == job_id, Job.status == RUNNING]
    if attempt is not None:
        conditions.append(Job.attempts == attempt)
    now = utcnow()
    values: dict[str, Any] = {"status": COMPLETED, "finished_at": now, "heartbeat_at": now, "error": None}
    if result is not None:
        values["result"] = result
    done = session.execute(update(Job).where(*conditions).values(**values), execution_options={"synchronize_session": False})
    return done.rowcount == 1


def fail_job(session: Session, job_id: int, error: str, *, attempt: int | None = None) -> bool:
    """Mark an unfinished job failed with a message a user can read."""
    conditions = [Job.id == job_id, Job.status.in_(UNFINISHED)]
    if attempt is not None:
        conditions.append(Job.attempts == attempt)
    now = utcnow()
    failed = session.execute(
        update(Job).where(*conditions).values(status=FAILED, error=error[:MAX_ERROR_CHARS], finished_at=now, heartbeat_at=now),
        execution_options={"synchronize_session": False},
    )
    return failed.rowcount == 1


def release_job(session: Session, job_id: int, attempt: int) -> bool:
    """Give a claimed job back (status queued) after a transient error, so the retry can claim it
    at once instead of waiting for the heartbeat to go stale."""
    released = session.execute(
        update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt).values(status=QUEUED, heartbeat_at=None),
        execution_options={"synchronize_session": False},
    )
    return released.rowcount == 1


def stale_jobs(
    session: Session,
    older_than: timedelta,
    *,
    heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT,
    limit: int = 1000,
) -> list[Job]:
    """Jobs a crash or a lost message left behind: queued and untouched for `older_than`, or
    running without a heartbeat for `heartbeat_timeout` (and untouched for `older_than`)."""
    now = utcnow()
    return list(
        session.scalars(
            select(Job)
            .where(
                Job.updated_at <= now - older_than,
                or_(
                    Job.status == QUEUED,
                    and_(Job.status == RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now - heartbeat_timeout)),
                ),
            )
            .order_by(Job.id)
            .limit(limit)
        )
    )


def requeue_stale_jobs(
    session_factory: sessionmaker[Session],
    queue: JobQueue,
    older_than: timedelta,
    *,
    heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT,
) -> int:
    """Enqueue the stale jobs again (start-up and periodic sweep); returns how many. Touching
    `updated_at` makes the next sweep wait `older_than` before sending the same job again."""
    with transaction(session_factory) as session:
        jobs = stale_jobs(session, older_than, heartbeat_timeout=heartbeat_timeout)
        found = [(job.kind, job.id) for job in jobs]
        if found:
            session.execute(
                update(Job).where(Job.id.in_([job_id for _, job_id in found])).values(updated_at=utcnow()),
                execution_options={"synchronize_session": False},
            )
    for kind, job_id in found:
        queue.enqueue(kind, job_id)
    if found:
        log.info("Re-enqueued %d stale job(s): %s", len(found), [job_id for _, job_id in found])
    return len(found)



def unfinished_jobs_exist(session: Session) -> bool:
    return session.scalar(select(Job.id).where(Job.status.in_(UNFINISHED)).limit(1)) is not None
