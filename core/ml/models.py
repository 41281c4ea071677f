"""ML backends connected to projects."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped

CONNECTED, DISCONNECTED, ERROR, TRAINING, PREDICTING = "CO", "DI", "ER", "TR", "PR"
READABLE_STATES = {CONNECTED: "Connected", DISCONNECTED: "Disconnected", ERROR: "Error", TRAINING: "Training",
                   PREDICTING: "Predicting"}


class MLBackend(Timestamped, Base):
    __tablename__ = "ml_backends"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text, default="default")
    description: Mapped[str | None] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(2), default=DISCONNECTED)
    error_message: Mapped[str | None] = mapped_column(Text)
    is_interactive: Mapped[bool] = mapped_column(default=False)
    model_version: Mapped[str | None] = mapped_column(Text, default="")
    auto_update: Mapped[bool] = mapped_column(default=True)
    auth_method: Mapped[str] = mapped_column(String(16), default="NONE")
    basic_auth_user: Mapped[str | None] = mapped_column(Text)
    # Sent to the backend, never returned by the API (basic_auth_pass_is_set says whether it is set).
    basic_auth_pass: Mapped[str | None] = mapped_column(Text)
    extra_params: Mapped[dict | None]
    timeout: Mapped[float] = mapped_column(default=100.0)
    # The project webhook to <url>/webhook created when the backend was connected.
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="SET NULL"))
    # When /health last answered (see settings.ml_health_cache_seconds).
    health_checked_at: Mapped[datetime | None]
