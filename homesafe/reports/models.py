"""Incident reports, their mailbox and casework notes, and the police-response log.

Narratives, names, contacts, places and police references are EncryptedTextField or
EncryptedJSONField: ciphertext in the database, bound to the row and the field.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from homesafe.accounts.models import Organisation, User
from homesafe.common.fields import EncryptedJSONField, EncryptedTextField
from homesafe.reports import taxonomy as tx


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="reports")
    # SHA-256 of the normalised reference code: the code itself is never stored.
    code_hash = models.CharField(max_length=64, unique=True)
    reporter_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="own_reports"
    )

    reporter_role = models.CharField(max_length=20, choices=tx.REPORTER_ROLES)
    identity_level = models.CharField(
        max_length=20, choices=tx.IDENTITY_LEVELS, default="pseudonymous"
    )
    # name, email, phone, channel, safe_times, leave_message, language, accessibility
    contact = EncryptedJSONField()

    consent_caseworkers = models.BooleanField(default=True)
    consent_police = models.CharField(max_length=16, choices=tx.CONSENT_POLICE, default="none")
    consent_statistics = models.BooleanField(default=False)

    occurred_on = models.DateField(null=True, blank=True)
    occurred_time = models.TimeField(null=True, blank=True)
    occurred_approximate = models.BooleanField(default=False)
    reported_at = models.DateTimeField(default=timezone.now, db_index=True)

    place_text = EncryptedTextField()
    # {"lat":..,"lng":..} after the reporter's precision was applied; never the raw pin.
    point = EncryptedJSONField()
    location_precision = models.CharField(
        max_length=16, choices=tx.LOCATION_PRECISIONS, default="withhold"
    )
    h3_cell = models.BigIntegerField(null=True, blank=True, db_index=True)
    venue_type = models.CharField(max_length=24, choices=tx.VENUE_TYPES, blank=True)

    narrative = EncryptedTextField()
    bias_other_text = EncryptedTextField()
    bias_perceived = models.BooleanField(null=True, blank=True)
    bias_by_association = models.BooleanField(null=True, blank=True)

    offenders_count = models.CharField(max_length=16, choices=tx.OFFENDER_COUNTS, blank=True)
    offender_description = EncryptedTextField()
    relationship = models.CharField(max_length=20, choices=tx.RELATIONSHIPS, blank=True)
    injuries = models.CharField(max_length=24, choices=tx.INJURIES, blank=True)
    emotional_impact = EncryptedTextField()
    bystanders_count = models.PositiveIntegerField(null=True, blank=True)
    support_other = EncryptedTextField()

    status = models.CharField(max_length=24, choices=tx.STATUSES, default="new")
    priority = models.CharField(max_length=8, choices=tx.PRIORITIES, default="normal")
    priority_rank = models.PositiveSmallIntegerField(default=2)
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_reports"
    )
    needs_translation = models.BooleanField(default=False)
    # Set when "something happened" on a walk home opened this report.
    walk = models.ForeignKey(
        "walks.Walk", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    last_reporter_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organisation", "status", "priority_rank", "reported_at"]),
            models.Index(fields=["organisation", "occurred_on"]),
        ]

    def __str__(self) -> str:
        return f"report {self.pk}"

    def codes_for(self, dimension: str) -> list[str]:
        """Multi-select answers of one dimension (uses prefetched `codes` when present)."""
        return sorted(c.code for c in self.codes.all() if c.dimension == dimension)


class ReportCode(models.Model):
    """One multi-select answer of a report: (dimension, code), e.g. ("bias", "gay")."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="codes")
    dimension = models.CharField(max_length=24)
    code = models.CharField(max_length=40)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["report", "dimension", "code"], name="code_once")
        ]
        indexes: ClassVar = [models.Index(fields=["dimension", "code"])]

    def __str__(self) -> str:
        return f"{self.dimension}={self.code}"


class Message(models.Model):
    """The private two-way mailbox between a reporter and the organisation's caseworkers."""

    FROM_REPORTER = "reporter"
    FROM_CASEWORKER = "caseworker"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(
        max_length=12, choices=[(FROM_REPORTER, "reporter"), (FROM_CASEWORKER, "caseworker")]
    )
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    body = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["report", "created_at"])]

    def __str__(self) -> str:
        return f"message {self.pk}"


class CaseNote(models.Model):
    """An internal note on a report; never shown to the reporter."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL)
    body = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"note {self.pk}"


class PoliceResponse(models.Model):
    """One stage of how the police responded (TAXONOMY.md "Police response").

    The ledger is a history: rows are appended by the reporter, a caseworker or the police
    liaison and never edited in place (a correction is a new row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="police_responses")
    entered_by = models.CharField(max_length=16, choices=tx.POLICE_ENTERED_BY, default="reporter")
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    contacted = models.CharField(max_length=4, choices=tx.POLICE_CONTACTED, blank=True)
    contact_method = models.CharField(max_length=20, choices=tx.POLICE_CONTACT_METHODS, blank=True)
    minutes_to_arrive = models.PositiveIntegerField(null=True, blank=True)
    # {"escort_home": "refused", ...}: help asked for and what came of it
    help_requested = models.JSONField(default=dict, blank=True)
    alternative_offered = EncryptedTextField()
    officer_attitude = models.CharField(max_length=20, choices=tx.OFFICER_ATTITUDES, blank=True)
    recording = models.CharField(max_length=28, choices=tx.POLICE_RECORDING, blank=True)
    police_reference = EncryptedTextField()
    investigation = models.CharField(max_length=28, choices=tx.INVESTIGATION, blank=True)
    # When the police first made contact about the report: "hours until police made contact".
    police_contact_at = models.DateTimeField(null=True, blank=True)
    # Outcomes over time; None means this row says nothing about it.
    apology_received = models.BooleanField(null=True, blank=True)
    complaint_made = models.BooleanField(null=True, blank=True)
    complaint_upheld = models.BooleanField(null=True, blank=True)
    meeting_held = models.BooleanField(null=True, blank=True)
    victim_withdrew = models.BooleanField(null=True, blank=True)
    withdrawal_reason = EncryptedTextField()

    class Meta:
        indexes: ClassVar = [models.Index(fields=["report", "created_at"])]

    def __str__(self) -> str:
        return f"police response {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("police-response entries are appended, never edited in place")
        super().save(*args, **kwargs)

    def outcomes(self) -> list[tuple[str, bool]]:
        """The outcome answers this row gives, as (code, yes/no)."""
        return [
            (code, value)
            for code, _label in tx.POLICE_OUTCOMES
            if (value := getattr(self, code)) is not None
        ]
