from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped


class Project(Timestamped, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    label_config: Mapped[str | None] = mapped_column(Text)
    expert_instruction: Mapped[str | None] = mapped_column(Text)
    show_instruction: Mapped[bool] = mapped_column(default=False)
    show_skip_button: Mapped[bool] = mapped_column(default=True)
    enable_empty_annotation: Mapped[bool] = mapped_column(default=True)
    show_annotation_history: Mapped[bool] = mapped_column(default=False)
    color: Mapped[str | None] = mapped_column(String(16), default="#FFFFFF")
    maximum_annotations: Mapped[int] = mapped_column(default=1)
    is_published: Mapped[bool] = mapped_column(default=False)
    is_draft: Mapped[bool] = mapped_column(default=False)
    model_version: Mapped[str | None] = mapped_column(Text, default="")
    min_annotations_to_start_training: Mapped[int] = mapped_column(default=0)
    start_training_on_annotation_update: Mapped[bool] = mapped_column(default=False)
    show_collab_predictions: Mapped[bool] = mapped_column(default=True)
    evaluate_predictions_automatically: Mapped[bool] = mapped_column(default=False)
    sampling: Mapped[str | None] = mapped_column(String(100), default="Sequential sampling")
    skip_queue: Mapped[str | None] = mapped_column(String(100), default="REQUEUE_FOR_OTHERS")
    show_ground_truth_first: Mapped[bool] = mapped_column(default=False)
    show_overlap_first: Mapped[bool] = mapped_column(default=False)
    overlap_cohort_percentage: Mapped[int] = mapped_column(default=100)
    task_data_login: Mapped[str | None] = mapped_column(String(256))
    task_data_password: Mapped[str | None] = mapped_column(String(256))
    control_weights: Mapped[dict | None]
    reveal_preannotations_interactively: Mapped[bool] = mapped_column(default=False)
    annotator_evaluation_enabled: Mapped[bool] = mapped_column(default=False)
    pinned_at: Mapped[datetime | None]
