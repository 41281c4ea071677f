"""`run_job(kind, job_id)`: one generic function, declared as one actor per job queue (see
core.jobs.registry.QUEUES); core.jobs.runner does the work. The queue only decides which workers
take a job: `labelgraph worker --queues` picks them."""
from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
from dramatiq.middleware.time_limit import TimeLimitExceeded
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db.unit_of_work import transaction
from core.jobs.registry import DEFAULT_QUEUE, QUEUES
from core.jobs.runner import execute_job
from core.jobs.service import fail_job

log = logging.getLogger("labelgraph.workers")

ACTOR_NAME_PREFIX = "run_job"
# A process that consumes several queues runs waiting short jobs before waiting long ones when a
# thread frees up (Dramatiq takes lower numbers first).
SHORT_WORK_PRIORITY = 0
LONG_WORK_PRIORITY = 10
# Retries are for transient database errors only (domain errors fail the job without one):
# 5 retries with 2 s .. 2 min backoff ride out a database restart or failover.
MAX_RETRIES = 5
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 120_000
# Big imports and exports take minutes; hours means stuck. Dramatiq's default (10 min) is too short.
TIME_LIMIT = timedelta(hours=4)


def declare_job_actors(
    broker: dramatiq.Broker,
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    heartbeat_timeout: timedelta,
    time_limit: timedelta = TIME_LIMIT,
) -> dict[str, dramatiq.Actor]:
    """The actor of each job queue, by queue name."""

    def run_job(kind: str, job_id: int) -> None:
        try:
            execute_job(session_factory, settings, kind, job_id, heartbeat_timeout=heartbeat_timeout)
        except TimeLimitExceeded:
            # Running it again would hit the limit again: fail it for good.
            log.error("Job %s (%s) exceeded its time limit of %s", job_id, kind, time_limit)
            with transaction(session_factory) as session:
                fail_job(session, job_id, f"The job did not finish within {time_limit}.")

    return {
        queue: dramatiq.actor(
            run_job,
            broker=broker,
            actor_name=f"{ACTOR_NAME_PREFIX}_{queue}",
            queue_name=queue,
            priority=SHORT_WORK_PRIORITY if queue == DEFAULT_QUEUE else LONG_WORK_PRIORITY,
            max_retries=MAX_RETRIES,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            time_limit=int(time_limit.total_seconds() * 1000),
        )
        for queue in QUEUES
    }
