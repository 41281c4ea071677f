from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base
from core.timeutil import utcnow


class FileUpload(Base):
    """A file uploaded into a project (Label Studio's FileUpload). `file` is the stored name
    relative to the data directory, "upload/<project_id>/<uuid8>-<name>", served at /data/<file>."""

    __tablename__ = "file_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(String(1024), index=True)
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
