"""The outbox: domain events written in the transaction of the change they describe."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base
from core.timeutil import utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    # The dispatcher reads undispatched events in id order: a partial index keeps that cheap
    # however many dispatched events are still kept.
    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "id",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        Index("ix_outbox_events_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # No foreign keys: PROJECT_DELETED and USER_DELETED outlive their objects.
    project_id: Mapped[int | None]
    actor_id: Mapped[int | None]
    object_ids: Mapped[list] = mapped_column(default=list)
    data: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
