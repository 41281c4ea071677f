from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped


class Annotation(Timestamped, Base):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    result: Mapped[list | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    was_cancelled: Mapped[bool] = mapped_column(default=False)
    ground_truth: Mapped[bool] = mapped_column(default=False)
    lead_time: Mapped[float | None]
    draft_created_at: Mapped[datetime | None]
    parent_prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id", ondelete="SET NULL"), index=True)
    parent_annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="SET NULL"), index=True)
    last_action: Mapped[str | None] = mapped_column(String(128))
    import_id: Mapped[int | None]
    bulk_created: Mapped[bool | None] = mapped_column(default=False)
    unique_id: Mapped[str | None] = mapped_column(String(64))
