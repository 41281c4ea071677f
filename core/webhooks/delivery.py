"""Sending webhook deliveries: in order per webhook, at least once, with retries, dead letters,
automatic disabling and Standard Webhooks signatures. Never inside an API request: the job
system's `deliver_webhook` actor (workers.actors.webhooks) calls `deliver_pending`.

One deliverer per webhook: `deliver_pending` takes a lease on the webhook row with a conditional
UPDATE of `lease_until` (works the same on SQLite and PostgreSQL); a second deliverer woken for
the same webhook finds it leased and returns. The lease holder sends the webhook's pending
deliveries in id order (= commit order of their events) over one keep-alive connection.

- 2xx: delivered. The "delivered" UPDATEs are batched (every FLUSH_EVERY deliveries or
  FLUSH_SECONDS); a deliverer killed in between sends that batch again after the restart
  (at-least-once: receivers deduplicate by the `webhook-id` header, stable per delivery).
- Anything else (status, timeout, refused connection, a URL the outgoing policy now refuses):
  the attempt is recorded (status, latency, error), the delivery waits
  `webhook_retry_base_seconds * 2**(attempts-1)` (capped at webhook_retry_max_seconds) and the
  later ones wait behind it (order). After `webhook_max_attempts` it is `dead` (kept in the
  delivery log) and the next one proceeds. After `webhook_disable_after_failures` failed attempts
  in a row the webhook is disabled: is_active false, disabled_reason set, its pending deliveries
  dead, WEBHOOKS_UPDATED recorded.

`deliver_pending` returns when the next attempt is due (seconds), for the caller to wake it
again then; the job sweeper also wakes webhooks whose due deliveries lost their wake-up."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db.unit_of_work import transaction
from core.events import Event, record_event
from core.events.catalog import WEBHOOKS_UPDATED
from core.net.outgoing import OutgoingUrlRefused, pin_url, shared_client
from core.timeutil import utcnow
from core.webhooks.models import Webhook, WebhookDelivery, WebhookMessage
from core.webhooks.service import secret_key

log = logging.getLogger("labelgraph.webhooks")

# Session.info key of the callable `wake(webhook_id)` that asks a worker to run deliver_pending
# for a webhook (installed on the session factory by the job system, like the outbox notifier).
WEBHOOK_WAKER = "labelgraph.webhook_waker"

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.5
# Deliveries read per round trip; ordered by id, so a round never skips ahead of a failure.
READ_BATCH = 200
# Delivered messages and their deliveries are kept this long in the delivery log.
RETENTION = timedelta(days=7)
# Dead letters stay longer, for someone to look at.
DEAD_RETENTION = timedelta(days=30)
# How much of an answer is read (and stored as the error of a failed attempt).
MAX_RESPONSE_BYTES = 64 * 1024
MAX_ERROR_CHARS = 500


def lease_seconds(settings: Settings) -> float:
    """Long enough to outlast any one request; renewed as the deliverer goes."""
    return max(60.0, settings.webhook_timeout_seconds * 4)


def retry_delay(settings: Settings, attempts: int) -> float:
    return min(settings.webhook_retry_base_seconds * 2 ** max(attempts - 1, 0), settings.webhook_retry_max_seconds)


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature header value: "v1," + base64 HMAC-SHA256 of
    "{id}.{timestamp}.{body}" keyed with the secret's decoded bytes."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class _Target:
    id: int
    organization_id: int
    project_id: int | None
    url: str
    headers: dict
    secret: str | None
    send_payload: bool


@dataclass(frozen=True)
class _Attempt:
    delivered: bool
    status: int | None
    latency_ms: float
    error: str | None
    at: datetime


class _Lease:
    """The webhook's lease, held by this deliverer until released or lost."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings, webhook_id: int):
        self.session_factory, self.webhook_id = session_factory, webhook_id
        self.duration = timedelta(seconds=lease_seconds(settings))
        self.until: datetime | None = None
        self.renewed = 0.0

    def take(self) -> bool:
        now = utcnow()
        until = now + self.duration
        with transaction(self.session_factory) as session:
            taken = session.execute(
                update(Webhook).where(Webhook.id == self.webhook_id, Webhook.is_active.is_(True),
                                      or_(Webhook.lease_until.is_(None), Webhook.lease_until < now))
                .values(lease_until=until), execution_options={"synchronize_session": False},
            ).rowcount == 1
        if taken:
            self.until, self.renewed = until, time.monotonic()
        return taken

    def renew(self, session: Session) -> bool:
        """In the caller's transaction; False if another deliverer took it over (ours expired)."""
        until = utcnow() + self.duration
        renewed = session.execute(
            update(Webhook).where(Webhook.id == self.webhook_id, Webhook.lease_until == self.until).values(lease_until=until),
            execution_options={"synchronize_session": False},
        ).rowcount == 1
        if renewed:
            self.until, self.renewed = until, time.monotonic()
        return renewed

    def stale(self) -> bool:
        return time.monotonic() - self.renewed > self.duration.total_seconds() / 3

    def release(self, session: Session | None = None) -> None:
        """Give the lease back, in `session`'s transaction or one of its own."""
        if self.until is None:
            return
        if session is None:
            with transaction(self.session_factory) as own:
                self.release(own)
            return
        session.execute(update(Webhook).where(Webhook.id == self.webhook_id, Webhook.lease_until == self.until)
                        .values(lease_until=None), execution_options={"synchronize_session": False})
        self.until = None


