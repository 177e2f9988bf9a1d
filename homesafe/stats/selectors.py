"""Reads for statistics: facts for a release, released snapshots, and exact staff figures."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from homesafe.accounts.models import Organisation
from homesafe.reports.models import PoliceResponse, Report, ReportCode
from homesafe.stats.engine import PoliceFact, ReleaseSpec, ReportFact, WalkFact
from homesafe.stats.models import CaseSummary, StatsRelease, StatsSettings
from homesafe.walks.models import Walk, WalkKind, WalkState


def stats_settings(organisation: Organisation) -> StatsSettings:
    """The organisation's publication rules (defaults until an admin changes them)."""
    found = StatsSettings.objects.filter(organisation=organisation).first()
    return found if found is not None else StatsSettings(organisation=organisation)


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_before(today: dt.date, count: int) -> tuple[str, ...]:
    """The `count` complete calendar months before the month of `today`, oldest first."""
    year, month = today.year, today.month
    out: list[str] = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return tuple(reversed(out))


def month_bounds(months: tuple[str, ...]) -> tuple[dt.date, dt.date]:
    """First day of the first month, first day after the last month."""
    y1, m1 = (int(p) for p in months[0].split("-"))
    y2, m2 = (int(p) for p in months[-1].split("-"))
    end = dt.date(y2 + (m2 == 12), m2 % 12 + 1, 1)
    return dt.date(y1, m1, 1), end


def police_fact(rows: Iterable[PoliceRow], reported_at: dt.datetime) -> PoliceFact | None:
    """One report's police response, folding its ledger rows: a later answer overrides."""
    rows = sorted(rows, key=lambda r: r.created_at)
    if not rows:
        return None
    contacted = attended = refused = hate = apology = False
    first_contact: dt.datetime | None = None
    for row in rows:
        if row.contacted:
            contacted = row.contacted == "yes"
        if row.contact_method == "attended_uncalled" or row.minutes_to_arrive is not None:
            attended = True
        if row.help_requested and "refused" in row.help_requested.values():
            refused = True
        if row.recording:
            hate = row.recording == "recorded_as_hate_crime"
        if row.apology_received is not None:
            apology = row.apology_received
        at = row.police_contact_at
        if at is not None and (first_contact is None or at < first_contact):
            first_contact = at
    hours = None
    if first_contact is not None:
        hours = max(0.0, (first_contact - reported_at).total_seconds() / 3600)
    return PoliceFact(
        contacted=contacted or attended,
        attended=attended,
        refused=refused,
        hate_crime=hate,
        apology=apology,
        contact_hours=hours,
    )


@dataclass(frozen=True)
class PoliceRow:
    """The columns of a police-response ledger row that statistics read (nothing encrypted)."""

    created_at: dt.datetime
    contacted: str
    contact_method: str
    minutes_to_arrive: int | None
    help_requested: dict[str, str]
    recording: str
    apology_received: bool | None
    police_contact_at: dt.datetime | None


POLICE_COLUMNS = (
    "report_id",
    "created_at",
    "contacted",
    "contact_method",
    "minutes_to_arrive",
    "help_requested",
    "recording",
    "apology_received",
    "police_contact_at",
)


def facts_from_reports(reports: QuerySet[Report], tz: zoneinfo.ZoneInfo) -> list[ReportFact]:
    """The statistical facts of each report: codes, month, cell and police response only.
    Three plain queries (reports, codes, police rows); no encrypted column is read."""
    ids = reports.values("id")
    codes: dict[Any, dict[str, list[str]]] = defaultdict(lambda: {"bias": [], "incident_type": []})
    code_rows = ReportCode.objects.filter(
        report_id__in=ids, dimension__in=["bias", "incident_type"]
    ).values_list("report_id", "dimension", "code")
    for report_id, dimension, code in code_rows.iterator(chunk_size=20000):
        codes[report_id][dimension].append(code)
    police: dict[Any, list[PoliceRow]] = defaultdict(list)
    police_rows = (
        PoliceResponse.objects.filter(report_id__in=ids)
        .order_by("created_at")
        .values_list(*POLICE_COLUMNS)
    )
    for report_id, *values in police_rows.iterator(chunk_size=20000):
        police[report_id].append(PoliceRow(*values))
    facts: list[ReportFact] = []
    columns = ("id", "occurred_on", "reported_at", "h3_cell", "venue_type")
    for report_id, occurred_on, reported_at, cell, venue in reports.values_list(*columns).iterator(
        chunk_size=20000
    ):
        day = occurred_on or reported_at.astimezone(tz).date()
        found = codes.get(report_id)
        facts.append(
            ReportFact(
                key=str(report_id),
                month=month_key(day),
                cell=cell,
                venue_type=venue,
                bias=tuple(sorted(found["bias"])) if found else (),
                incident_type=tuple(sorted(found["incident_type"])) if found else (),
                police=police_fact(police[report_id], reported_at) if report_id in police else None,
            )
        )
    return facts


