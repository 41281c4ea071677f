"""Export snapshots (Label Studio's data_export Export and ConvertedFormat).

A snapshot is a JSON file written by an "export" job under settings.data_dir / "export"; each
conversion of it to another format is a ConvertedFormat written by an "export_convert" job."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base
from core.timeutil import utcnow

# Label Studio's status names (not the job's): created -> in_progress -> completed | failed.
CREATED = "created"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"


class Export(Base):
    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_project_created", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(2048), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(64), default=CREATED)
    md5: Mapped[str] = mapped_column(String(128), default="")
    counters: Mapped[dict] = mapped_column(default=dict)
    # Relative to settings.data_dir / "export", e.g. "12/project-12-at-2024-05-01-10-00-0a1b2c3d.json".
    file: Mapped[str | None] = mapped_column(String(1024))
    # What the job needs: task_filter_options, annotation_filter_options, serialization_options.
    options: Mapped[dict] = mapped_column(default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)


class ConvertedFormat(Base):
    __tablename__ = "export_converted_formats"

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    export_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64), default=CREATED)
    traceback: Mapped[str | None] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(String(1024))
    download_resources: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
