"""Runs one delivered job message: claim, heartbeat, handler, complete or fail.

Workers call `execute_job` and nothing else, so the whole policy (what is retried, what fails
the job) lives here, free of any queue library."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db.unit_of_work import transaction
from core.errors import DomainError, ValidationError
from core.jobs.registry import handler_for
from core.jobs.service import HEARTBEAT_TIMEOUT, beat, claim_job, complete_job, fail_job, release_job

log = logging.getLogger("labelgraph.jobs")

SKIPPED = "skipped"
COMPLETED = "completed"
FAILED = "failed"


def is_transient(error: BaseException) -> bool:
    """Database trouble that a retry a little later can fix: lost connection, lock timeout,
    deadlock, serialization failure, exhausted pool."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError))


def describe_error(error: BaseException) -> str:
    """The message stored on a failed job, for the user who started it."""
    if isinstance(error, ValidationError):
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.errors.items())
        return f"{error.detail}: {details}" if details else error.detail
    if isinstance(error, DomainError):
        return error.detail
    # First line only: database errors go on with the SQL and its parameters (in the worker log).
    first_line = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"


class _Heartbeat:
    """Writes the job's heartbeat on a side thread while the handler works, so a long batch
    without progress reports is not mistaken for a dead worker."""

    def __init__(self, session_factory: sessionmaker[Session], job_id: int, attempt: int, interval: float):
        self._session_factory, self._job_id, self._attempt, self._interval = session_factory, job_id, attempt, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                with transaction(self._session_factory) as session:
                    if not beat(session, self._job_id, self._attempt):
                        return  # finished, or claimed by another worker after we looked dead
            except Exception:
                log.warning("Heartbeat of job %s failed; retrying", self._job_id, exc_info=True)


def execute_job(
    session_factory: sessionmaker[Session],
    settings: Settings,
    kind: str,
    job_id: int,
    *,
    heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT,
) -> str:
    """Run job `job_id` unless someone else has it or it is finished. Returns SKIPPED, COMPLETED
    or FAILED. Transient database errors (and interrupts such as a time limit) give the claim
    back and propagate, for the caller to retry; any other error fails the job."""
    with transaction(session_factory) as session:
        job = claim_job(session, job_id, heartbeat_timeout=heartbeat_timeout)
        if job is None:
            log.info("Job %s (%s) is finished or held by another worker; skipping", job_id, kind)
            return SKIPPED
        attempt, kind = job.attempts, job.kind  # the row, not the message, says what to run
    handler = handler_for(kind)
    began = time.monotonic()
    if handler is None:
        _finish(session_factory, fail_job, job_id, f"Unknown job kind {kind!r}.", attempt=attempt)
        return FAILED
    try:
        with _Heartbeat(session_factory, job_id, attempt, heartbeat_timeout.total_seconds() / 4):
            try:
                result = handler(session_factory, settings, job_id)
            except Exception as error:
                if is_transient(error):
                    raise
                log.exception("Job %s (%s) failed", job_id, kind)
                _finish(session_factory, fail_job, job_id, describe_error(error), attempt=attempt)
                return FAILED
        _finish(session_factory, complete_job, job_id, result, attempt=attempt)
        log.info("Job %s (%s) completed in %.1f s (attempt %s)", job_id, kind, time.monotonic() - began, attempt)
        return COMPLETED
    except BaseException:
        _give_back(session_factory, job_id, attempt)
        raise


def _finish(session_factory: sessionmaker[Session], finish, job_id: int, outcome: Any, *, attempt: int) -> None:
    with transaction(session_factory) as session:
        if not finish(session, job_id, outcome, attempt=attempt):
            log.warning("Job %s was no longer ours to finish (claim %s lost)", job_id, attempt)


def _give_back(session_factory: sessionmaker[Session], job_id: int, attempt: int) -> None:
    try:
        with transaction(session_factory) as session:
            release_job(session, job_id, attempt)
    except Exception:
        # The database is down too: the heartbeat goes stale and the job is claimed again.
        log.warning("Could not release job %s after an error", job_id, exc_info=True)
