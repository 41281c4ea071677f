"""Job kinds: the handler that runs each and the queue that carries it.

The kernel knows no domain: each domain registers its kinds from its own `register_jobs()`, and
`core.domains.register_domains` calls those at start-up."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings

# run(session_factory, settings, job_id) -> result stored on the job (a JSON dict) or None.
JobHandler = Callable[[sessionmaker[Session], Settings, int], "dict[str, Any] | None"]

# Short work (Data Manager actions, recounts): seconds, so it must never wait behind long work.
DEFAULT_QUEUE = "default"
# Long work: minutes to hours. Separate queues let `labelgraph worker --queues` give each its workers.
IMPORTS_QUEUE = "imports"
EXPORTS_QUEUE = "exports"
# Webhook deliveries: many short HTTP calls whose receivers may be slow; kept apart so a slow
# receiver never holds up Data Manager actions.
WEBHOOKS_QUEUE = "webhooks"
# ML backend prediction runs and training signals: HTTP calls to model servers, often slow.
ML_QUEUE = "ml"
QUEUES = (DEFAULT_QUEUE, IMPORTS_QUEUE, EXPORTS_QUEUE, WEBHOOKS_QUEUE, ML_QUEUE)

JOB_HANDLERS: dict[str, JobHandler] = {}
JOB_QUEUES: dict[str, str] = {}


def register_job_kind(kind: str, handler: JobHandler, *, queue: str) -> None:
    """Make `kind` runnable on `queue`. Registering the same handler and queue again is a no-op
    (start-up code may run twice); anything else for a registered kind is a programming error."""
    if queue not in QUEUES:
        raise ValueError(f"Unknown job queue {queue!r}; the queues are {', '.join(QUEUES)}.")
    registered = JOB_HANDLERS.get(kind)
    if registered is not None and (registered is not handler or JOB_QUEUES.get(kind) != queue):
        raise ValueError(f"Job kind {kind!r} is already registered with {registered.__qualname__} on queue {JOB_QUEUES.get(kind)!r}.")
    JOB_HANDLERS[kind] = handler
    JOB_QUEUES[kind] = queue


def handler_for(kind: str) -> JobHandler | None:
    return JOB_HANDLERS.get(kind)


def queue_for(kind: str) -> str:
    """The queue of `kind`. An unknown kind (e.g. a job row older than an upgrade that dropped
    it) still goes to the default queue, so a worker fails it with a readable error instead of
    the message being lost and the sweeper sending it forever."""
    return JOB_QUEUES.get(kind, DEFAULT_QUEUE)
