from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped


class Prediction(Timestamped, Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    result: Mapped[list | None]
    score: Mapped[float | None]
    model_version: Mapped[str] = mapped_column(Text, default="")
    cluster: Mapped[int | None]
    neighbors: Mapped[list | None]
    mislabeling: Mapped[float] = mapped_column(default=0.0)
    model_id: Mapped[int | None]
    model_run_id: Mapped[int | None]