def _period_filter(start: dt.date, end: dt.date) -> Q:
    # occurred_on when the reporter gave it; else the (UTC) reported date, widened by a day on
    # each side and settled exactly in Python with the organisation's time zone.
    return Q(occurred_on__gte=start, occurred_on__lt=end) | Q(
        occurred_on__isnull=True,
        reported_at__date__gte=start - dt.timedelta(days=1),
        reported_at__date__lt=end + dt.timedelta(days=1),
    )


def flagged_report_ids(organisation: Organisation) -> QuerySet[Any]:
    """Reports a caseworker marked as a duplicate or a suspected troll (mark not cleared)."""
    from homesafe.cases.models import ReportFlag

    return ReportFlag.objects.filter(
        report__organisation=organisation, cleared_at__isnull=True
    ).values("report_id")


def release_report_facts(
    organisation: Organisation, spec: ReleaseSpec, *, flagged: bool = False
) -> list[ReportFact]:
    """Facts of the reports that may be counted in public: consent to statistics, now, and no
    duplicate or troll mark (`flagged=True`: only the marked ones, to take them out)."""
    start, end = month_bounds(spec.months)
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    qs = Report.objects.filter(organisation=organisation, consent_statistics=True).filter(
        _period_filter(start, end)
    )
    marked = flagged_report_ids(organisation)
    if flagged:
        # Few rows: looked up by primary key, so the database never scans the period for them.
        qs = qs.filter(id__in=[row["report_id"] for row in marked])
    else:
        qs = qs.exclude(id__in=marked)
    months = set(spec.months)
    return [f for f in facts_from_reports(qs, tz) if f.month in months]


def walk_facts(organisation: Organisation, start: dt.date, end: dt.date) -> list[WalkFact]:
    """Walk requests of the period (a walk still searching is not counted yet)."""
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    qs = (
        Walk.objects.filter(
            organisation=organisation,
            created_at__date__gte=start - dt.timedelta(days=1),
            created_at__date__lt=end + dt.timedelta(days=1),
        )
        .exclude(state=WalkState.SEARCHING)
        .values_list("kind", "state", "end_reason", "created_at", "accepted_at", "escalated_at")
    )
    facts: list[WalkFact] = []
    for kind, state, end_reason, created, accepted, escalated in qs.iterator():
        day = created.astimezone(tz).date()
        if not start <= day < end:
            continue
        escorted = kind == WalkKind.ESCORTED
        facts.append(
            WalkFact(
                month=month_key(day),
                completed_safely=state == WalkState.ENDED and end_reason == "home_safe",
                unanswered=escorted and accepted is None,
                overdue_alert=escalated is not None,
                accept_minutes=(accepted - created).total_seconds() / 60 if accepted else None,
            )
        )
    return facts


def latest_release(organisation: Organisation) -> StatsRelease | None:
    return StatsRelease.objects.filter(organisation=organisation).order_by("-number").first()


def publishing_organisations() -> list[Organisation]:
    """Organisations with at least one release, by name."""
    ids = StatsRelease.objects.values_list("organisation_id", flat=True).distinct()
    return list(Organisation.objects.filter(pk__in=ids).order_by("name"))


def approved_summaries(organisation: Organisation, months: tuple[str, ...]) -> list[CaseSummary]:
    return list(
        CaseSummary.objects.filter(
            organisation=organisation, approved_at__isnull=False, month__in=list(months)
        ).order_by("month", "created_at")
    )


def pending_summaries(organisation: Organisation) -> list[CaseSummary]:
    return list(
        CaseSummary.objects.filter(organisation=organisation, approved_at__isnull=True)
        .select_related("written_by")
        .order_by("-created_at")
    )


def staff_reports(organisation_ids: list[int], organisation: Organisation) -> QuerySet[Report]:
    """Reports of one of the caller's case organisations, as the triage queue sees them."""
    if organisation.pk not in organisation_ids:
        return Report.objects.none()
    return Report.objects.filter(organisation=organisation, consent_caseworkers=True)


def dashboard_facts(
    reports: QuerySet[Report], organisation: Organisation, start: dt.date, end: dt.date
) -> list[ReportFact]:
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    qs = reports.filter(_period_filter(start, end))
    return [
        f
        for f in facts_from_reports(qs, tz)
        if start.isoformat()[:7] <= f.month <= (end - dt.timedelta(days=1)).isoformat()[:7]
    ]


def weekly_counts(reports: QuerySet[Report], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Exact reports per ISO week (by the day it happened) for staff."""
    days = reports.filter(occurred_on__gte=start, occurred_on__lt=end).values_list(
        "occurred_on", flat=True
    )
    weeks: dict[dt.date, int] = {}
    for day in days:
        if day is None:
            continue
        monday = day - dt.timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + 1
    out = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday < end:
        out.append({"week": monday, "value": weeks.get(monday, 0)})
        monday += dt.timedelta(days=7)
    return out
