"""The job-queue port (core.jobs.ports.JobQueue) and the outbox notifier over Dramatiq."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Mapping

import dramatiq

from core.events.outbox import has_subscribers
from core.jobs.registry import queue_for

log = logging.getLogger("labelgraph.workers")


class DramatiqJobQueue:
    def __init__(self, actors: Mapping[str, dramatiq.Actor], *, before_send: Callable[[], None] | None = None):
        """`actors`: the actor of each job queue (workers.actors.jobs.declare_job_actors)."""
        self._actors = actors
        self._before_send = before_send

    def enqueue(self, kind: str, job_id: int) -> None:
        """Send to the actor of the kind's queue. Never raises: the job row is committed and
        stays queued, and the sweeper sends it again once the broker is back. Failing the
        request now would misreport a saved job."""
        try:
            if self._before_send is not None:
                self._before_send()
            self._actors[queue_for(kind)].send(kind, job_id)
        except Exception:
            log.warning("Could not enqueue job %s (%s); it stays queued for the sweeper", job_id, kind, exc_info=True)


class OutboxNotifier:
    """Wakes the outbox dispatcher after commits that recorded events (installed on the session
    factory as core.events.OUTBOX_NOTIFIER). Debounced: the first notification arms a short timer
    and later ones ride on it, so a burst of writes costs one dispatch message, and a commit after
    the message was sent arms the next one, so no event waits for the sweeper."""

    DELAY_SECONDS = 0.05

    def __init__(self, actor: dramatiq.Actor, *, dispatch_here: Callable[[], None] | None = None):
        """`dispatch_here`: dispatch on the notifier's own thread instead of sending `actor` a
        message (the embedded server: dispatching is a few statements, not worth starting the
        worker thread for; deliveries that follow start it)."""
        self._actor = actor
        self._dispatch_here = dispatch_here
        self._lock = threading.Lock()
        # One dispatch at a time in this process: one that finds events claimed by another gives
        # up, so it must not run beside one that may already have finished its last batch.
        self._dispatching = threading.Lock()
        self._armed = False

    def notify(self) -> None:
        if not has_subscribers():
            return  # nobody to deliver to: the sweeper prunes the outbox
        with self._lock:
            if self._armed:
                return
            self._armed = True
        timer = threading.Timer(self.DELAY_SECONDS, self.send)
        timer.name = "labelgraph-outbox-dispatch"
        timer.daemon = True
        timer.start()

    def send(self) -> None:
        """Ask a worker to dispatch now. Never raises: the sweeper dispatches what this misses."""
        with self._lock:
            self._armed = False
        try:
            if self._dispatch_here is not None:
                with self._dispatching:
                    self._dispatch_here()
            else:
                self._actor.send()
        except Exception:
            log.warning("Outbox dispatch failed or could not be requested; the next commit or sweep retries", exc_info=True)


class WebhookWaker:
    """Asks a worker to deliver a webhook's pending deliveries (installed on the session factory as
    core.webhooks.delivery.WEBHOOK_WAKER, called after the commit that queued them)."""

    def __init__(self, actor: dramatiq.Actor, *, before_send: Callable[[], None] | None = None):
        self._actor = actor
        self._before_send = before_send

    def wake(self, webhook_id: int) -> None:
        """Never raises: the sweeper wakes webhooks whose due deliveries this misses."""
        try:
            if self._before_send is not None:
                self._before_send()
            self._actor.send(webhook_id)
        except Exception:
            log.warning("Could not wake the deliverer of webhook %s; the sweeper will", webhook_id, exc_info=True)