class LeaseLost(Exception):
    pass


def deliver_pending(session_factory: sessionmaker[Session], settings: Settings, webhook_id: int) -> float | None:
    """Send the webhook's due pending deliveries, in order. Returns the seconds until its next
    delivery is due (a retry waiting), or None when nothing is left or another deliverer holds
    the webhook."""
    while True:
        lease = _Lease(session_factory, settings, webhook_id)
        if not lease.take():
            return None
        try:
            next_due = _deliver_leased(session_factory, settings, webhook_id, lease)
        except LeaseLost:
            log.warning("Lost the lease of webhook %s; its new holder goes on", webhook_id)
            return None
        finally:
            lease.release()
        if next_due is not None:
            return next_due
        # A delivery committed while we held the lease had its wake-up refused: look once more.
        with transaction(session_factory) as session:
            if not _has_due(session, webhook_id):
                return None


def _has_due(session: Session, webhook_id: int) -> bool:
    return session.scalar(select(exists().where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= utcnow(),
        select(Webhook.id).where(Webhook.id == webhook_id, Webhook.is_active.is_(True)).exists(),
    )))


def _deliver_leased(session_factory: sessionmaker[Session], settings: Settings, webhook_id: int, lease: _Lease) -> float | None:
    marks: list[dict[str, Any]] = []
    last_flush = time.monotonic()

    def flush(session: Session | None = None) -> None:
        """Write the batched "delivered" marks and renew the lease (in `session`'s transaction,
        or one of its own); LeaseLost once they are committed if another deliverer took over."""
        nonlocal last_flush
        if session is None:
            with transaction(session_factory) as own:
                renewed = _write_marks(own)
        else:
            renewed = _write_marks(session)
        last_flush = time.monotonic()
        if not renewed:
            raise LeaseLost()

    def _write_marks(session: Session, *, renew: bool = True) -> bool:
        if marks:
            session.execute(update(WebhookDelivery), marks)
            session.execute(update(Webhook).where(Webhook.id == webhook_id, Webhook.consecutive_failures != 0)
                            .values(consecutive_failures=0), execution_options={"synchronize_session": False})
            marks.clear()
        return lease.renew(session) if renew else True

    def finish() -> None:
        with transaction(session_factory) as session:
            _write_marks(session, renew=False)
            lease.release(session)

    client = shared_client()
    try:
        while True:
            with transaction(session_factory) as session:
                target = _target(session, webhook_id)
                rows = [] if target is None else session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.next_attempt_at,
                           WebhookMessage.action, WebhookMessage.payload)
                    .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
                    .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == PENDING)
                    .order_by(WebhookDelivery.id).limit(READ_BATCH)
                ).all()
            if not rows:
                return None
            for delivery_id, attempts, next_attempt_at, action, payload in rows:
                now = utcnow()
                if next_attempt_at > now:
                    return max((next_attempt_at - now).total_seconds(), 0.01)  # a retry waits: so do the later ones
                if lease.stale():
                    flush()
                attempt = _send(client, settings, target, delivery_id, action, payload)
                if attempt.delivered:
                    marks.append({"id": delivery_id, "status": DELIVERED, "attempts": attempts + 1, "delivered_at": attempt.at,
                                  "last_attempt_at": attempt.at, "response_status": attempt.status,
                                  "latency_ms": attempt.latency_ms, "last_error": None})
                    if len(marks) >= FLUSH_EVERY or time.monotonic() - last_flush >= FLUSH_SECONDS:
                        flush()
                    continue
                with transaction(session_factory) as session:
                    wait = _record_failure(session, settings, target, delivery_id, attempts + 1, attempt)
                    flush(session)
                if wait == "disabled":
                    return None
                if wait is not None:
                    return wait
                # Dead-lettered: the next delivery proceeds.
            if len(rows) < READ_BATCH:
                finish()  # that was all: the marks and the lease's release in one transaction
                return None
            if marks:
                flush()  # the next read must not see these as pending
    finally:
        if marks:
            flush()


def _target(session: Session, webhook_id: int) -> _Target | None:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or not webhook.is_active:
        return None
    return _Target(webhook.id, webhook.organization_id, webhook.project_id, webhook.url, dict(webhook.headers or {}),
                   webhook.secret, webhook.send_payload)


