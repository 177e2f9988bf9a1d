"""Outgoing notifications: one row per message, delivered at least once by the worker loop.

Recipient, subject and body are encrypted (an address, a phone number, a last-known position);
everything the worker needs to schedule and claim a row is in the clear.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from homesafe.common.fields import EncryptedTextField


def default_max_attempts() -> int:
    return int(settings.NOTIFY_MAX_ATTEMPTS)


class Notification(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"
        PUSH = "push"
        WEBSOCKET = "websocket"

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Built by the caller from what the message is about, e.g.
    # "walk:<walk id>:overdue:<contact id>:email": enqueueing twice yields one row.
    idempotency_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = EncryptedTextField()
    kind = models.CharField(max_length=40)
    subject = EncryptedTextField()
    body = EncryptedTextField()

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=default_max_attempts)
    # When a worker should next pick the row up: the retry time while pending, the end of the
    # lease while sending (so rows of a worker that died are due again through the same index).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Exception class name and SMTP code only: never an address, a subject or a body.
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    # Plain ids, not foreign keys: notify does not depend on the apps that use it.
    walk_id = models.UUIDField(null=True, blank=True, db_index=True)
    organisation_id = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["state", "next_attempt_at"], name="notify_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} via {self.channel} ({self.state})"
