"""`deliver_webhook(webhook_id)`: sends a webhook's pending deliveries (core.webhooks.delivery),
on the webhooks queue. A retry that is not due yet comes back as a delayed message for its due
time; a lost message is made up for by the job sweeper, which wakes webhooks with due deliveries."""
from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.jobs.registry import WEBHOOKS_QUEUE
from core.webhooks.delivery import deliver_pending
from workers.actors.jobs import MAX_BACKOFF_MS, MAX_RETRIES, MIN_BACKOFF_MS, SHORT_WORK_PRIORITY

log = logging.getLogger("labelgraph.workers")

ACTOR_NAME = "deliver_webhook"
# A deliverer works until its webhook's queue is empty; a stuck one is cut off, its lease expires
# and the sweeper wakes the webhook again.
TIME_LIMIT = timedelta(hours=1)


def declare_webhook_actor(broker: dramatiq.Broker, session_factory: sessionmaker[Session], settings: Settings) -> dramatiq.Actor:
    def deliver_webhook(webhook_id: int) -> None:
        next_due = deliver_pending(session_factory, settings, webhook_id)
        if next_due is not None:
            actor.send_with_options(args=(webhook_id,), delay=max(int(next_due * 1000), 1))

    actor = dramatiq.actor(
        deliver_webhook,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=WEBHOOKS_QUEUE,
        priority=SHORT_WORK_PRIORITY,
        # Retries are for database errors; HTTP failures are the delivery's own retries.
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF_MS,
        max_backoff=MAX_BACKOFF_MS,
        time_limit=int(TIME_LIMIT.total_seconds() * 1000),
    )
    return actor
