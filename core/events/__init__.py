"""Domain events: what happened, recorded once, in the transaction of the change.

A write use case calls `record(ctx, kind, project_id=..., ids=[...])` (or `record_event(session,
Event(...))` where there is no request context, e.g. inside a job). The event is a row of the
outbox table, so it commits or rolls back with the change it describes. After the commit the
session's `OUTBOX_NOTIFIER` (installed on the session factory by the composition root) wakes the
dispatcher (`core.events.outbox.dispatch_pending`), which hands events to the registered
subscribers in commit order, at least once. Kinds are listed in `core.events.catalog`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.context import Context
from core.db.unit_of_work import after_commit
from core.events.catalog import KINDS
from core.events.models import OutboxEvent
from core.timeutil import utcnow

# Session.info key of the callable that wakes the dispatcher after a commit (see module doc).
OUTBOX_NOTIFIER = "labelgraph.outbox_notifier"


@dataclass(frozen=True)
class Event:
    kind: str
    organization_id: int
    project_id: int | None = None
    object_ids: tuple[int, ...] = ()
    actor_id: int | None = None
    # Small facts a subscriber needs that the objects no longer hold (e.g. a deleted project's title).
    data: dict[str, Any] | None = None
    id: int | None = None
    created_at: datetime | None = field(default=None, compare=False)

    @classmethod
    def from_row(cls, row: OutboxEvent) -> "Event":
        return cls(row.kind, row.organization_id, row.project_id, tuple(row.object_ids or ()), row.actor_id, row.data,
                   row.id, row.created_at)


def record_event(session: Session, event: Event) -> None:
    """Write `event` to the outbox in the session's transaction (one INSERT, no flush of others)."""
    if event.kind not in KINDS:
        raise ValueError(f"Unknown event kind {event.kind!r}: add it to core.events.catalog")
    session.execute(
        insert(OutboxEvent),
        [{
            "kind": event.kind,
            "organization_id": event.organization_id,
            "project_id": event.project_id,
            "actor_id": event.actor_id,
            # Ascending: ids from DELETE ... RETURNING come in no particular order.
            "object_ids": sorted(event.object_ids),
            "data": event.data,
            "created_at": utcnow(),
        }],
    )
    notifier = session.info.get(OUTBOX_NOTIFIER)
    if notifier is not None:
        after_commit(session, notifier, key=OUTBOX_NOTIFIER)  # once per transaction


def record(ctx: Context, kind: str, *, project_id: int | None = None, ids: Iterable[int] = (),
           data: dict[str, Any] | None = None, organization_id: int | None = None) -> None:
    """Record `kind` for the caller: their organization (unless given) and them as the actor."""
    record_event(ctx.session, Event(
        kind,
        organization_id if organization_id is not None else ctx.org_id,
        project_id,
        tuple(ids),
        ctx.user.id if ctx.user is not None else None,
        data,
    ))
