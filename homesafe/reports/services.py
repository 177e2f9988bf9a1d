"""Writes to reports: submitting, the mailbox, triage changes and notes. Each is atomic and
audited; none logs or returns personal data beyond what its caller already holds."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import CASE_ROLES, Organisation, User
from homesafe.audit.services import audit_append
from homesafe.common import geo
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports import codes
from homesafe.reports import taxonomy as tx
from homesafe.reports.models import CaseNote, Message, PoliceResponse, Report, ReportCode
from homesafe.reports.schemas import PoliceIn, ReportIn

logger = logging.getLogger("homesafe.reports")

MULTI_FIELDS = {
    "incident_types": "incident_type",
    "bias": "bias",
    "bias_indicators": "bias_indicator",
    "bias_perceived_by": "bias_perceived_by",
    "bystander_actions": "bystander_action",
    "support_wanted": "support_wanted",
}


@dataclass(frozen=True)
class SubmittedReport:
    report: Report
    reference_code: str


def _audit(
    report: Report, *, action: str, actor: User | None = None, data: dict[str, Any] | None = None
) -> None:
    """Audit a change to a report: by a staff member, or (no actor) by the reporter."""
    audit_append(
        action=action,
        object_type="report",
        object_id=report.pk,
        actor=actor,
        actor_kind=None if actor is not None else "reporter",
        organisation_id=report.organisation_id,
        data=data,
    )


def _organisation_for(slug: str | None) -> Organisation:
    if slug:
        org = Organisation.objects.filter(slug=slug).first()
        if org is None:
            raise DomainError(_("That organisation does not exist."), field="organisation")
        return org
    org = Organisation.objects.order_by("id").first()
    if org is None:
        raise DomainError(_("No organisation is taking reports yet."), code="no_organisation")
    return org


def _walk_of(user: User | None, walk_id: uuid.UUID) -> uuid.UUID:
    """A report may point at a walk only when its author was on that walk."""
    from homesafe.walks.access import access_walk

    try:
        walk, _role = access_walk(user, walk_id)
    except NotFound:
        raise DomainError(_("That walk is not one of yours."), field="walk_id")
    return walk.pk


def _blank(value: str | None) -> str | None:
    return value or None


def report_submit(
    *, data: ReportIn, user: User | None = None, reported_at: dt.datetime | None = None
) -> SubmittedReport:
    """File a report. Returns it with its reference code, which is shown once and never stored."""
    live = reported_at is None
    org = _organisation_for(data.organisation)
    report = Report(
        id=uuid.uuid4(),
        organisation=org,
        reporter_role=data.reporter_role,
        identity_level=data.identity_level,
        consent_caseworkers=data.consent_caseworkers,
        consent_police=data.consent_police,
        consent_statistics=data.consent_statistics,
        occurred_on=data.occurred_on,
        occurred_time=data.occurred_time,
        occurred_approximate=data.occurred_approximate,
        reported_at=reported_at or timezone.now(),
        place_text=_blank(data.place_text),
        venue_type=data.venue_type or "",
        narrative=_blank(data.narrative),
        bias_other_text=_blank(data.bias_other_text),
        bias_perceived=data.bias_perceived,
        bias_by_association=data.bias_by_association,
        offenders_count=data.offenders_count or "",
        offender_description=_blank(data.offender_description),
        relationship=data.relationship or "",
        injuries=data.injuries or "",
        emotional_impact=_blank(data.emotional_impact),
        bystanders_count=data.bystanders_count,
        support_other=_blank(data.support_other),
    )
    if data.walk_id is not None:
        report.walk_id = _walk_of(user, data.walk_id)
    # Only an identified reporter who is logged in is linked to their account.
    if data.identity_level == "identified" and user is not None and user.is_authenticated:
        report.reporter_user = user
    if data.identity_level == "identified" and data.contact is not None:
        report.contact = {k: v for k, v in data.contact.model_dump().items() if v not in (None, "")}

    precision = "withhold"
    if data.location is not None:
        precision = data.location_precision or "about_100m"
        kept = geo.apply_precision(geo.Point(data.location.lat, data.location.lng), precision)
        if kept is not None:
            report.point = {"lat": kept.lat, "lng": kept.lng}
            report.h3_cell = geo.cell_int(kept)
    report.location_precision = precision
    if "physical_assault" in data.incident_types or "sexual_assault" in data.incident_types:
        report.priority = "high"
    if data.injuries == "hospitalised":
        report.priority = "urgent"
    report.priority_rank = tx.PRIORITY_RANK[report.priority]

    for _attempt in range(3):
        code = codes.new_code()
        report.code_hash = codes.code_hash(code) or ""
        try:
            with transaction.atomic():
                report.save(force_insert=True)
                ReportCode.objects.bulk_create(
                    ReportCode(report=report, dimension=dimension, code=value)
                    for field, dimension in MULTI_FIELDS.items()
                    for value in getattr(data, field)
                )
                if data.police is not None and not data.police.is_empty():
                    _police_entry(report, data, entered_by="reporter", author=None)
                _audit(
                    report,
                    action="report.submit",
                    data={"role": data.reporter_role, "identity": data.identity_level},
                )
                # A backdated import (reported_at given, e.g. the demo's history) is not news:
                # only a report arriving now pages the on-call caseworker.
                if report.priority == "urgent" and report.consent_caseworkers and live:
                    _alert_urgent(report, occasion="submitted")
            return SubmittedReport(report=report, reference_code=code)
        except IntegrityError:
            # A reference-code collision (80 bits: astronomically unlikely); draw again.
            report._state.adding = True
            continue
    raise DomainError(_("Could not file the report. Please try again."), code="retry")


def _police_entry(report: Report, data: ReportIn, *, entered_by: str, author: User | None) -> None:
    police = data.police
    assert police is not None
    row = _police_row(report, police, entered_by=entered_by, author=author)
    _audit_ledger(report, row, police, actor=author)


def _audit_ledger(
    report: Report, row: PoliceResponse, entry: PoliceIn, *, actor: User | None
) -> None:
    _audit(
        report,
        action="police_response.add",
        actor=actor,
        data={
            "entry": str(row.pk),
            "entered_by": row.entered_by,
            # Which answers were given, never their text.
            "fields": sorted(k for k, v in entry.model_dump().items() if v not in (None, "", {})),
        },
    )


def _police_row(
    report: Report, police: PoliceIn, *, entered_by: str, author: User | None
) -> PoliceResponse:
    contact_at = police.police_contact_at
    if contact_at is not None and timezone.is_naive(contact_at):
        zone = zoneinfo.ZoneInfo(report.organisation.timezone)
        contact_at = timezone.make_aware(contact_at, zone)
        if contact_at > timezone.now() + dt.timedelta(minutes=5):
            raise DomainError(
                _("The time the police made contact cannot be in the future."),
                field="police_contact_at",
            )
    return PoliceResponse.objects.create(
        id=uuid.uuid4(),
        report=report,
        entered_by=entered_by,
        author=author,
        contacted=police.contacted or "",
        contact_method=police.contact_method or "",
        minutes_to_arrive=police.minutes_to_arrive,
        help_requested=dict(police.help_requested),
        alternative_offered=_blank(police.alternative_offered),
        officer_attitude=police.officer_attitude or "",
        recording=police.recording or "",
        police_reference=_blank(police.police_reference),
        investigation=police.investigation or "",
        police_contact_at=contact_at,
        apology_received=police.apology_received,
        complaint_made=police.complaint_made,
        complaint_upheld=police.complaint_upheld,
        meeting_held=police.meeting_held,
        victim_withdrew=police.victim_withdrew,
        withdrawal_reason=_blank(police.withdrawal_reason),
    )


def police_response_add(
    *, report: Report, entry: PoliceIn, entered_by: str, author: User | None = None
) -> PoliceResponse:
    """Append one row to the police-response ledger (never edits an earlier one), audited.

    `entered_by` is reporter (no account needed), caseworker or police: the caller has already
    passed that author's access checkpoint."""
    if entered_by not in tx.codes(tx.POLICE_ENTERED_BY):
        raise ValueError(f"unknown ledger author {entered_by!r}")
    if (entered_by == "reporter") != (author is None):
        raise ValueError("reporter rows have no staff author; staff rows need one")
    if entry.is_empty():
        raise DomainError(_("Fill in at least one answer first."), code="empty", field="police")
    if entered_by == "police" and any(
        getattr(entry, name) not in (None, "", {}) for name in EXPERIENCE_ANSWERS
    ):
        raise DomainError(
            _("The police add their side (recording, reference, investigation, outcomes); how "
              "officers behaved is told by the reporter and caseworkers."),
            code="not_police_side",
            field="police",
        )
    with transaction.atomic():
        row = _police_row(report, entry, entered_by=entered_by, author=author)
        Report.objects.filter(pk=report.pk).update(updated_at=row.created_at)
        _audit_ledger(report, row, entry, actor=author)
    return row


