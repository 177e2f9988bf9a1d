"""Reads of reports for the queue, the case page and the follow-up page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from homesafe.accounts.models import CASE_ROLES, Membership, Role, User
from homesafe.common import geo
from homesafe.reports import taxonomy as tx
from homesafe.reports.access import reports_shared_with_police, reports_visible_to
from homesafe.reports.models import CaseNote, Message, PoliceResponse, Report, ReportCode


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    priority: str | None = None
    bias: str | None = None
    incident_type: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assignee: str | None = None  # "me", "none" or None


def case_queue(user: Any, filters: QueueFilters) -> QuerySet[Report]:
    """The triage queue of the user's organisations, most urgent first, then newest."""
    qs = reports_visible_to(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    for dimension, code in (("bias", filters.bias), ("incident_type", filters.incident_type)):
        if code:
            qs = qs.filter(
                id__in=ReportCode.objects.filter(dimension=dimension, code=code).values("report_id")
            )
    if filters.date_from:
        qs = qs.filter(occurred_on__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(occurred_on__lte=filters.date_to)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    return (
        qs.order_by("priority_rank", "-reported_at")
        .select_related("organisation", "assignee")
        .prefetch_related(Prefetch("codes", queryset=ReportCode.objects.order_by("code")))
    )


def report_messages(report: Report) -> list[Message]:
    return list(report.messages.order_by("created_at"))


def report_notes(report: Report) -> QuerySet[CaseNote]:
    return report.notes.order_by("created_at").select_related("author")


def organisation_caseworkers(organisation_id: int) -> list[User]:
    """Who a report of this organisation can be assigned to."""
    ids = Membership.objects.filter(
        organisation_id=organisation_id, role__in=list(CASE_ROLES)
    ).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "pk"))


def status_label(code: str) -> str:
    return tx.label(tx.STATUSES, code)


# --- the police-response ledger ------------------------------------------------------------------

# Who reads a ledger row decides which of its free-text answers they see.
FULL = "full"  # the reporter and the organisation's caseworkers
POLICE_IDENTIFIABLE = "identifiable"
POLICE_ANONYMISED = "anonymised"


def police_ledger(report: Report) -> list[PoliceResponse]:
    """Every police-response row of a report, oldest first (the ledger is a history)."""
    return list(report.police_responses.order_by("created_at", "id"))


def hours_to_police_contact(report: Report, entries: list[PoliceResponse]) -> float | None:
    """Hours from the report until the police first made contact (0 when they had already
    made contact before it was filed); None while no row records contact."""
    times = [e.police_contact_at for e in entries if e.police_contact_at is not None]
    if not times:
        return None
    seconds = (min(times) - report.reported_at).total_seconds()
    return round(max(0.0, seconds) / 3600, 1)


def latest_investigation(entries: list[PoliceResponse]) -> str:
    """The investigation status of the newest row that states one."""
    for entry in reversed(entries):
        if entry.investigation:
            return entry.investigation
    return ""


def police_response_view(entry: PoliceResponse, *, audience: str) -> dict[str, Any]:
    """One ledger row as `audience` may read it.

    The police see free text and references the reporter or a caseworker wrote only when the
    reporter shares identifiably; the reason for withdrawing stays with the organisation.
    Whatever the police wrote themselves they always see."""
    own = entry.entered_by == "police"
    police = audience in (POLICE_IDENTIFIABLE, POLICE_ANONYMISED)
    free_text = own or audience in (FULL, POLICE_IDENTIFIABLE)
    return {
        "id": str(entry.pk),
        "entered_by": entry.entered_by,
        "created_at": entry.created_at,
        "contacted": entry.contacted,
        "contact_method": entry.contact_method,
        "minutes_to_arrive": entry.minutes_to_arrive,
        "help_requested": dict(entry.help_requested or {}),
        "alternative_offered": entry.alternative_offered if free_text else None,
        "officer_attitude": entry.officer_attitude,
        "recording": entry.recording,
        "police_reference": entry.police_reference if free_text else None,
        "investigation": entry.investigation,
        "police_contact_at": entry.police_contact_at,
        "apology_received": entry.apology_received,
        "complaint_made": entry.complaint_made,
        "complaint_upheld": entry.complaint_upheld,
        "meeting_held": entry.meeting_held,
        "victim_withdrew": entry.victim_withdrew,
        "withdrawal_reason": (
            entry.withdrawal_reason if (own or not police) else None
        ),
        "outcomes": entry.outcomes(),
        "withheld": police and not free_text,
    }


# --- what the police may see ---------------------------------------------------------------------