def _send(client: httpx.Client, settings: Settings, target: _Target, delivery_id: int, action: str, payload: dict) -> _Attempt:
    body = orjson.dumps(payload if target.send_payload else {"action": action})
    message_id = f"msg_{delivery_id}"
    timestamp = int(time.time())
    # The webhook's own headers as given (Label Studio), then ours, which they cannot override.
    headers = {"Content-Type": "application/json", **target.headers,
               "webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if target.secret:
        headers["webhook-signature"] = sign(target.secret, message_id, timestamp, body)
    began = time.monotonic()
    status = None
    try:
        pinned = pin_url(settings, target.url)
        headers.update(pinned.headers)
        with client.stream("POST", pinned.url, content=body, headers=headers, extensions=pinned.extensions,
                           timeout=settings.webhook_timeout_seconds) as response:
            status = response.status_code
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= MAX_RESPONSE_BYTES:
                    break
        latency = (time.monotonic() - began) * 1000
        if 200 <= status < 300:
            return _Attempt(True, status, latency, None, utcnow())
        text = received.decode("utf-8", "replace").strip()
        error = f"HTTP {status}" + (f": {text}" if text else "")
    except OutgoingUrlRefused as refused:
        latency, error = (time.monotonic() - began) * 1000, f"URL refused: {refused}"
    except httpx.HTTPError as exc:
        latency, error = (time.monotonic() - began) * 1000, f"{type(exc).__name__}: {exc}".rstrip(": ")
    return _Attempt(False, status, latency, error[:MAX_ERROR_CHARS], utcnow())


def _record_failure(session: Session, settings: Settings, target: _Target, delivery_id: int, attempts: int,
                    attempt: _Attempt) -> float | str | None:
    """Record a failed attempt. Returns the seconds until the retry, None when the delivery is
    dead-lettered (the next one may go), or "disabled"."""
    dead = attempts >= settings.webhook_max_attempts
    wait = retry_delay(settings, attempts)
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(
        status=DEAD if dead else PENDING, attempts=attempts, last_attempt_at=attempt.at,
        response_status=attempt.status, latency_ms=attempt.latency_ms, last_error=attempt.error,
        next_attempt_at=attempt.at + timedelta(seconds=wait),
    ), execution_options={"synchronize_session": False})
    failures = session.scalar(
        update(Webhook).where(Webhook.id == target.id).values(consecutive_failures=Webhook.consecutive_failures + 1)
        .returning(Webhook.consecutive_failures)
    )
    if failures is not None and failures >= settings.webhook_disable_after_failures:
        _disable(session, target, f"Disabled after {failures} failed delivery attempts in a row; last: {attempt.error}")
        return "disabled"
    if dead:
        log.warning("Webhook %s: delivery %s is dead after %s attempts (%s)", target.id, delivery_id, attempts, attempt.error)
        return None
    return wait


def _disable(session: Session, target: _Target, reason: str) -> None:
    log.warning("Webhook %s disabled: %s", target.id, reason)
    session.execute(update(Webhook).where(Webhook.id == target.id).values(
        is_active=False, disabled_reason=reason[:MAX_ERROR_CHARS], updated_at=utcnow()),
        execution_options={"synchronize_session": False})
    session.execute(update(WebhookDelivery).where(WebhookDelivery.webhook_id == target.id, WebhookDelivery.status == PENDING)
                    .values(status=DEAD, last_error="The webhook was disabled."), execution_options={"synchronize_session": False})
    record_event(session, Event(WEBHOOKS_UPDATED, target.organization_id, target.project_id, (target.id,),
                                data={"disabled_reason": reason[:MAX_ERROR_CHARS]}))


def webhooks_with_due_deliveries(session: Session, *, limit: int = 1000) -> list[int]:
    """Active, unleased webhooks with a pending delivery due now: their wake-up may have been
    lost (a worker killed, the broker down). For the job sweeper."""
    now = utcnow()
    return list(session.scalars(
        select(Webhook.id).where(
            Webhook.is_active.is_(True), or_(Webhook.lease_until.is_(None), Webhook.lease_until < now),
            exists().where(WebhookDelivery.webhook_id == Webhook.id, WebhookDelivery.status == PENDING,
                           WebhookDelivery.next_attempt_at <= now),
        ).order_by(Webhook.id).limit(limit)
    ))


def prune_deliveries(session_factory: sessionmaker[Session], *, retention: timedelta = RETENTION) -> None:
    """Delete delivered deliveries older than `retention` (dead letters: DEAD_RETENTION), then
    the messages no delivery refers to any more."""
    cutoff = utcnow() - retention
    with transaction(session_factory) as session:
        session.execute(delete(WebhookDelivery).where(or_(
            and_(WebhookDelivery.status == DELIVERED, WebhookDelivery.delivered_at < cutoff),
            and_(WebhookDelivery.status == DEAD, WebhookDelivery.created_at < utcnow() - DEAD_RETENTION),
        )), execution_options={"synchronize_session": False})
        session.execute(delete(WebhookMessage).where(
            WebhookMessage.created_at < cutoff,
            ~exists().where(WebhookDelivery.message_id == WebhookMessage.id),
        ), execution_options={"synchronize_session": False})
