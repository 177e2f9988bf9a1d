"""Casework beyond a single report: incidents that link reports, duplicate and troll flags,
tasks with reminders, a contact log, referrals and outcomes.

Nothing here deletes a report. Flags and incident links are cleared by stamping `cleared_at` /
`removed_at`, so the history stays readable. Free text that may hold personal data (titles,
labels, summaries, who a referral went to, notes, reasons) is an EncryptedTextField.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from homesafe.accounts.models import Organisation, User
from homesafe.common.fields import EncryptedTextField
from homesafe.reports.models import Report


class LinkRole(models.TextChoices):
    VICTIM = "victim", _("Victim")
    WITNESS = "witness", _("Witness")
    MEDIA = "media", _("Media report")
    OTHER = "other", _("Other")


class FlagKind(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate")
    TROLL = "troll", _("Suspected troll")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    MAILBOX = "mailbox", _("Report mailbox")
    IN_PERSON = "in_person", _("In person")
    VIDEO = "video", _("Video call")
    OTHER = "other", _("Other")


class ContactDirection(models.TextChoices):
    OUTBOUND = "outbound", _("We contacted them")
    INBOUND = "inbound", _("They contacted us")
    ATTEMPT = "attempt", _("We tried, no answer")


class ReferralKind(models.TextChoices):
    POLICE = "police", _("Police")
    COUNSELLING = "counselling", _("Counselling")
    LEGAL_AID = "legal_aid", _("Legal aid")
    MEDICAL = "medical", _("Medical")
    HOUSING = "housing", _("Housing")
    OTHER = "other", _("Other")


class ReferralStatus(models.TextChoices):
    SUGGESTED = "suggested", _("Suggested")
    MADE = "made", _("Made")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    COMPLETED = "completed", _("Completed")


class OutcomeCode(models.TextChoices):
    SUPPORTED = "supported", _("Supported")
    RESOLVED = "resolved", _("Resolved")
    REFERRED_ON = "referred_on", _("Referred on")
    REPORTER_WITHDREW = "reporter_withdrew", _("Reporter withdrew")
    NO_CONTACT_POSSIBLE = "no_contact_possible", _("No contact possible")
    CLOSED_NO_ACTION = "closed_no_action", _("Closed, no action")


class Incident(models.Model):
    """One thing that happened, told by several reports (victim, witnesses, a media report)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="incidents"
    )
    title = EncryptedTextField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organisation", "-updated_at"])]

    def __str__(self) -> str:
        return f"incident {self.pk}"

    @property
    def short_ref(self) -> str:
        return self.pk.hex[:8].upper()


class IncidentReport(models.Model):
    """A report's place in an incident. Removing it stamps `removed_at`; a report is in at most
    one incident at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="incident_links")
    role = models.CharField(max_length=12, choices=LinkRole.choices)
    # A short label a caseworker chooses ("witness with video"); never a name.
    label = EncryptedTextField()
    added_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["report"], condition=Q(removed_at__isnull=True), name="one_open_incident"
            )
        ]

    def __str__(self) -> str:
        return f"incident link {self.pk}"


class ReportFlag(models.Model):
    """A duplicate or suspected-troll mark on a report. Clearing stamps `cleared_at`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="case_flags")
    kind = models.CharField(max_length=12, choices=FlagKind.choices)
    duplicate_of = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.CASCADE, related_name="duplicate_flags"
    )
    reason = EncryptedTextField()
    set_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)
    cleared_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["report", "kind"], condition=Q(cleared_at__isnull=True), name="flag_once"
            ),
            models.CheckConstraint(
                condition=(Q(kind="duplicate") & Q(duplicate_of__isnull=False))
                | (Q(kind="troll") & Q(duplicate_of__isnull=True)),
                name="flag_target_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} flag {self.pk}"


class SubjectMixin(models.Model):
    """Casework hangs off exactly one report or one incident of one organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")

    class Meta:
        abstract = True

    @property
    def subject_kind(self) -> str:
        return "report" if self.report_id else "incident"

    @property
    def subject_id(self) -> uuid.UUID:
        return self.report_id or self.incident_id  # type: ignore[return-value]


def _one_subject(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=(Q(report__isnull=False) & Q(incident__isnull=True))
        | (Q(report__isnull=True) & Q(incident__isnull=False)),
        name=name,
    )


class Task(SubjectMixin):
    """Something to do by a time, for one caseworker, with an optional email reminder."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = EncryptedTextField()
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="case_tasks"
    )
    # How long before `due_at` to remind (None: no reminder).
    remind_minutes_before = models.PositiveIntegerField(null=True, blank=True)
    # When the pending reminder is due; None once it was queued, when done, or without one.
    # The reminder loop claims a task by moving this from the value it read to None.
    remind_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Part of the reminder's idempotency key: raised whenever a new reminder is scheduled.
    reminder_seq = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [_one_subject("task_one_subject")]
        indexes: ClassVar = [models.Index(fields=["assignee", "done_at", "due_at"])]

    def __str__(self) -> str:
        return f"task {self.pk}"

    def is_overdue(self, now: object = None) -> bool:
        return self.done_at is None and self.due_at < (now or timezone.now())  # type: ignore[operator]


class ContactEntry(SubjectMixin):
    """One contact (or attempt) with the people of a case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    happened_at = models.DateTimeField()
    channel = models.CharField(max_length=12, choices=ContactChannel.choices)
    direction = models.CharField(max_length=10, choices=ContactDirection.choices)
    summary = EncryptedTextField()
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [_one_subject("contact_one_subject")]

    def __str__(self) -> str:
        return f"contact {self.pk}"


class Referral(SubjectMixin):
    """A referral to another service and how it went; each status change stamps its date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=12, choices=ReferralKind.choices)
    # The service or person referred to.
    to_whom = EncryptedTextField()
    status = models.CharField(
        max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.SUGGESTED
    )
    suggested_at = models.DateTimeField(default=timezone.now)
    made_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)  # accepted or declined
    completed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [_one_subject("referral_one_subject")]

    def __str__(self) -> str:
        return f"referral {self.pk}"


class Outcome(SubjectMixin):
    """Where a report or an incident ended up; one per subject, replaced in place (audited)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=24, choices=OutcomeCode.choices)
    note = EncryptedTextField()
    set_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            _one_subject("outcome_one_subject"),
            models.UniqueConstraint(fields=["report"], name="outcome_once_per_report"),
            models.UniqueConstraint(fields=["incident"], name="outcome_once_per_incident"),
        ]

    def __str__(self) -> str:
        return f"outcome {self.pk}"
