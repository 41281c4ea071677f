"""`dispatch_events()`: hands the outbox's pending events to the subscribers (core.events.outbox).
Short work, on the default queue; a subscriber's error is retried with backoff (its events stay
pending meanwhile)."""
from __future__ import annotations

from datetime import timedelta

import dramatiq
from sqlalchemy.orm import Session, sessionmaker

from core.events.outbox import dispatch_pending
from core.jobs.registry import DEFAULT_QUEUE
from workers.actors.jobs import MAX_BACKOFF_MS, MAX_RETRIES, MIN_BACKOFF_MS, SHORT_WORK_PRIORITY

ACTOR_NAME = "dispatch_events"
TIME_LIMIT = timedelta(minutes=10)


def declare_event_actor(broker: dramatiq.Broker, session_factory: sessionmaker[Session]) -> dramatiq.Actor:
    def dispatch_events() -> None:
        dispatch_pending(session_factory)

    return dramatiq.actor(
        dispatch_events,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=DEFAULT_QUEUE,
        priority=SHORT_WORK_PRIORITY,
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF_MS,
        max_backoff=MAX_BACKOFF_MS,
        time_limit=int(TIME_LIMIT.total_seconds() * 1000),
    )