# Ledger answers about how officers behaved, which the police do not enter themselves.
EXPERIENCE_ANSWERS = (
    "contacted",
    "contact_method",
    "minutes_to_arrive",
    "help_requested",
    "alternative_offered",
    "officer_attitude",
    "withdrawal_reason",
)


# --- urgent alerts -------------------------------------------------------------------------------


def _alert_urgent(report: Report, *, occasion: str) -> int:
    """Queue an email to the on-call caseworker (or the organisation's caseworkers) about an
    urgent report: a link to the case only, never what happened. Call inside the transaction
    of the change; `occasion` makes the idempotency key (one alert per raise to urgent)."""
    from homesafe.notify.services import notification_enqueue
    from homesafe.reports.selectors import urgent_alert_recipients

    recipients = urgent_alert_recipients(report.organisation_id)
    link = f"{settings.HOMESAFE_BASE_URL}{reverse('case_detail', args=[report.pk])}"
    for user in recipients:
        notification_enqueue(
            key=f"report:{report.pk}:urgent:{occasion}:user:{user.pk}:email",
            channel="email",
            recipient=user.email,
            kind="report_urgent",
            subject=_("An urgent report needs attention"),
            body=_(
                "A report has been marked urgent. Open it (log in with your second factor): "
                "%(url)s\n\nThis email never contains what happened."
            )
            % {"url": link},
            organisation_id=report.organisation_id,
        )
    transaction.on_commit(
        functools.partial(
            logger.info, "urgent report %s: %d alert(s) queued", report.pk, len(recipients)
        )
    )
    return len(recipients)


