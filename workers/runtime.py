"""Everything one process needs for jobs: broker, the run_job actor of each job queue, the queue
adapter, the outbox notifier and its dispatch_events actor, and (when this process runs jobs) a
Dramatiq worker plus the sweeper of stale jobs and undelivered events."""
from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

import dramatiq
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db.unit_of_work import transaction
from core.events import OUTBOX_NOTIFIER
from core.events.outbox import dispatch_pending, has_subscribers, pending_events_exist, prune_events
from core.jobs.registry import QUEUES
from core.jobs.service import HEARTBEAT_TIMEOUT, JOB_QUEUE, requeue_stale_jobs, unfinished_jobs_exist
from core.webhooks.delivery import WEBHOOK_WAKER, prune_deliveries, webhooks_with_due_deliveries
from workers.actors.jobs import TIME_LIMIT, declare_job_actors
from workers.broker import create_broker
from workers.actors.events import declare_event_actor
from workers.actors.webhooks import declare_webhook_actor
from workers.dispatch import DramatiqJobQueue, OutboxNotifier, WebhookWaker

log = logging.getLogger("labelgraph.workers")


@dataclass(frozen=True)
class WorkerOptions:
    threads: int = 4
    # The job queues this process takes jobs from (see core.jobs.registry.QUEUES); it can still
    # send to, and sweep into, every queue.
    queues: tuple[str, ...] = QUEUES
    # How often the sweeper looks for stale jobs, and how long a queued job may wait (its message
    # possibly lost) before it is sent again.
    sweep_interval: float = 10.0
    requeue_after: float = 30.0
    # Must be the same on every worker: a running job without a heartbeat for this long is reclaimed.
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT.total_seconds()
    # Graceful stop: how long running jobs may take to finish before the process exits anyway.
    shutdown_timeout: float = 30.0
    # A job still running after this long fails (see workers.actors.jobs.TIME_LIMIT).
    time_limit: float = TIME_LIMIT.total_seconds()


class JobSystem:
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session], options: WorkerOptions = WorkerOptions()):
        self.settings = settings
        self.session_factory = session_factory
        self.options = options
        self.broker = create_broker(settings)
        self.actors = declare_job_actors(
            self.broker,
            session_factory,
            settings,
            heartbeat_timeout=timedelta(seconds=options.heartbeat_timeout),
            time_limit=timedelta(seconds=options.time_limit),
        )
        # Embedded: the worker thread starts with the first job, so a server that never runs
        # one never pays for it.
        self.queue = DramatiqJobQueue(self.actors, before_send=None if self.uses_redis else self.start_worker)
        # Every commit that records an event (here or in a job handler) wakes the outbox dispatcher.
        self.events = OutboxNotifier(
            declare_event_actor(self.broker, session_factory),
            dispatch_here=None if self.uses_redis else functools.partial(dispatch_pending, session_factory),
        )
        # Commits that queue webhook deliveries wake the deliverer of each webhook concerned.
        self.webhooks = WebhookWaker(declare_webhook_actor(self.broker, session_factory, settings),
                                     before_send=None if self.uses_redis else self.start_worker)
        session_factory.configure(info={OUTBOX_NOTIFIER: self.events.notify, WEBHOOK_WAKER: self.webhooks.wake,
                                        JOB_QUEUE: self.queue})
        self._lock = threading.Lock()
        self._worker: dramatiq.Worker | None = None
        self._sweeper: threading.Thread | None = None
        self._stopping = threading.Event()
        # Set by stop(): a late after-commit notification (a debounce timer, a webhook wake-up)
        # must not start the worker of a system that was shut down.
        self._stopped = False

    @property
    def uses_redis(self) -> bool:
        return bool(self.settings.redis_url)

    def start_worker(self, *, sweep: bool = True) -> None:
        """Consume jobs in this process (idempotent); with `sweep`, also re-enqueue stale jobs
        every `sweep_interval`."""
        with self._lock:
            if self._stopped:
                return
            if self._worker is None:
                # A short poll timeout keeps the embedded worker quick to stop.
                worker = dramatiq.Worker(self.broker, queues=set(self.options.queues), worker_threads=self.options.threads,
                                         worker_timeout=1000 if self.uses_redis else 250)
                # Jobs are long: a busy worker must not hoard messages an idle one could run.
                worker.queue_prefetch = self.options.threads
                worker.start()
                self._worker = worker
        if sweep:
            self.start_sweeper()

    def start_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is None and not self._stopped:
                self._stopping.clear()
                self._sweeper = threading.Thread(target=self._sweep_periodically, name="labelgraph-job-sweeper", daemon=True)
                self._sweeper.start()

    def sweep(self, older_than: float | None = None) -> int:
        """Re-enqueue stale jobs and dispatch (or prune) the outbox; never raises (logs), so a
        database hiccup cannot stop the caller. Returns how many jobs were re-enqueued."""
        try:
            self._sweep_outbox()
            self._sweep_webhooks()
            return requeue_stale_jobs(
                self.session_factory,
                self.queue,
                timedelta(seconds=self.options.requeue_after if older_than is None else older_than),
                heartbeat_timeout=timedelta(seconds=self.options.heartbeat_timeout),
            )
        except SQLAlchemyError:
            log.warning("Sweep of stale jobs failed; next sweep will retry", exc_info=True)
            return 0

    def _sweep_outbox(self) -> None:
        if has_subscribers():
            with transaction(self.session_factory) as session:
                pending = pending_events_exist(session)
            if pending:
                self.events.send()
        prune_events(self.session_factory)

    def _sweep_webhooks(self) -> None:
        """Wake webhooks whose due deliveries lost their wake-up (a worker killed, the broker
        down), and prune the delivery log."""
        with transaction(self.session_factory) as session:
            due = webhooks_with_due_deliveries(session)
        for webhook_id in due:
            self.webhooks.wake(webhook_id)
        prune_deliveries(self.session_factory)

    def on_server_start(self) -> None:
        """Start-up of `labelgraph serve`: jobs left queued/running by a crash are sent again."""
        if self.uses_redis:
            self.sweep()
            return
        # The stub broker's messages died with the previous process: every queued job is an orphan.
        try:
            self._sweep_outbox()
            self._sweep_webhooks()
            with transaction(self.session_factory) as session:
                pending = unfinished_jobs_exist(session)
        except SQLAlchemyError:
            log.warning("Could not look for unfinished jobs at start-up", exc_info=True)
            return
        if pending:
            self.start_worker()
            self.sweep(older_than=0)

    def _sweep_periodically(self) -> None:
        while not self._stopping.wait(self.options.sweep_interval):
            self.sweep()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._stopping.set()
            if self._sweeper is not None:
                self._sweeper.join()
                self._sweeper = None
            if self._worker is not None:
                self._worker.stop(timeout=int(self.options.shutdown_timeout * 1000))
                self._worker = None

    def close(self) -> None:
        self.stop()
        self.broker.close()
