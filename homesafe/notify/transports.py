"""How a notification leaves the machine: one transport per channel.

A transport takes a claimed Notification and either hands it over or raises; the worker then
retries with backoff. Each passes the idempotency key along so a message re-sent after a crash
can be recognised as a duplicate downstream. SMS and web push are boundaries (`SmsGateway`,
`PushGateway`) that a provider adapter implements, named by a setting.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend
from django.utils import timezone
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from homesafe.notify.models import Notification

IDEMPOTENCY_HEADER = "X-Homesafe-Idempotency-Key"

Transport = Callable[["Notification"], None]


class DeliveryError(Exception):
    """The message was not handed over. The text is logged: never put personal data in it."""


# Adapters must time out well within NOTIFY_LEASE_SECONDS: a send that hangs holds a sending
# thread, and after the lease another worker sends the message again.


class SmsGateway(Protocol):
    def send(self, recipient: str, text: str, idempotency_key: str) -> None:
        """Hand one text message to the provider, or raise."""


class PushGateway(Protocol):
    def send(self, recipient: str, text: str, idempotency_key: str) -> None:
        """Hand one push message (recipient: the subscription endpoint) over, or raise."""


# --- email -----------------------------------------------------------------------------------


def message_id_for(key: str) -> str:
    """The same Message-ID for every (re-)send of one notification, so duplicates collapse."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "homesafe.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def send_email(notification: Notification) -> None:
    message = EmailMessage(
        # A subject is one header line; a newline in rendered text must not break the mail.
        subject=" ".join((notification.subject or "").split()),
        body=notification.body or "",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={
            IDEMPOTENCY_HEADER: notification.idempotency_key,
            "Message-ID": message_id_for(notification.idempotency_key),
        },
    )
    if message.send(fail_silently=False) != 1:
        raise DeliveryError("the email backend accepted no message")


class OutboxEmailBackend(FileEmailBackend):
    """Django's file backend in an owner-only folder: the embedded default's mails carry alert
    text, so other local users must not read them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        path = Path(kwargs.get("file_path") or settings.EMAIL_FILE_PATH)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        super().__init__(*args, **kwargs)


# --- SMS and web push ------------------------------------------------------------------------


class _OutboxGateway:
    """Records messages to DATA_DIR/outbox, clearly marked as not delivered. A stand-in for a
    provider in the embedded default; in production it refuses, so nothing is marked sent."""

    channel = ""

    def send(self, recipient: str, text: str, idempotency_key: str) -> None:
        if settings.PRODUCTION:
            raise DeliveryError(f"no {self.channel} provider configured")
        outbox = Path(settings.OUTBOX_DIR)
        outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        path = outbox / f"{self.channel}-{stamp}-{secrets.token_hex(4)}.txt"
        record = (
            f"NOT DELIVERED: no {self.channel} provider is configured; recorded here for local "
            f"testing only.\nTo: {recipient}\n{IDEMPOTENCY_HEADER}: {idempotency_key}\n\n{text}\n"
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(record)


class OutboxSmsGateway(_OutboxGateway):
    channel = "sms"


class OutboxPushGateway(_OutboxGateway):
    channel = "push"


@functools.cache
def _gateway(path: str) -> Any:
    return import_string(path)()


def sms_gateway() -> SmsGateway:
    return _gateway(settings.NOTIFY_SMS_GATEWAY)  # type: ignore[no-any-return]


def push_gateway() -> PushGateway:
    return _gateway(settings.NOTIFY_PUSH_GATEWAY)  # type: ignore[no-any-return]


def _text(notification: Notification) -> str:
    return "\n".join(part for part in (notification.subject, notification.body) if part)


def send_sms(notification: Notification) -> None:
    sms_gateway().send(notification.recipient, _text(notification), notification.idempotency_key)


def send_push(notification: Notification) -> None:
    push_gateway().send(notification.recipient, _text(notification), notification.idempotency_key)


# --- websocket -------------------------------------------------------------------------------


def send_websocket(notification: Notification) -> None:
    """Publish to a realtime group (the recipient, e.g. "walk.<uuid>"). `strict`: a Redis
    outage raises, so the row is retried instead of counted as sent. Browsers may see a
    message twice after a crash; they drop repeats by its id."""
    try:
        from homesafe.realtime.events import publish
    except ImportError as exc:
        raise DeliveryError("the realtime layer (homesafe.realtime) is not installed") from exc
    publish(
        notification.recipient,
        {
            "type": "notification",
            "id": str(notification.id),
            "kind": notification.kind,
            "subject": notification.subject or "",
            "body": notification.body or "",
        },
        strict=True,
    )


_TRANSPORTS: dict[str, Transport] = {
    "email": send_email,
    "sms": send_sms,
    "push": send_push,
    "websocket": send_websocket,
}


def register_transport(channel: str, transport: Transport) -> None:
    """Replace or add the transport of a channel (e.g. a provider adapter)."""
    _TRANSPORTS[channel] = transport


def transport_for(channel: str) -> Transport:
    try:
        return _TRANSPORTS[channel]
    except KeyError:
        raise DeliveryError(f"no transport for channel {channel!r}") from None
