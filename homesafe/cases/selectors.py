"""Reads for casework pages, the case panel of a report, and (later) the triage queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from homesafe.reports.access import case_organisation_ids, reports_visible_to
from homesafe.reports.models import Report

from .models import (
    ContactEntry,
    FlagKind,
    Incident,
    IncidentReport,
    Outcome,
    Referral,
    ReportFlag,
    Task,
)

LINKABLE_LIMIT = 60


@dataclass(frozen=True)
class ReportFlags:
    """What the queue can show next to a report: its incident and its marks."""

    incident_id: uuid.UUID | None = None
    duplicate_of: uuid.UUID | None = None
    duplicates: int = 0  # other reports marked as duplicates of this one
    troll: bool = False


def flags_for_reports(report_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ReportFlags]:
    """Incident and duplicate/troll marks of these reports, in two queries; reports with none
    are left out. Callers pass ids they already got through `reports_visible_to`."""
    ids = set(report_ids)
    if not ids:
        return {}
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for report_id, incident_id in IncidentReport.objects.filter(
        report_id__in=ids, removed_at__isnull=True
    ).values_list("report_id", "incident_id"):
        found.setdefault(report_id, {})["incident_id"] = incident_id
    for report_id, kind, original in ReportFlag.objects.filter(
        Q(report_id__in=ids) | Q(duplicate_of_id__in=ids), cleared_at__isnull=True
    ).values_list("report_id", "kind", "duplicate_of_id"):
        if kind == FlagKind.TROLL and report_id in ids:
            found.setdefault(report_id, {})["troll"] = True
        elif kind == FlagKind.DUPLICATE:
            if report_id in ids:
                found.setdefault(report_id, {})["duplicate_of"] = original
            if original in ids:
                entry = found.setdefault(original, {})
                entry["duplicates"] = entry.get("duplicates", 0) + 1
    return {rid: ReportFlags(**values) for rid, values in found.items()}


def open_tasks_count(user: Any) -> int:
    """Open tasks assigned to this user in the organisations whose cases they may work now."""
    return my_open_tasks(user).count()


def my_open_tasks(user: Any) -> QuerySet[Task]:
    """Open tasks assigned to the user, soonest due first (hidden reports left out)."""
    return (
        Task.objects.filter(
            Q(incident__isnull=False) | Q(report__in=reports_visible_to(user).values("id")),
            assignee_id=getattr(user, "pk", None) or -1,
            organisation_id__in=case_organisation_ids(user),
            done_at__isnull=True,
        )
        .order_by("due_at")
        .select_related("organisation")
    )


def incidents_for(user: Any) -> QuerySet[Incident]:
    """Incidents of the user's organisations, recently changed first, with report counts."""
    return (
        Incident.objects.filter(organisation_id__in=case_organisation_ids(user))
        .annotate(report_count=Count("links", filter=Q(links__removed_at__isnull=True)))
        .order_by("-updated_at")
        .select_related("organisation")
    )


@dataclass(frozen=True)
class IncidentRow:
    link: IncidentReport
    flags: ReportFlags


@dataclass
class IncidentReports:
    rows: list[IncidentRow]
    hidden: int  # linked reports the user may not see (consent for caseworkers withdrawn)


def incident_reports(incident: Incident, user: Any) -> IncidentReports:
    """The reports in an incident that the user may see, in the order they were added."""
    current = incident.links.filter(removed_at__isnull=True)
    visible = list(
        current.filter(report__in=reports_visible_to(user).values("id"))
        .select_related("report")
        .order_by("added_at")
    )
    hidden = current.count() - len(visible)
    flags = flags_for_reports(link.report_id for link in visible)
    rows = [IncidentRow(link, flags.get(link.report_id, ReportFlags())) for link in visible]
    return IncidentReports(rows=rows, hidden=hidden)


def linkable_reports(incident: Incident, user: Any) -> list[Report]:
    """Recent reports of the incident's organisation that are in no incident yet."""
    in_incidents = IncidentReport.objects.filter(removed_at__isnull=True).values("report_id")
    return list(
        reports_visible_to(user)
        .filter(organisation_id=incident.organisation_id)
        .exclude(id__in=in_incidents)
        .order_by("-reported_at")[:LINKABLE_LIMIT]
    )


