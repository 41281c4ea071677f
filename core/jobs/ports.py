"""What core needs from a job queue; the adapter lives in workers.dispatch."""
from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    def enqueue(self, kind: str, job_id: int) -> None:
        """Ask a worker to run job `job_id`. Must not raise when the broker is down: the job
        row stays queued and the sweeper enqueues it again."""
