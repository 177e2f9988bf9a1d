"""Published statistics: per-organisation rules, released snapshots, the privacy-budget ledger
and caseworkers' anonymised case summaries approved for the police-meeting pack."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.utils import timezone

from homesafe.accounts.models import Organisation, User
from homesafe.common.fields import EncryptedTextField


class StatsSettings(models.Model):
    """An organisation's publication rules."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="stats_settings"
    )
    # No published count lies in 1..k-1.
    k = models.PositiveSmallIntegerField(default=5)
    # H3 resolution of the public map (8: cells of about 0.7 km2), coarsened to parents.
    map_resolution = models.PositiveSmallIntegerField(default=8)
    # Resolution-5 H3 cells (strings): the fixed map domain that DP releases add noise over.
    map_area = models.JSONField(default=list, blank=True)
    months_published = models.PositiveSmallIntegerField(default=24)
    # Differential privacy: off unless release_epsilon is set.
    release_epsilon = models.FloatField(null=True, blank=True)
    yearly_epsilon_budget = models.FloatField(default=4.0)

    def __str__(self) -> str:
        return f"stats settings of org {self.organisation_id}"


class StatsRelease(models.Model):
    """One published snapshot: the payload holds released values only (all multiples of k)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="stats_releases"
    )
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    first_month = models.CharField(max_length=7)
    last_month = models.CharField(max_length=7)
    k = models.PositiveSmallIntegerField()
    epsilon = models.FloatField(null=True, blank=True)
    reports_counted = models.PositiveIntegerField(default=0)  # exact; staff only, never public
    payload = models.JSONField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "number"], name="release_number_once")
        ]

    def __str__(self) -> str:
        return f"release {self.number} of org {self.organisation_id}"


class PrivacyBudgetEntry(models.Model):
    """The ledger: every differentially private release and the epsilon it spent."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="privacy_budget_entries"
    )
    release = models.OneToOneField(
        StatsRelease, on_delete=models.PROTECT, related_name="budget_entry"
    )
    year = models.PositiveSmallIntegerField()
    epsilon = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organisation", "year"])]

    def __str__(self) -> str:
        return f"epsilon {self.epsilon} for release {self.release_id}"


class CaseSummary(models.Model):
    """An anonymised account of a notable case, written by a caseworker; it reaches the
    police-meeting pack only once someone else approved it for release."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="case_summaries"
    )
    month = models.CharField(max_length=7)  # "YYYY-MM": never a finer date
    title = models.CharField(max_length=120)
    summary = EncryptedTextField()
    written_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="case_summaries_written"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_summaries_approved",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organisation", "month"])]

    def __str__(self) -> str:
        return f"case summary {self.pk}"


class CellMonthCount(models.Model):
    """Consented reports per (organisation, month, stored H3 cell): kept current by signals on
    Report (homesafe/stats/rollup.py) so the public map never scans every report."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # first day of the month
    h3_cell = models.BigIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "month", "h3_cell"], name="cell_month_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} in {self.h3_cell} {self.month:%Y-%m}"
