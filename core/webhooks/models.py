"""Webhooks, the messages rendered for them and each message's delivery to each webhook."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Webhook(Timestamped, Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    # None: organization-wide (Label Studio Enterprise), receives every project's events.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    send_payload: Mapped[bool] = mapped_column(default=True)
    send_for_all_actions: Mapped[bool] = mapped_column(default=True)
    headers: Mapped[dict] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    # The actions sent when not send_for_all_actions (Label Studio's WebhookAction rows).
    actions: Mapped[list] = mapped_column(default=list)
    # Standard Webhooks signing secret ("whsec_" + base64); None: deliveries are not signed.
    secret: Mapped[str | None] = mapped_column(String(128))
    # Failed attempts in a row; at settings.webhook_disable_after_failures the webhook is disabled.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    # Why the webhook was disabled automatically (None when a user disabled it or it is active).
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # One deliverer at a time keeps deliveries in order: it holds the lease until this moment.
    lease_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WebhookMessage(Base):
    """One outbox event rendered as Label Studio's webhook body, shared by every webhook it goes to."""

    __tablename__ = "webhook_messages"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None]  # no foreign key: PROJECT_DELETED outlives its project
    # The outbox event it was rendered from (None for messages that are not events, e.g. START_TRAINING).
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    # The full body with the payload: {"action": ..., "project": ..., ...}.
    payload: Mapped[dict]
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """A message on its way to one webhook: its attempts, last answer and state (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The deliverer takes a webhook's pending deliveries in id order.
        Index("ix_webhook_deliveries_pending", "webhook_id", "id",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True)
    # pending -> delivered | dead (attempts exhausted, or the webhook was disabled or its URL refused)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    latency_ms: Mapped[float | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
