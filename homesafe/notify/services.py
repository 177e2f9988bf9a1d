"""Queueing notifications and delivering them: the worker loop's `handle_one_*` steps.

Delivery is at least once. A row is claimed by a committed conditional update that starts a
lease, sent outside any transaction, then marked sent only by the worker still holding the
lease. A worker that dies mid-send leaves the row `sending`; when the lease runs out it is due
again and re-sent with the same idempotency key, so a crash can delay an alert but not lose it.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import smtplib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from homesafe.notify.models import Notification
from homesafe.notify.transports import DeliveryError, transport_for

logger = logging.getLogger("homesafe.notify")

# Printable ASCII without spaces: the key travels as a mail header and in logs.
_KEY = re.compile(r"[!-~]{1,200}")
# Seconds before retry n (the last repeats), each with +-20 % jitter so workers that failed
# together (a mail server restart) do not all come back in the same second.
RETRY_DELAYS = (10, 30, 120, 600, 1800, 3600)
RETRY_JITTER = 0.2
PURGE_BATCH = 500

State = Notification.State


@dataclass(frozen=True)
class NotificationIn:
    """One message to queue with `notification_enqueue_many` (the fields of
    `notification_enqueue`)."""

    key: str
    channel: str
    recipient: str | None
    kind: str
    subject: str
    body: str
    walk_id: uuid.UUID | None = None
    organisation_id: int | None = None
    deliver_after: datetime | None = None


def _checked(key: str, channel: str) -> None:
    if not _KEY.fullmatch(key):
        raise ValueError("idempotency key: 1-200 printable ASCII characters without spaces")
    if channel not in Notification.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")


def _new_row(message: NotificationIn, now: datetime) -> Notification:
    notification = Notification(
        id=uuid.uuid4(),  # before saving: the encrypted fields are bound to it
        idempotency_key=message.key,
        channel=message.channel,
        recipient=message.recipient,
        kind=message.kind,
        subject=message.subject,
        body=message.body,
        walk_id=message.walk_id,
        organisation_id=message.organisation_id,
        next_attempt_at=message.deliver_after or now,
        created_at=now,
    )
    if not message.recipient:
        notification.state, notification.last_error = State.FAILED, "no recipient"
    return notification


def _log_undeliverable_on_commit(notification: Notification) -> None:
    transaction.on_commit(functools.partial(
        logger.error, "notification %s (%s via %s) NOT DELIVERED: no recipient",
        notification.id, notification.kind, notification.channel,
    ))


def notification_enqueue(
    *,
    key: str,
    channel: str,
    recipient: str | None,
    kind: str,
    subject: str,
    body: str,
    walk_id: uuid.UUID | None = None,
    organisation_id: int | None = None,
    deliver_after: datetime | None = None,
) -> Notification:
    """Queue one message. The same key again returns the first row, unchanged. Call it inside
    the transaction of the change it announces: nothing is sent unless that commits.

    A bad key or channel is a programming error and raises. A missing recipient is a data
    problem (a contact without an address): the row is stored as failed and logged at ERROR,
    without raising, so one incomplete contact cannot roll back the alerts to everyone else."""
    _checked(key, channel)
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    notification = _new_row(
        NotificationIn(
            key=key,
            channel=channel,
            recipient=recipient,
            kind=kind,
            subject=subject,
            body=body,
            walk_id=walk_id,
            organisation_id=organisation_id,
            deliver_after=deliver_after,
        ),
        timezone.now(),
    )
    try:
        # A savepoint, so losing the race below leaves the caller's transaction usable.
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        # Another process queued the same key between our read and our insert (PostgreSQL
        # makes our insert wait for theirs to commit, so the row is there to read now).
        return Notification.objects.get(idempotency_key=key)
    if notification.state == State.FAILED:
        _log_undeliverable_on_commit(notification)
    return notification


def notification_enqueue_many(messages: Sequence[NotificationIn]) -> list[str]:
    """Queue several messages in three queries, with `notification_enqueue`'s rules: a key
    already queued keeps its first row, a missing recipient is stored as failed and logged.
    Returns the keys that were not queued yet (a process racing this one may have queued
    some of them first). Call it inside the transaction of the change they announce."""
    for message in messages:
        _checked(message.key, message.channel)
    wanted = {message.key: message for message in reversed(messages)}  # the first of a key wins
    if not wanted:
        return []
    queued = set(
        Notification.objects.filter(idempotency_key__in=list(wanted)).values_list(
            "idempotency_key", flat=True
        )
    )
    now = timezone.now()
    rows = [_new_row(m, now) for m in messages if m.key not in queued and wanted[m.key] is m]
    # A key another process queued since the read above is skipped by the database (ON
    # CONFLICT DO NOTHING; PostgreSQL first waits for that process to commit or roll back),
    # so there is no error to recover from and no savepoint is needed.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # SQLite's INSERT OR IGNORE also skips rows that break any other constraint: make sure
    # every message has its row, or fail the caller's transaction rather than lose an alert.
    if rows and Notification.objects.filter(idempotency_key__in=list(wanted)).count() != len(
        wanted
    ):
        raise IntegrityError("some notifications could not be queued")
    for row in rows:
        if row.state == State.FAILED:
            _log_undeliverable_on_commit(row)
    return [row.idempotency_key for row in rows]


def _claim(now: datetime) -> Notification | None:
    """Claim the most overdue row: pending and due, or sending with an expired lease."""
    lease_until = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    due = Notification.objects.filter(
        state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now
    )
    with transaction.atomic():
        # PostgreSQL: workers skip rows another worker is claiming right now. SQLite ignores
        # this and serialises the block instead (IMMEDIATE transactions).
        row = (
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("id", "attempts")
            .first()
        )
        if row is None:
            return None
        pk, attempts = row
        # `attempts` doubles as the claim token: every claim raises it, so exactly one worker
        # can move the row from the state it read.
        claimed = due.filter(id=pk, attempts=attempts).update(
            state=State.SENDING,
            attempts=F("attempts") + 1,
            lease_until=lease_until,
            next_attempt_at=lease_until,
        )
    if claimed != 1:
        return None
    return Notification.objects.get(id=pk)


def _held(notification: Notification) -> QuerySet[Notification]:
    """The row, as long as this worker's claim is still the newest one."""
    return Notification.objects.filter(
        id=notification.id, state=State.SENDING, attempts=notification.attempts
    )