def mailbox_post_by_reporter(*, report: Report, body: str) -> Message:
    """The reporter writes to their caseworkers (identified by the code, not an account)."""
    body = body.strip()
    if not body:
        raise DomainError(_("Write a message first."), field="body")
    with transaction.atomic():
        message = Message.objects.create(
            id=uuid.uuid4(), report=report, sender=Message.FROM_REPORTER, body=body
        )
        Report.objects.filter(pk=report.pk).update(
            last_reporter_message_at=message.created_at, updated_at=message.created_at
        )
        _audit(report, action="mailbox.reporter_message", data={"message": str(message.pk)})
    return message


def mailbox_post_by_caseworker(*, report: Report, user: User, body: str) -> Message:
    """A caseworker replies; the reporter reads it with their code."""
    body = body.strip()
    if not body:
        raise DomainError(_("Write a message first."), field="body")
    with transaction.atomic():
        message = Message.objects.create(
            id=uuid.uuid4(), report=report, sender=Message.FROM_CASEWORKER, author=user, body=body
        )
        Report.objects.filter(pk=report.pk).update(updated_at=message.created_at)
        _audit(
            report,
            action="mailbox.caseworker_message",
            actor=user,
            data={"message": str(message.pk)},
        )
    return message


def report_update(
    *,
    report: Report,
    user: User,
    status: str | None = None,
    priority: str | None = None,
    assignee_id: int | None = None,
) -> Report:
    """Triage: change status, priority or assignee (0 clears it). Each change is audited."""
    changes: dict[str, Any] = {}
    if status is not None and status != report.status:
        if status not in tx.codes(tx.STATUSES):
            raise DomainError(_("Unknown status."), field="status")
        changes["status"] = (report.status, status)
        report.status = status
    if priority is not None and priority != report.priority:
        if priority not in tx.codes(tx.PRIORITIES):
            raise DomainError(_("Unknown priority."), field="priority")
        changes["priority"] = (report.priority, priority)
        report.priority = priority
        report.priority_rank = tx.PRIORITY_RANK[priority]
    if assignee_id is not None:
        new_assignee = None
        if assignee_id:
            new_assignee = (
                User.objects.filter(
                    pk=assignee_id,
                    is_active=True,
                    memberships__organisation_id=report.organisation_id,
                    memberships__role__in=list(CASE_ROLES),
                )
                .distinct()
                .first()
            )
            if new_assignee is None:
                raise DomainError(
                    _("The assignee must be a caseworker of this organisation."),
                    field="assignee_id",
                )
        if (new_assignee.pk if new_assignee else None) != report.assignee_id:
            changes["assignee"] = (report.assignee_id, new_assignee.pk if new_assignee else None)
            report.assignee = new_assignee
    if not changes:
        return report
    report.updated_at = timezone.now()
    with transaction.atomic():
        report.save(update_fields=["status", "priority", "priority_rank", "assignee", "updated_at"])
        for what, (old, new) in changes.items():
            entry = audit_append(
                action=f"report.{what}_change",
                object_type="report",
                object_id=report.pk,
                actor=user,
                organisation_id=report.organisation_id,
                data={"from": old, "to": new},
            )
            if what == "priority" and new == "urgent":
                # The audit entry's sequence number names this raise: one alert per raise.
                _alert_urgent(report, occasion=f"raised:{entry.seq}")
    return report


