"""The job-queue port (core.jobs.ports.JobQueue) over Dramatiq."""
from __future__ import annotations

import logging
from typing import Callable

import dramatiq

log = logging.getLogger("labelgraph.workers")


class DramatiqJobQueue:
    def __init__(self, actor: dramatiq.Actor, *, before_send: Callable[[], None] | None = None):
        self._actor = actor
        self._before_send = before_send

    def enqueue(self, kind: str, job_id: int) -> None:
        """Never raises: the job row is committed and stays queued, and the sweeper sends it
        again once the broker is back. Failing the request now would misreport a saved job."""
        try:
            if self._before_send is not None:
                self._before_send()
            self._actor.send(kind, job_id)
        except Exception:
            log.warning("Could not enqueue job %s (%s); it stays queued for the sweeper", job_id, kind, exc_info=True)
