from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
UNFINISHED = (QUEUED, RUNNING)


class Job(Timestamped, Base):
    """One long job (import, export, sync, ...). The database is the source of truth for its
    state; the broker only delivers its id. See core.jobs for the life cycle."""

    __tablename__ = "jobs"
    # The sweeper looks for unfinished jobs only.
    __table_args__ = (Index("ix_jobs_status_updated_at", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(default=dict)
    result: Mapped[dict | None]
    # Incremented by every claim: bounds crash loops and fences a worker that lost its claim.
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