def case_note_add(*, report: Report, user: User, body: str) -> CaseNote:
    """An internal note, visible to the organisation's caseworkers only."""
    body = body.strip()
    if not body:
        raise DomainError(_("Write the note first."), field="body")
    with transaction.atomic():
        note = CaseNote.objects.create(id=uuid.uuid4(), report=report, author=user, body=body)
        _audit(report, action="report.note_add", actor=user, data={"note": str(note.pk)})
    return note


def report_consent_change(
    *,
    report: Report,
    consent_caseworkers: bool,
    consent_police: str,
    consent_statistics: bool,
) -> Report:
    """The reporter changes who may see their report; it takes effect at once."""
    if consent_police not in tx.codes(tx.CONSENT_POLICE):
        raise DomainError(_("Unknown choice for sharing with police."), field="consent_police")
    if report.identity_level == "anonymous" and consent_police == "identifiable":
        raise DomainError(
            _("An anonymous report cannot be shared with police identifiably."),
            field="consent_police",
        )
    before = (report.consent_caseworkers, report.consent_police, report.consent_statistics)
    after = (consent_caseworkers, consent_police, consent_statistics)
    if before == after:
        return report
    report.consent_caseworkers, report.consent_police, report.consent_statistics = after
    report.updated_at = timezone.now()
    with transaction.atomic():
        report.save(
            update_fields=[
                "consent_caseworkers",
                "consent_police",
                "consent_statistics",
                "updated_at",
            ]
        )
        _audit(
            report, action="report.consent_change", data={"from": list(before), "to": list(after)}
        )
    return report
