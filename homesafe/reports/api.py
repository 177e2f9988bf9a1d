"""Report endpoints. Public ones take the reference code in the body, never in the URL."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import Field

from homesafe.accounts.selectors import has_case_role
from homesafe.common import geo
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports import limits, selectors, services
from homesafe.reports.access import (
    access_report,
    access_report_as_liaison,
    access_report_by_code,
    is_police_liaison,
)
from homesafe.reports.models import Message, Report
from homesafe.reports.schemas import (
    Bias,
    CaseDetailOut,
    CaseStatus,
    CaseUpdateIn,
    CodeIn,
    FollowUpOut,
    IncidentType,
    LiaisonItemOut,
    LiaisonReportOut,
    MessageIn,
    MessageOut,
    NoteIn,
    NoteOut,
    PoliceIn,
    PoliceResponseOut,
    Priority,
    QueueItemOut,
    ReportCreatedOut,
    ReporterMessageIn,
    ReporterPoliceIn,
    ReportIn,
)

public_router = Router(tags=["reports"])
case_router = Router(tags=["casework"], auth=django_auth)
police_router = Router(tags=["police liaison"], auth=django_auth)


class RateLimited(DomainError):
    status = 429

    def __init__(self) -> None:
        super().__init__(
            _("Too many attempts. Wait a few minutes and try again."), code="rate_limited"
        )


def _throttle(limited: bool) -> None:
    if limited:
        raise RateLimited()


def message_out(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.pk),
        "sender": message.sender,
        "body": message.body or "",
        "created_at": message.created_at,
    }


def followup_out(report: Report) -> dict[str, Any]:
    return {
        "status": report.status,
        "status_label": selectors.status_label(report.status),
        "reported_at": report.reported_at,
        "messages": [message_out(m) for m in selectors.report_messages(report)],
    }


@public_router.post("", response={201: ReportCreatedOut}, summary="File a report")
def submit_report(request: HttpRequest, payload: ReportIn) -> Status[dict[str, Any]]:
    _throttle(limits.submit_limited(request))
    user = request.user if request.user.is_authenticated else None
    submitted = services.report_submit(data=payload, user=user)  # type: ignore[arg-type]
    return Status(
        201,
        {
            "reference_code": submitted.reference_code,
            "status": submitted.report.status,
            "reported_at": submitted.report.reported_at,
        },
    )


@public_router.post("/lookup", response=FollowUpOut, summary="Status and mailbox by code")
def lookup(request: HttpRequest, payload: CodeIn) -> dict[str, Any]:
    _throttle(limits.code_lookup_limited(request))
    return followup_out(access_report_by_code(payload.code))


@public_router.post("/messages", response={201: MessageOut}, summary="Write to your caseworker")
def reporter_message(request: HttpRequest, payload: ReporterMessageIn) -> Status[dict[str, Any]]:
    _throttle(limits.code_lookup_limited(request))
    report = access_report_by_code(payload.code)
    message = services.mailbox_post_by_reporter(report=report, body=payload.body)
    return Status(201, message_out(message))


class QueueQuery(Schema):
    """Unknown filter values are refused (422), never silently ignored."""

    status: CaseStatus | None = None  # type: ignore[valid-type]
    priority: Priority | None = None  # type: ignore[valid-type]
    bias: Bias | None = None  # type: ignore[valid-type]
    incident_type: IncidentType | None = None  # type: ignore[valid-type]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assignee: Literal["me", "none"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


def queue_item(report: Report) -> dict[str, Any]:
    return {
        "id": str(report.pk),
        "status": report.status,
        "priority": report.priority,
        "reporter_role": report.reporter_role,
        "identity_level": report.identity_level,
        "reported_at": report.reported_at,
        "occurred_on": report.occurred_on,
        "venue_type": report.venue_type,
        "incident_types": report.codes_for("incident_type"),
        "bias": report.codes_for("bias"),
        "assignee_id": report.assignee_id,
    }


def case_detail(report: Report) -> dict[str, Any]:
    body = queue_item(report)
    body.update(
        consent_police=report.consent_police,
        consent_statistics=report.consent_statistics,
        narrative=report.narrative,
        place_text=report.place_text,
        location_precision=report.location_precision,
        point=report.point,
        h3_cell=geo.cell_str(report.h3_cell) if report.h3_cell is not None else None,
        contact=report.contact,
        messages=[message_out(m) for m in selectors.report_messages(report)],
        notes=[
            {
                "id": str(n.pk),
                "author_id": n.author_id,
                "body": n.body or "",
                "created_at": n.created_at,
            }
            for n in selectors.report_notes(report)
        ],
    )
    return body


def _require_verified(request: HttpRequest) -> None:
    from homesafe.accounts.selectors import has_staff_role
    from homesafe.reports.access import is_verified

    if has_staff_role(request.user) and not is_verified(request.user):
        raise _MfaRequired()


class _MfaRequired(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            _("Set up and use your second factor before opening case data."), code="mfa_required"
        )


@case_router.get("/reports", response=list[QueueItemOut], summary="Triage queue")
def queue(request: HttpRequest, filters: Query[QueueQuery]) -> list[dict[str, Any]]:
    _require_verified(request)
    if not has_case_role(request.user):
        # As on the web queue: no case role, no queue (not an empty one).
        raise NotFound()
    limit = max(1, min(filters.limit, 200))
    offset = max(0, filters.offset)
    qs = selectors.case_queue(
        request.user,
        selectors.QueueFilters(
            status=filters.status,
            priority=filters.priority,
            bias=filters.bias,
            incident_type=filters.incident_type,
            date_from=filters.date_from,
            date_to=filters.date_to,
            assignee=filters.assignee,
        ),
    )
    return [queue_item(r) for r in qs[offset : offset + limit]]


@case_router.get("/reports/{report_id}", response=CaseDetailOut, summary="Open a report")
def case_open(request: HttpRequest, report_id: str) -> dict[str, Any]:
    _require_verified(request)
    return case_detail(access_report(request.user, report_id))


@case_router.patch("/reports/{report_id}", response=QueueItemOut, summary="Triage a report")
def case_update(request: HttpRequest, report_id: str, payload: CaseUpdateIn) -> dict[str, Any]:
    _require_verified(request)
    report = access_report(request.user, report_id, purpose="update")
    report = services.report_update(
        report=report,
        user=request.user,  # type: ignore[arg-type]
        status=payload.status,
        priority=payload.priority,
        assignee_id=payload.assignee_id,
    )
    return queue_item(report)


@case_router.post("/reports/{report_id}/notes", response={201: NoteOut}, summary="Internal note")
def case_note(request: HttpRequest, report_id: str, payload: NoteIn) -> Status[dict[str, Any]]:
    _require_verified(request)
    report = access_report(request.user, report_id, purpose="note")
    note = services.case_note_add(report=report, user=request.user, body=payload.body)  # type: ignore[arg-type]
    return Status(
        201,
        {
            "id": str(note.pk),
            "author_id": note.author_id,
            "body": note.body or "",
            "created_at": note.created_at,
        },
    )


@case_router.post(
    "/reports/{report_id}/messages", response={201: MessageOut}, summary="Reply to the reporter"
)
def case_message(
    request: HttpRequest, report_id: str, payload: MessageIn
) -> Status[dict[str, Any]]:
    _require_verified(request)
    report = access_report(request.user, report_id, purpose="reply")
    message = services.mailbox_post_by_caseworker(
        report=report,
        user=request.user,  # type: ignore[arg-type]
        body=payload.body,
    )
    return Status(201, message_out(message))


# --- the police-response ledger ------------------------------------------------------------------


def _ledger_out(report: Report, audience: str) -> list[dict[str, Any]]:
    return [
        selectors.police_response_view(e, audience=audience)
        for e in selectors.police_ledger(report)
    ]


@public_router.post(
    "/police-responses",
    response={201: PoliceResponseOut},
    summary="Tell us what the police did (by code)",
)
def reporter_police_response(
    request: HttpRequest, payload: ReporterPoliceIn
) -> Status[dict[str, Any]]:
    _throttle(limits.code_lookup_limited(request))
    report = access_report_by_code(payload.code)
    row = services.police_response_add(report=report, entry=payload.entry, entered_by="reporter")
    return Status(201, selectors.police_response_view(row, audience=selectors.FULL))


@case_router.get(
    "/reports/{report_id}/police-responses",
    response=list[PoliceResponseOut],
    summary="The police-response ledger of a report",
)
def case_police_ledger(request: HttpRequest, report_id: str) -> list[dict[str, Any]]:
    _require_verified(request)
    report = access_report(request.user, report_id, purpose="police_ledger")
    return _ledger_out(report, selectors.FULL)


@case_router.post(
    "/reports/{report_id}/police-responses",
    response={201: PoliceResponseOut},
    summary="Add to the police-response ledger",
)
def case_police_add(
    request: HttpRequest, report_id: str, payload: PoliceIn
) -> Status[dict[str, Any]]:
    _require_verified(request)
    report = access_report(request.user, report_id, purpose="police")
    row = services.police_response_add(
        report=report,
        entry=payload,
        entered_by="caseworker",
        author=request.user,  # type: ignore[arg-type]
    )
    return Status(201, selectors.police_response_view(row, audience=selectors.FULL))


# --- police liaison: /api/case/police/... ----------------------------------------------------


def _require_liaison(request: HttpRequest) -> None:
    _require_verified(request)
    if not is_police_liaison(request.user):
        raise NotFound()


class LiaisonQuery(Schema):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


@police_router.get("/reports", response=list[LiaisonItemOut], summary="Reports shared with police")
def liaison_list(request: HttpRequest, page: Query[LiaisonQuery]) -> list[dict[str, Any]]:
    """Only reports whose reporter consents to sharing with police; the view is audited."""
    from homesafe.audit.services import audit_append

    _require_liaison(request)
    reports = selectors.liaison_reports(request.user)[page.offset : page.offset + page.limit]
    items = [selectors.liaison_item(r) for r in reports]
    audit_append(
        action="police.list_view",
        object_type="queue",
        object_id="police",
        actor=request.user,
        data={"api": True, "shown": [i["id"] for i in items]},
    )
    return items


@police_router.get(
    "/reports/{report_id}", response=LiaisonReportOut, summary="A report shared with police"
)
def liaison_report(request: HttpRequest, report_id: str) -> dict[str, Any]:
    _require_liaison(request)
    return selectors.police_view(access_report_as_liaison(request.user, report_id))


@police_router.post(
    "/reports/{report_id}/police-responses",
    response={201: PoliceResponseOut},
    summary="A police-side update (reference, investigation status, outcomes)",
)
def liaison_police_add(
    request: HttpRequest, report_id: str, payload: PoliceIn
) -> Status[dict[str, Any]]:
    _require_liaison(request)
    report = access_report_as_liaison(request.user, report_id, purpose="update")
    row = services.police_response_add(
        report=report,
        entry=payload,
        entered_by="police",
        author=request.user,  # type: ignore[arg-type]
    )
    return Status(201, selectors.police_response_view(row, audience=report.consent_police))


case_router.add_router("/police", police_router)
