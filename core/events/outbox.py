"""Delivering the outbox to subscribers: in commit order, at least once.

Subscribers (webhook delivery, statistics, ...) register at start-up in their domain's
`register_subscribers()` (called from `core.domains`). `dispatch_pending` takes the oldest
undispatched events, claims them with a conditional UPDATE (a concurrent dispatcher finds them
claimed and stops, so events are handed out once and in order) and gives them to every
subscriber in the same transaction. A subscriber that fails rolls the batch back: it stays
pending and is offered again (so handlers must tolerate seeing an event twice). Work outside the
database (an HTTP call, a pub/sub message) belongs in a job or an after-commit hook that the
handler registers, never in the handler itself.

Who calls it: the `dispatch_events` actor of the job system, sent by the after-commit notifier of
transactions that recorded events (debounced, see workers.dispatch.OutboxNotifier) and by the job
sweeper, which also catches events whose notification was lost. With no subscriber registered
nothing is sent; the sweeper only prunes."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db.unit_of_work import transaction
from core.events import Event
from core.events.catalog import KINDS
from core.events.models import OutboxEvent
from core.timeutil import utcnow

log = logging.getLogger("labelgraph.events")

BATCH_SIZE = 500
# Dispatched events are kept this long (for a subscriber to catch up from), then pruned.
RETENTION = timedelta(hours=1)

Handler = Callable[[Session, list[Event]], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    handle: Handler
    kinds: frozenset[str] | None  # None: every kind


_SUBSCRIBERS: dict[str, Subscriber] = {}


def register_subscriber(name: str, handle: Handler, kinds: list[str] | None = None) -> None:
    """Hand events of `kinds` (default: all) to `handle(session, events)`. Idempotent per name."""
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown event kinds {sorted(unknown)}")
    subscriber = Subscriber(name, handle, frozenset(kinds) if kinds is not None else None)
    existing = _SUBSCRIBERS.get(name)
    if existing is not None and existing.handle is not handle:
        raise ValueError(f"Another subscriber is registered as {name!r}")
    _SUBSCRIBERS[name] = subscriber


def unregister_subscriber(name: str) -> None:
    _SUBSCRIBERS.pop(name, None)


def has_subscribers() -> bool:
    return bool(_SUBSCRIBERS)


def dispatch_pending(session_factory: sessionmaker[Session], *, batch_size: int = BATCH_SIZE) -> int:
    """Dispatch every pending event, a batch per transaction; returns how many were dispatched."""
    dispatched = 0
    while True:
        with transaction(session_factory) as session:
            batch = _claim_batch(session, batch_size)
            if not batch:
                break
            for subscriber in list(_SUBSCRIBERS.values()):
                wanted = [e for e in batch if subscriber.kinds is None or e.kind in subscriber.kinds]
                if wanted:
                    subscriber.handle(session, wanted)
        dispatched += len(batch)
        if len(batch) < batch_size:
            break
    if dispatched:
        prune_events(session_factory)
    return dispatched


def _claim_batch(session: Session, batch_size: int) -> list[Event]:
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(batch_size)
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    claimed = session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids), OutboxEvent.dispatched_at.is_(None)).values(dispatched_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != len(ids):
        # Another dispatcher has (some of) them: leave the batch to it, keeping the order.
        session.rollback()
        return []
    return [Event.from_row(row) for row in rows]


def pending_events_exist(session: Session) -> bool:
    return session.scalar(select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)) is not None


def prune_events(session_factory: sessionmaker[Session], *, retention: timedelta = RETENTION) -> None:
    """Delete dispatched events older than `retention`; with no subscriber registered, every
    event that old (nobody is waiting for it)."""
    cutoff = utcnow() - retention
    old = OutboxEvent.dispatched_at < cutoff if _SUBSCRIBERS else OutboxEvent.created_at < cutoff
    with transaction(session_factory) as session:
        session.execute(delete(OutboxEvent).where(old), execution_options={"synchronize_session": False})
