"""The per-cell, per-month count of consented reports, kept current as reports change.

Signals on Report (connected in StatsConfig.ready) apply +1/-1 to the affected row when a
report is saved or deleted; `cell_counts_rebuild` recounts from scratch (after bulk loads,
which bypass signals)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncMonth

from homesafe.accounts.models import Organisation
from homesafe.reports.models import Report
from homesafe.stats.models import CellMonthCount

Key = tuple[int, dt.date, int]
WATCHED = {"consent_statistics", "occurred_on", "h3_cell", "organisation", "reported_at"}


def _month(report: Any) -> dt.date | None:
    day = report.occurred_on
    if day is None and report.reported_at is not None:
        tz = zoneinfo.ZoneInfo(
            Organisation.objects.filter(pk=report.organisation_id)
            .values_list("timezone", flat=True)
            .first()
            or "UTC"
        )
        day = report.reported_at.astimezone(tz).date()
    return day.replace(day=1) if day else None


def _key(report: Any) -> Key | None:
    if not report.consent_statistics or report.h3_cell is None:
        return None
    month = _month(report)
    return (report.organisation_id, month, report.h3_cell) if month else None


def _apply(key: Key | None, delta: int) -> None:
    if key is None:
        return
    org_id, month, cell = key
    rows = CellMonthCount.objects.filter(organisation_id=org_id, month=month, h3_cell=cell)
    if rows.update(n=F("n") + delta):
        return
    try:
        with transaction.atomic():
            CellMonthCount.objects.create(
                organisation_id=org_id, month=month, h3_cell=cell, n=delta
            )
    except IntegrityError:  # created meanwhile by another writer
        rows.update(n=F("n") + delta)


def before_save(sender: Any, instance: Report, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if instance._state.adding or (fields is not None and not WATCHED & set(fields)):
        instance._stats_old_key = "skip" if not instance._state.adding else None  # type: ignore[attr-defined]
        return
    old = (
        Report.objects.filter(pk=instance.pk)
        .only("organisation_id", "consent_statistics", "occurred_on", "h3_cell", "reported_at")
        .first()
    )
    instance._stats_old_key = _key(old) if old is not None else None  # type: ignore[attr-defined]


def after_save(sender: Any, instance: Report, created: bool, **kwargs: Any) -> None:
    old = getattr(instance, "_stats_old_key", None)
    if old == "skip":
        return
    new = _key(instance)
    if old != new:
        _apply(old, -1)
        _apply(new, +1)


def after_delete(sender: Any, instance: Report, **kwargs: Any) -> None:
    _apply(_key(instance), -1)


def cell_counts_rebuild(organisation: Organisation) -> int:
    """Recount an organisation's rows from the reports (one GROUP BY); returns rows written."""
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    base = Report.objects.filter(
        organisation=organisation, consent_statistics=True, h3_cell__isnull=False
    )
    counts: dict[tuple[dt.date, int], int] = {}
    dated = (
        base.filter(occurred_on__isnull=False)
        .annotate(m=TruncMonth("occurred_on"))
        .values_list("m", "h3_cell")
        .annotate(n=Count("id"))
    )
    for month, cell, n in dated:
        key = (month if isinstance(month, dt.date) else month.date(), int(cell))
        counts[key] = counts.get(key, 0) + int(n)
    undated = base.filter(occurred_on__isnull=True).values_list("reported_at", "h3_cell")
    for at, cell in undated:
        if cell is None:
            continue
        key = (at.astimezone(tz).date().replace(day=1), int(cell))
        counts[key] = counts.get(key, 0) + 1
    with transaction.atomic():
        CellMonthCount.objects.filter(organisation=organisation).delete()
        CellMonthCount.objects.bulk_create(
            [
                CellMonthCount(organisation=organisation, month=m, h3_cell=c, n=n)
                for (m, c), n in counts.items()
            ],
            batch_size=5000,
        )
    return len(counts)


def cell_counts(organisation: Organisation, start: dt.date, end: dt.date) -> dict[int, int]:
    """Consented reports per stored cell over [start, end): a GROUP BY over the small table."""
    rows = (
        CellMonthCount.objects.filter(
            organisation=organisation, month__gte=start, month__lt=end, n__gt=0
        )
        .values_list("h3_cell")
        .annotate(total=Sum("n"))
    )
    return {int(cell): int(total) for cell, total in rows}