def describe_error(exc: BaseException) -> str:
    """What went wrong, without personal data: exception messages can quote an address."""
    name = type(exc).__name__
    if isinstance(exc, DeliveryError):
        return f"{name}: {exc}"[:200]  # our own texts, written without personal data
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _msg in exc.recipients.values()})
        return f"{name} {','.join(codes)}"
    if isinstance(exc, OSError) and exc.errno:
        return f"{name} errno {exc.errno}"
    return name


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after failed attempt number `attempts` (1-based), with jitter."""
    base = RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]
    return timedelta(seconds=base * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER))


def _log_fields(notification: Notification) -> tuple[object, ...]:
    return (notification.id, notification.kind, notification.channel, notification.attempts)


def _failed(notification: Notification, error: str, when: datetime) -> None:
    if notification.attempts >= notification.max_attempts:
        if _held(notification).update(state=State.FAILED, lease_until=None, last_error=error):
            logger.error(
                "notification %s (%s via %s) NOT DELIVERED: gave up after %d attempts; "
                "last error: %s", *_log_fields(notification), error,
            )
        return
    delay = retry_delay(notification.attempts)
    if _held(notification).update(
        state=State.PENDING, next_attempt_at=when + delay, lease_until=None, last_error=error
    ):
        logger.warning(
            "notification %s (%s via %s) attempt %d failed: %s; retrying in %ds",
            *_log_fields(notification), error, delay.total_seconds(),
        )
    else:
        logger.warning(
            "notification %s (%s via %s) attempt %d failed after its lease expired: %s",
            *_log_fields(notification), error,
        )


def handle_one_notification(now: datetime | None = None) -> bool:
    """Claim one due notification and try to send it. False when nothing was due."""
    notification = _claim(now or timezone.now())
    if notification is None:
        return False
    if notification.attempts > notification.max_attempts:
        # Its last attempt's worker died mid-send: count that as the final failure.
        _failed(notification, "lease expired during the last attempt", now or timezone.now())
        return True
    try:
        transport_for(notification.channel)(notification)
    except Exception as exc:
        _failed(notification, describe_error(exc), now or timezone.now())
        return True
    sent = _held(notification).update(
        state=State.SENT, sent_at=now or timezone.now(), lease_until=None, last_error=""
    )
    if sent:
        logger.info("notification %s (%s via %s) sent on attempt %d", *_log_fields(notification))
    else:
        # Our lease ran out during the send and another worker re-claimed the row: it will
        # send again (same idempotency key) and record the outcome.
        logger.warning(
            "notification %s (%s via %s) attempt %d sent after its lease expired",
            *_log_fields(notification),
        )
    return True


def handle_one_notification_purge(now: datetime | None = None) -> bool:
    """Erase recipient, subject and body (addresses, last-known positions) of one batch of
    finished notifications older than the retention period; keep the delivery record."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.NOTIFY_RETENTION_HOURS)
    ids = list(
        Notification.objects.filter(
            state__in=[State.SENT, State.FAILED], created_at__lt=cutoff, recipient__isnull=False
        ).values_list("id", flat=True)[:PURGE_BATCH]
    )
    if not ids:
        return False
    Notification.objects.filter(id__in=ids, state__in=[State.SENT, State.FAILED]).update(
        recipient=None, subject=None, body=None
    )
    return True
