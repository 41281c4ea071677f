from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped


class Organization(Timestamped, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(1000))
    # Invite token used by /api/invite links.
    token: Mapped[str] = mapped_column(String(256), unique=True)
    # No FK: organizations are created before their first user exists.
    created_by_id: Mapped[int | None]
    contact_info: Mapped[str | None] = mapped_column(String(254))
    # JWT settings (/api/jwt/settings).
    api_tokens_enabled: Mapped[bool] = mapped_column(default=True)
    legacy_api_tokens_enabled: Mapped[bool] = mapped_column(default=True)
    # Label Studio's default: 200 years, i.e. tokens that never expire in practice.
    api_token_ttl_days: Mapped[int] = mapped_column(default=200 * 365)
    # Session policy (/api/session-policy/), in minutes; Label Studio's defaults are 8 and 3 days.
    max_session_age: Mapped[int] = mapped_column(default=8 * 24 * 60)
    max_time_between_activity: Mapped[int] = mapped_column(default=3 * 24 * 60)


class OrganizationMember(Timestamped, Base):
    __tablename__ = "organization_members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="OW")
    deleted_at: Mapped[datetime | None]
