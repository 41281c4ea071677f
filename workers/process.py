"""`labelgraph worker`: Dramatiq workers against Redis, and the sweeper of stale jobs.

One process by default (worker threads + sweeper in it); with --processes N the parent runs the
sweeper and supervises N worker processes, restarting one that dies. With --queues the workers take
jobs from those job queues only (core.jobs.registry.QUEUES); the sweeper re-sends to every queue."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading

from core.config import Settings
from core.db.engine import create_db_engine, make_session_factory
from core.domains import register_domains
from workers.runtime import JobSystem, WorkerOptions

log = logging.getLogger("labelgraph.workers")


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


def run_worker(settings: Settings, options: WorkerOptions, *, processes: int = 1) -> int:
    if not settings.redis_url:
        raise ValueError("labelgraph worker needs REDIS_URL (without it, `labelgraph serve` runs jobs in-process).")
    register_domains()
    stop = threading.Event()
    _stop_on_signals(stop)
    engine = create_db_engine(settings.database_url)
    jobs = JobSystem(settings, make_session_factory(engine), options)
    children: list[multiprocessing.Process] = []
    context = multiprocessing.get_context("spawn")  # children build their own engine and broker
    try:
        if processes == 1:
            jobs.start_worker(sweep=False)
        else:
            children = [_spawn(context, settings, options) for _ in range(processes)]
        log.info("Worker up: %d process(es) x %d thread(s) on queue(s) %s, namespace %r",
                 processes, options.threads, ",".join(options.queues), settings.redis_namespace)
        jobs.sweep()  # start-up: what a crash left behind
        jobs.start_sweeper()
        while not stop.wait(1.0):
            for index, child in enumerate(children):
                if not child.is_alive():
                    log.error("Worker process %s exited (code %s); starting another", child.pid, child.exitcode)
                    children[index] = _spawn(context, settings, options)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join(options.shutdown_timeout + 5)
        jobs.close()
        engine.dispose()
    return 0


def _spawn(context, settings: Settings, options: WorkerOptions) -> multiprocessing.Process:
    log_level = logging.getLogger().getEffectiveLevel()
    child = context.Process(target=_worker_process, args=(settings, options, os.getpid(), log_level), name="labelgraph-worker")
    child.start()
    return child


def _worker_process(settings: Settings, options: WorkerOptions, parent_pid: int, log_level: int) -> None:
    logging.basicConfig(level=log_level, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    register_domains()  # a spawned process starts from a fresh interpreter
    stop = threading.Event()
    _stop_on_signals(stop)
    engine = create_db_engine(settings.database_url)
    jobs = JobSystem(settings, make_session_factory(engine), options)
    jobs.start_worker(sweep=False)
    try:
        # An orphan (parent killed) stops too; its running jobs are reclaimed via their heartbeats.
        while not stop.wait(1.0) and os.getppid() == parent_pid:
            pass
    finally:
        jobs.close()
        engine.dispose()
