from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped
from core.timeutil import utcnow


class Task(Timestamped, Base):
    """A unit of work. Counters are kept on the row, updated in the same
    transaction as the annotation/prediction writes (see core.tasks.counters)."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_inner_id", "project_id", "inner_id"),
        Index("ix_tasks_project_id_id", "project_id", "id"),  # task pages ordered by id
        # The totals of a project's task list sum only the tasks with annotations / predictions:
        # a range of each of these indexes rather than a scan of every task.
        Index("ix_tasks_project_counters", "project_id", "total_annotations", "total_predictions"),
        Index("ix_tasks_project_predictions", "project_id", "total_predictions"),
        # Data Manager filters on task data (`data @> {...}`) on PostgreSQL. SQLite has no such
        # index: there it is an always-empty partial index, so that it costs nothing.
        Index(
            "ix_tasks_data_path", "data",
            postgresql_using="gin", postgresql_ops={"data": "jsonb_path_ops"}, sqlite_where=text("0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the composite indexes above (project_id leads both).
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    data: Mapped[dict]
    meta: Mapped[dict | None]
    inner_id: Mapped[int | None]
    overlap: Mapped[int] = mapped_column(default=1)
    is_labeled: Mapped[bool] = mapped_column(default=False)
    total_annotations: Mapped[int] = mapped_column(default=0)
    cancelled_annotations: Mapped[int] = mapped_column(default=0)
    total_predictions: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    allow_skip: Mapped[bool | None] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_upload_id: Mapped[int | None]
    # The ProjectImport that created the task. No foreign key: a per-row check would slow down
    # big imports, and imports only go away with their project (and its tasks).
    import_id: Mapped[int | None]
    # Kept up to date by the comments domain; rendered on every task.
    comment_count: Mapped[int] = mapped_column(default=0)
    unresolved_comment_count: Mapped[int] = mapped_column(default=0)
    last_comment_updated_at: Mapped[datetime | None]


class ProjectImport(Timestamped, Base):
    """One import request; its status is what /api/projects/{id}/imports/{pk}/ reports."""

    __tablename__ = "project_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(32), default="created")
    error: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    commit_to_project: Mapped[bool] = mapped_column(default=True)
    return_task_ids: Mapped[bool] = mapped_column(default=False)
    preannotated_from_fields: Mapped[list | None]
    file_upload_ids: Mapped[list | None]
    task_ids: Mapped[list | None]
    found_formats: Mapped[dict | None]
    data_columns: Mapped[list | None]
    could_be_tasks_list: Mapped[bool] = mapped_column(default=False)
    task_count: Mapped[int] = mapped_column(default=0)
    annotation_count: Mapped[int] = mapped_column(default=0)
    prediction_count: Mapped[int] = mapped_column(default=0)
    duration: Mapped[float | None]
    finished_at: Mapped[datetime | None]
    # The job that runs an asynchronous import (None for imports done in the request).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # A re-import replaces the tasks previously created from the same file uploads.
    is_reimport: Mapped[bool] = mapped_column(default=False)
    files_as_tasks_list: Mapped[bool] = mapped_column(default=True)


class TaskEvent(Base):
    """A labeling-interface event (annotation loaded, region drawn, ...) sent by the frontend."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="SET NULL"), index=True)
    annotation_draft_id: Mapped[int | None]
    review_id: Mapped[int | None]
    event_key: Mapped[str] = mapped_column(String(255))
    event_time: Mapped[datetime]
    meta: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