def coarse_area(report: Report) -> dict[str, Any] | None:
    """The neighbourhood (H3 resolution 7, about 5 km2), or the city when the reporter chose
    that: never finer than the reporter allowed, and never the exact place."""
    if not report.point or report.location_precision == "withhold":
        return None
    resolution = 5 if report.location_precision == "city" else 7
    point = geo.Point(float(report.point["lat"]), float(report.point["lng"]))
    cell = geo.cell_int(point, resolution)
    centre = geo.apply_precision(point, "city" if resolution == 5 else "neighbourhood")
    assert centre is not None
    return {
        "precision": "city" if resolution == 5 else "neighbourhood",
        "h3_cell": geo.cell_str(cell),
        "lat": round(centre.lat, 4),
        "lng": round(centre.lng, 4),
    }


def _reported_area(report: Report) -> dict[str, Any] | None:
    if not report.point:
        return None
    return {
        "precision": report.location_precision,
        "h3_cell": geo.cell_str(report.h3_cell) if report.h3_cell is not None else None,
        "lat": float(report.point["lat"]),
        "lng": float(report.point["lng"]),
    }


def police_view(report: Report) -> dict[str, Any]:
    """A report as the police may see it under the reporter's current consent (DESIGN.md
    privacy rules): identifiable shares what the reporter told us, minus the organisation's
    own casework (notes, mailbox, support wanted); anonymised shares the facts and codes only:
    no contact, no names, no free text (narrative, place, descriptions), the coarse area.
    Raises ValueError when the reporter shares nothing with police: callers check first."""
    shared_as = report.consent_police
    if shared_as not in (POLICE_IDENTIFIABLE, POLICE_ANONYMISED):
        raise ValueError("this report is not shared with police")
    identifiable = shared_as == POLICE_IDENTIFIABLE
    entries = police_ledger(report)
    codes = {dim: report.codes_for(dim) for dim in tx.MULTI_DIMENSIONS}
    contact = None
    if identifiable and report.contact:
        contact = {
            k: report.contact[k]
            for k in ("name", "email", "phone", "channel", "safe_times", "leave_message",
                      "language", "accessibility")
            if report.contact.get(k) not in (None, "")
        }
    return {
        "id": str(report.pk),
        "organisation": report.organisation.name,
        "shared_as": shared_as,
        "status": report.status,
        "reporter_role": report.reporter_role,
        "reported_at": report.reported_at,
        "occurred_on": report.occurred_on,
        "occurred_time": report.occurred_time,
        "occurred_approximate": report.occurred_approximate,
        "venue_type": report.venue_type,
        "incident_types": codes["incident_type"],
        "bias": codes["bias"],
        "bias_indicators": codes["bias_indicator"],
        "bias_perceived_by": codes["bias_perceived_by"],
        "offenders_count": report.offenders_count,
        "relationship": report.relationship,
        "injuries": report.injuries,
        "bystanders_count": report.bystanders_count,
        "bystander_actions": codes["bystander_action"],
        "area": _reported_area(report) if identifiable else coarse_area(report),
        "place_text": report.place_text if identifiable else None,
        "narrative": report.narrative if identifiable else None,
        "offender_description": report.offender_description if identifiable else None,
        "contact": contact,
        "investigation": latest_investigation(entries),
        "hours_to_police_contact": hours_to_police_contact(report, entries),
        "police_responses": [police_response_view(e, audience=shared_as) for e in entries],
    }


def liaison_reports(user: Any) -> QuerySet[Report]:
    """The police liaison's list: reports shared with police, newest first."""
    return (
        reports_shared_with_police(user)
        .order_by("-reported_at")
        .select_related("organisation")
        .prefetch_related(
            Prefetch("codes", queryset=ReportCode.objects.order_by("code")),
            Prefetch("police_responses", queryset=PoliceResponse.objects.order_by("created_at")),
        )
    )


def liaison_item(report: Report) -> dict[str, Any]:
    """A row of the liaison's list: codes and dates only, never free text or place."""
    entries = list(report.police_responses.all())
    return {
        "id": str(report.pk),
        "shared_as": report.consent_police,
        "status": report.status,
        "reported_at": report.reported_at,
        "occurred_on": report.occurred_on,
        "venue_type": report.venue_type,
        "incident_types": report.codes_for("incident_type"),
        "bias": report.codes_for("bias"),
        "investigation": latest_investigation(entries),
    }


# --- who is alerted ------------------------------------------------------------------------------


def urgent_alert_recipients(organisation_id: int) -> list[User]:
    """The organisation's on-call caseworker (walk settings); without one, its caseworkers."""
    from homesafe.walks.models import WalkSettings

    oncall_id = (
        WalkSettings.objects.filter(organisation_id=organisation_id)
        .values_list("oncall_id", flat=True)
        .first()
    )
    if oncall_id is not None:
        oncall = User.objects.filter(pk=oncall_id, is_active=True).first()
        if oncall is not None and oncall.email:
            return [oncall]
    ids = Membership.objects.filter(
        organisation_id=organisation_id, role=Role.CASEWORKER
    ).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids, is_active=True).exclude(email="").order_by("pk"))