def open_incidents_of(organisation_id: int) -> list[Incident]:
    """Incidents a report of this organisation could join, recently changed first."""
    incidents = Incident.objects.filter(organisation_id=organisation_id)
    return list(incidents.order_by("-updated_at")[:50])


@dataclass
class Casework:
    tasks: list[Task]
    contacts: list[ContactEntry]
    referrals: list[Referral]
    outcome: Outcome | None
    open_tasks: int
    overdue_tasks: int


def _subject_filter(subject: Report | Incident) -> dict[str, Any]:
    return {"report": subject} if isinstance(subject, Report) else {"incident": subject}


def casework_for(subject: Report | Incident) -> Casework:
    """Tasks (open first, by due time), contacts (newest first), referrals and the outcome."""
    where = _subject_filter(subject)
    tasks = list(
        Task.objects.filter(**where).select_related("assignee").order_by("done_at", "due_at")
    )
    now = timezone.now()
    return Casework(
        tasks=tasks,
        contacts=list(
            ContactEntry.objects.filter(**where).select_related("author").order_by("-happened_at")
        ),
        referrals=list(Referral.objects.filter(**where).order_by("-suggested_at")),
        outcome=Outcome.objects.filter(**where).select_related("set_by").first(),
        open_tasks=sum(1 for t in tasks if t.done_at is None),
        overdue_tasks=sum(1 for t in tasks if t.is_overdue(now)),
    )


@dataclass
class ReportCaseSummary:
    """What the case page's panel shows about a report's casework."""

    link: IncidentReport | None
    duplicate_flag: ReportFlag | None
    troll_flag: ReportFlag | None
    duplicates: list[ReportFlag]  # active marks of other reports pointing here
    history: list[ReportFlag]  # cleared marks, newest first
    open_tasks: int
    overdue_tasks: int
    outcome: Outcome | None


def report_case_summary(report: Report, user: Any) -> ReportCaseSummary:
    """Incident, flags, task counts and outcome of one report (already access-checked)."""
    link = (
        IncidentReport.objects.filter(report=report, removed_at__isnull=True)
        .select_related("incident")
        .first()
    )
    flags = list(ReportFlag.objects.filter(report=report).order_by("-set_at"))
    active = {f.kind: f for f in flags if f.cleared_at is None}
    visible = reports_visible_to(user).values("id")
    duplicates = list(
        ReportFlag.objects.filter(
            duplicate_of=report, cleared_at__isnull=True, report__in=visible
        ).order_by("set_at")
    )
    now = timezone.now()
    open_tasks = Task.objects.filter(report=report, done_at__isnull=True)
    return ReportCaseSummary(
        link=link,
        duplicate_flag=active.get(FlagKind.DUPLICATE),
        troll_flag=active.get(FlagKind.TROLL),
        duplicates=duplicates,
        history=[f for f in flags if f.cleared_at is not None],
        open_tasks=open_tasks.count(),
        overdue_tasks=open_tasks.filter(due_at__lt=now).count(),
        outcome=Outcome.objects.filter(report=report).first(),
    )


def duplicate_candidates(report: Report, user: Any) -> list[Report]:
    """Reports of the same organisation that this one could duplicate: not itself, not
    already a duplicate; those in the same incident and day first, then the most recent."""
    already_duplicates = ReportFlag.objects.filter(
        kind=FlagKind.DUPLICATE, cleared_at__isnull=True
    ).values("report_id")
    qs = (
        reports_visible_to(user)
        .filter(organisation_id=report.organisation_id)
        .exclude(id=report.pk)
        .exclude(id__in=already_duplicates)
    )
    near: list[Report] = []
    if report.occurred_on:
        near = list(qs.filter(occurred_on=report.occurred_on).order_by("-reported_at")[:20])
    seen = {r.pk for r in near}
    recent = [r for r in qs.order_by("-reported_at")[:LINKABLE_LIMIT] if r.pk not in seen]
    return near + recent
