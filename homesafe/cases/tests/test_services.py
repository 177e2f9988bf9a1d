"""Casework services and selectors: incidents, flags, tasks, contacts, referrals, outcomes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homesafe.audit.models import AuditEntry
from homesafe.audit.services import audit_verify
from homesafe.cases import selectors, services
from homesafe.cases.models import (
    ContactEntry,
    Incident,
    IncidentReport,
    Outcome,
    Referral,
    ReportFlag,
    Task,
)
from homesafe.common.errors import DomainError
from homesafe.reports.models import Report

from .helpers import in_hours, make_report, verified

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Call Jordan Sample about the Courtenay Place attack"


@pytest.fixture
def reports(personas: Any) -> list[Report]:
    return [make_report(personas.org, narrative=f"Report {i}") for i in range(4)]


def test_it_links_reports_into_an_incident_and_removes_without_deleting(
    personas: Any, reports: list[Report]
) -> None:
    cw = verified(personas.caseworker)
    incident = services.incident_create(
        organisation=personas.org, user=cw, title="Courtenay Place takeaway",
        report=reports[0], role="victim", label="first of two men",
    )
    services.incident_link_report(incident=incident, report=reports[1], user=cw, role="witness",
                                  label="has video")
    link = services.incident_link_report(incident=incident, report=reports[2], user=cw,
                                         role="media")
    found = selectors.incident_reports(incident, cw)
    assert [(r.link.report_id, r.link.role) for r in found.rows] == [
        (reports[0].pk, "victim"), (reports[1].pk, "witness"), (reports[2].pk, "media")
    ]
    assert found.rows[1].link.label == "has video"
    services.incident_unlink_report(link=link, user=cw)
    assert len(selectors.incident_reports(incident, cw).rows) == 2
    assert IncidentReport.objects.filter(incident=incident).count() == 3  # history kept
    assert Report.objects.filter(pk=reports[2].pk).exists()
    with pytest.raises(DomainError):
        services.incident_unlink_report(link=link, user=cw)
    # Out of the incident, the report may join another one.
    other = services.incident_create(organisation=personas.org, user=cw, title="Other night")
    services.incident_link_report(incident=other, report=reports[2], user=cw, role="other")
    # A report is in one incident at a time.
    with pytest.raises(DomainError) as exc:
        services.incident_link_report(incident=other, report=reports[0], user=cw, role="victim")
    assert exc.value.code == "already_linked"
    assert selectors.flags_for_reports([reports[0].pk])[reports[0].pk].incident_id == incident.pk


def test_it_refuses_a_report_of_another_organisation(personas: Any, reports: list[Report]) -> None:
    foreign = make_report(personas.other_org)
    incident = services.incident_create(organisation=personas.org, user=personas.caseworker,
                                        title="Ours")
    before = IncidentReport.objects.count()
    with pytest.raises(DomainError):
        services.incident_link_report(incident=incident, report=foreign,
                                      user=personas.caseworker, role="victim")
    with pytest.raises(DomainError):
        services.report_mark_duplicate(report=reports[0], original=foreign,
                                       user=personas.caseworker)
    with pytest.raises(DomainError):
        services.incident_create(organisation=personas.org, user=personas.caseworker,
                                 title="New", report=foreign, role="victim")
    assert IncidentReport.objects.count() == before
    assert Incident.objects.count() == 1
    assert not ReportFlag.objects.exists()


def test_it_marks_and_clears_duplicates_and_trolls(personas: Any, reports: list[Report]) -> None:
    cw = verified(personas.caseworker)
    a, b, c, d = reports
    flag = services.report_mark_duplicate(report=b, original=a, user=cw)
    with pytest.raises(DomainError):
        services.report_mark_duplicate(report=b, original=c, user=cw)  # already a duplicate
    with pytest.raises(DomainError):
        services.report_mark_duplicate(report=c, original=b, user=cw)  # b is itself a duplicate
    with pytest.raises(DomainError):
        services.report_mark_duplicate(report=a, original=a, user=cw)
    services.report_mark_duplicate(report=c, original=a, user=cw)
    troll = services.report_mark_troll(report=d, user=cw, reason="Copied from a news story")
    with pytest.raises(DomainError):
        services.report_mark_troll(report=d, user=cw, reason="again")
    with pytest.raises(DomainError):
        services.report_mark_troll(report=c, user=cw, reason="   ")

    flags = selectors.flags_for_reports([a.pk, b.pk, c.pk, d.pk])
    assert flags[a.pk].duplicates == 2 and flags[a.pk].duplicate_of is None
    assert flags[b.pk].duplicate_of == a.pk and flags[c.pk].duplicate_of == a.pk
    assert flags[d.pk].troll and not flags[d.pk].duplicate_of

    summary = selectors.report_case_summary(a, cw)
    assert [f.report_id for f in summary.duplicates] == [b.pk, c.pk]
    services.report_flag_clear(flag=flag, user=cw)
    services.report_flag_clear(flag=troll, user=cw)
    with pytest.raises(DomainError):
        services.report_flag_clear(flag=troll, user=cw)
    flags = selectors.flags_for_reports([a.pk, b.pk, d.pk])
    assert b.pk not in flags and d.pk not in flags and flags[a.pk].duplicates == 1
    assert ReportFlag.objects.count() == 3  # cleared marks stay as history
    assert len(selectors.report_case_summary(b, cw).history) == 1
    # Reversible: marking again works after clearing.
    services.report_mark_troll(report=d, user=cw, reason="Second look: still doubtful")
    assert Report.objects.count() == 4  # nothing was deleted


def test_it_adds_tasks_with_reminders_and_ticks_them_off(personas: Any,
                                                         reports: list[Report]) -> None:
    cw = verified(personas.caseworker)
    task = services.task_add(subject=reports[0], user=cw, title=SECRET_TITLE,
                             due_at=in_hours(30), assignee_id=cw.pk, remind_minutes_before=1440)
    assert task.remind_at == task.due_at - dt.timedelta(days=1)
    assert selectors.open_tasks_count(cw) == 1
    assert selectors.open_tasks_count(verified(personas.admin)) == 0
    services.task_done(task=task, user=cw)
    assert task.done_at is not None and task.remind_at is None
    assert selectors.open_tasks_count(cw) == 0
    with pytest.raises(DomainError):
        services.task_done(task=task, user=cw)
    services.task_reopen(task=task, user=cw)
    assert task.done_at is None and task.remind_at is not None and task.reminder_seq == 1
    with pytest.raises(DomainError):
        services.task_reopen(task=task, user=cw)

    for bad in (
        dict(title="", due_at=in_hours(2)),
        dict(title="x" * 201, due_at=in_hours(2)),
        dict(title="Past", due_at=in_hours(-1)),
        dict(title="Foreign", due_at=in_hours(2), assignee_id=personas.other_caseworker.pk),
        dict(title="Police", due_at=in_hours(2), assignee_id=personas.police.pk),
        dict(title="Nobody to remind", due_at=in_hours(2), remind_minutes_before=60),
        dict(title="Too early", due_at=in_hours(2), assignee_id=cw.pk,
             remind_minutes_before=60 * 24 * 30),
    ):
        with pytest.raises(DomainError):
            services.task_add(subject=reports[0], user=cw, **bad)  # type: ignore[arg-type]
    assert Task.objects.count() == 1
    # Overdue is shown on the subject's casework.
    Task.objects.filter(pk=task.pk).update(due_at=in_hours(-2))
    work = selectors.casework_for(reports[0])
    assert work.open_tasks == 1 and work.overdue_tasks == 1


def test_it_logs_contacts_referrals_and_outcomes(personas: Any, reports: list[Report]) -> None:
    cw = verified(personas.caseworker)
    incident = services.incident_create(organisation=personas.org, user=cw, title="Night")
    entry = services.contact_add(subject=reports[0], user=cw, happened_at=in_hours(-3),
                                 channel="phone", direction="outbound",
                                 summary="Spoke with Jordan Sample on 021 555 0101")
    with pytest.raises(DomainError):
        services.contact_add(subject=reports[0], user=cw, happened_at=in_hours(3),
                             channel="phone", direction="outbound", summary="")
    with pytest.raises(DomainError):
        services.contact_add(subject=reports[0], user=cw, happened_at=in_hours(-3),
                             channel="pigeon", direction="outbound", summary="")
    referral = services.referral_add(subject=incident, user=cw, kind="legal_aid",
                                     to_whom="Community Law Wellington")
    assert referral.status == "suggested" and referral.made_at is None
    services.referral_set_status(referral=referral, user=cw, status="made")
    services.referral_set_status(referral=referral, user=cw, status="accepted")
    services.referral_set_status(referral=referral, user=cw, status="completed")
    referral.refresh_from_db()
    assert referral.made_at and referral.answered_at and referral.completed_at
    with pytest.raises(DomainError):
        services.referral_set_status(referral=referral, user=cw, status="lost")
    with pytest.raises(DomainError):
        services.referral_add(subject=incident, user=cw, kind="astrology", to_whom="")

    services.outcome_set(subject=reports[0], user=cw, code="supported", note="Doing better")
    services.outcome_set(subject=reports[0], user=cw, code="resolved")
    services.outcome_set(subject=incident, user=cw, code="referred_on")
    assert Outcome.objects.count() == 2
    assert Outcome.objects.get(report=reports[0]).code == "resolved"
    with pytest.raises(DomainError):
        services.outcome_set(subject=reports[1], user=cw, code="vanished")
    services.outcome_clear(subject=incident, user=cw)
    with pytest.raises(DomainError):
        services.outcome_clear(subject=incident, user=cw)
    assert Outcome.objects.count() == 1
    assert ContactEntry.objects.count() == 1 and Referral.objects.count() == 1
    work = selectors.casework_for(reports[0])
    assert work.contacts == [entry] and work.outcome and work.outcome.code == "resolved"


def test_it_encrypts_free_text_and_keeps_it_out_of_the_audit_log(
    personas: Any, reports: list[Report]
) -> None:
    cw = verified(personas.caseworker)
    incident = services.incident_create(organisation=personas.org, user=cw, title=SECRET_TITLE,
                                        report=reports[0], role="victim", label=SECRET_TITLE)
    services.task_add(subject=incident, user=cw, title=SECRET_TITLE, due_at=in_hours(5))
    services.contact_add(subject=reports[0], user=cw, happened_at=in_hours(-1), channel="sms",
                         direction="inbound", summary=SECRET_TITLE)
    services.referral_add(subject=reports[0], user=cw, kind="housing", to_whom=SECRET_TITLE)
    services.outcome_set(subject=reports[0], user=cw, code="supported", note=SECRET_TITLE)
    services.report_mark_troll(report=reports[1], user=cw, reason=SECRET_TITLE)
    needle = b"Jordan Sample"
    with connection.cursor() as cursor:
        for table in ("cases_incident", "cases_incidentreport", "cases_task", "cases_contactentry",
                      "cases_referral", "cases_outcome", "cases_reportflag"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            for row in cursor.fetchall():
                for value in row:
                    raw = (bytes(value) if isinstance(value, (bytes, memoryview))
                           else str(value).encode())
                    assert needle not in raw, table
    entries = AuditEntry.objects.filter(
        action__regex=r"^(incident|task|contact|referral|outcome|report)\."
    )
    assert entries.count() >= 7
    assert "Jordan" not in json.dumps(list(entries.values_list("data", flat=True)))
    assert audit_verify().ok


def test_flags_for_reports_takes_two_queries(personas: Any, reports: list[Report]) -> None:
    cw = verified(personas.caseworker)
    services.incident_create(organisation=personas.org, user=cw, title="One",
                             report=reports[0], role="victim")
    services.report_mark_duplicate(report=reports[1], original=reports[0], user=cw)
    services.report_mark_troll(report=reports[2], user=cw, reason="Doubtful")
    more = [make_report(personas.org).pk for _ in range(20)]
    with CaptureQueriesContext(connection) as ctx:
        flags = selectors.flags_for_reports([r.pk for r in reports] + more)
    assert len(ctx.captured_queries) == 2
    assert set(flags) == {reports[0].pk, reports[1].pk, reports[2].pk}
    assert selectors.flags_for_reports([]) == {}


def test_hidden_reports_drop_out_of_incidents_and_task_counts(
    personas: Any, reports: list[Report]
) -> None:
    cw = verified(personas.caseworker)
    incident = services.incident_create(organisation=personas.org, user=cw, title="Night",
                                        report=reports[0], role="victim")
    services.incident_link_report(incident=incident, report=reports[1], user=cw, role="witness")
    services.task_add(subject=reports[1], user=cw, title="Call back", due_at=in_hours(5),
                      assignee_id=cw.pk)
    assert selectors.open_tasks_count(cw) == 1
    # The witness withdraws consent for caseworkers: their report and its work disappear.
    Report.objects.filter(pk=reports[1].pk).update(consent_caseworkers=False)
    found = selectors.incident_reports(incident, cw)
    assert [r.link.report_id for r in found.rows] == [reports[0].pk] and found.hidden == 1
    assert selectors.open_tasks_count(cw) == 0
    assert timezone.now()  # time is read through django.utils.timezone only
