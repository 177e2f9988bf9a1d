"""Casework pages over HTTP: who may reach them (every role against every endpoint), the
case-page panel, cross-organisation ids, and bad input (a clear 4xx, nothing half-saved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from homesafe.audit.models import AuditEntry
from homesafe.cases import services
from homesafe.cases.models import (
    ContactEntry,
    Incident,
    IncidentReport,
    Outcome,
    Referral,
    ReportFlag,
    Task,
)
from homesafe.reports.models import Report

from .helpers import in_hours, local_input, make_report

pytestmark = pytest.mark.django_db

CASE_MODELS = (Incident, IncidentReport, ReportFlag, Task, ContactEntry, Referral, Outcome)


def counts() -> dict[str, Any]:
    """Rows and their mutable state: a refused request must change none of it."""
    state: dict[str, Any] = {m.__name__: m.objects.count() for m in CASE_MODELS}
    state["open_links"] = IncidentReport.objects.filter(removed_at__isnull=True).count()
    state["active_flags"] = ReportFlag.objects.filter(cleared_at__isnull=True).count()
    state["done"] = Task.objects.filter(done_at__isnull=False).count()
    state["referrals"] = sorted(Referral.objects.values_list("status", flat=True))
    state["titles"] = sorted(i.title for i in Incident.objects.all())
    return state


@dataclass
class World:
    report: Report
    report2: Report
    incident: Incident
    link: IncidentReport
    flag: ReportFlag
    task: Task
    done_task: Task
    referral: Referral
    foreign_report: Report
    foreign_incident: Incident
    foreign_task: Task
    report3: Report
    report4: Report


@pytest.fixture
def world(personas: Any) -> World:
    cw, other = personas.caseworker, personas.other_caseworker
    for user in (cw, other):
        user.is_verified = lambda: True
    report = make_report(personas.org, narrative="They followed us.")
    report2 = make_report(personas.org, narrative="I saw it happen.", reporter_role="witness")
    troll_target = make_report(personas.org)
    incident = services.incident_create(organisation=personas.org, user=cw, title="Cuba St",
                                        report=report, role="victim", label="first")
    link = IncidentReport.objects.get(report=report)
    flag = services.report_mark_troll(report=troll_target, user=cw, reason="Doubtful")
    task = services.task_add(subject=report, user=cw, title="Call back", due_at=in_hours(20),
                             assignee_id=cw.pk, remind_minutes_before=60)
    done_task = services.task_add(subject=incident, user=cw, title="Done", due_at=in_hours(2))
    services.task_done(task=done_task, user=cw)
    referral = services.referral_add(subject=report, user=cw, kind="counselling", to_whom="Partner")
    foreign_report = make_report(personas.other_org, narrative="Elsewhere.")
    foreign_incident = services.incident_create(organisation=personas.other_org, user=other,
                                                title="Elsewhere", report=foreign_report,
                                                role="victim")
    foreign_task = services.task_add(subject=foreign_report, user=other, title="Theirs",
                                     due_at=in_hours(3))
    return World(report, report2, incident, link, flag, task, done_task, referral,
                 foreign_report, foreign_incident, foreign_task,
                 make_report(personas.org), make_report(personas.org))


def endpoints(w: World) -> list[tuple[str, str, dict[str, str]]]:
    due = local_input(in_hours(30))
    past = local_input(in_hours(-2))
    r, i = w.report.pk, w.incident.pk
    return [
        ("get", "/cases/incidents/", {}),
        ("get", "/cases/tasks/", {}),
        ("get", f"/cases/incident/{i}/", {}),
        ("get", f"/cases/report/{r}/", {}),
        ("post", "/cases/incidents/new/", {"title": "New one"}),
        ("post", "/cases/incidents/new/", {"title": "From report", "report_id": str(w.report3.pk),
                                           "role": "witness"}),
        ("post", f"/cases/incident/{i}/rename/", {"title": "Renamed"}),
        ("post", f"/cases/incident/{i}/link/", {"report_id": str(w.report2.pk), "role": "witness"}),
        ("post", f"/cases/report/{w.report4.pk}/join/", {"incident_id": str(i), "role": "media"}),
        ("post", f"/cases/link/{w.link.pk}/remove/", {}),
        ("post", f"/cases/report/{w.report2.pk}/duplicate/", {"original_id": str(r)}),
        ("post", f"/cases/report/{r}/troll/", {"reason": "Made up"}),
        ("post", f"/cases/flag/{w.flag.pk}/clear/", {}),
        ("post", f"/cases/report/{r}/task/", {"title": "T", "due_at": due, "remind": ""}),
        ("post", f"/cases/incident/{i}/task/", {"title": "T", "due_at": due}),
        ("post", f"/cases/report/{r}/contact/", {"happened_at": past, "channel": "phone",
                                                 "direction": "outbound", "summary": "Hi"}),
        ("post", f"/cases/incident/{i}/referral/", {"kind": "legal_aid", "to_whom": "Law centre"}),
        ("post", f"/cases/report/{r}/outcome/", {"code": "supported"}),
        ("post", f"/cases/task/{w.task.pk}/done/", {}),
        ("post", f"/cases/task/{w.done_task.pk}/reopen/", {}),
        ("post", f"/cases/referral/{w.referral.pk}/status/", {"status": "made"}),
    ]


DENIED_404 = ["stranger", "member", "volunteer", "police", "other_caseworker"]


def as_role(client: Any, personas: Any, role: str, verified_login: Any) -> Any:
    if role == "anonymous":
        return client
    if role == "caseworker_unverified":
        client.force_login(personas.caseworker)  # password only: no second factor yet
        return client
    return verified_login(client, getattr(personas, role))


@pytest.mark.parametrize("role", ["anonymous", "caseworker_unverified", *DENIED_404])
def test_it_refuses_everyone_without_a_verified_case_role(
    client: Any, personas: Any, world: World, role: str, verified_login: Any
) -> None:
    as_role(client, personas, role, verified_login)
    before = counts()
    for method, url, data in endpoints(world):
        if role == "other_caseworker" and url in ("/cases/incidents/", "/cases/tasks/"):
            # Their own organisation's lists: nothing of ours may show.
            page = client.get(url).content.decode()
            assert "Cuba St" not in page and "Call back" not in page
            continue
        own_org_create = url == "/cases/incidents/new/" and "report_id" not in data
        if role == "other_caseworker" and own_org_create:
            continue  # starts an incident in their own organisation: allowed
        response = getattr(client, method)(url, data)
        if role == "anonymous":
            assert response.status_code == 302 and "/account/login/" in response["Location"], url
        elif role == "caseworker_unverified":
            assert response.status_code == 302 and "/account/mfa/" in response["Location"], url
        else:
            assert response.status_code == 404, (url, response.status_code)
    assert counts() == before


@pytest.mark.parametrize("role", ["caseworker", "admin"])
def test_it_lets_verified_caseworkers_and_admins_work(
    client: Any, personas: Any, world: World, role: str, verified_login: Any
) -> None:
    verified_login(client, getattr(personas, role))
    for method, url, data in endpoints(world):
        response = getattr(client, method)(url, data)
        expected = 200 if method == "get" else 302
        assert response.status_code == expected, (url, response.status_code,
                                                  response.content[:300])
    assert Incident.objects.filter(organisation=personas.org).count() == 3
    assert ReportFlag.objects.filter(kind="duplicate", cleared_at__isnull=True).count() == 1
    assert Outcome.objects.get(report=world.report).code == "supported"


def test_the_reporter_cannot_see_casework_of_their_own_report(
    client: Any, personas: Any, verified_login: Any
) -> None:
    own = make_report(personas.org, narrative="Mine.")
    Report.objects.filter(pk=own.pk).update(reporter_user=personas.member)
    verified_login(client, personas.member)
    assert client.get(f"/cases/report/{own.pk}/").status_code == 404


def test_cross_organisation_ids_are_404_and_change_nothing(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    before = counts()
    due = local_input(in_hours(30))
    r, i = world.report.pk, world.incident.pk
    fr, fi = world.foreign_report.pk, world.foreign_incident.pk
    foreign_link = IncidentReport.objects.get(report=world.foreign_report)
    for method, url, data in [
        ("get", f"/cases/incident/{fi}/", {}),
        ("get", f"/cases/report/{fr}/", {}),
        ("post", f"/cases/incident/{i}/link/", {"report_id": str(fr), "role": "witness"}),
        ("post", f"/cases/incident/{fi}/link/", {"report_id": str(r), "role": "witness"}),
        ("post", f"/cases/report/{r}/join/", {"incident_id": str(fi), "role": "witness"}),
        ("post", f"/cases/report/{r}/duplicate/", {"original_id": str(fr)}),
        ("post", f"/cases/report/{fr}/duplicate/", {"original_id": str(r)}),
        ("post", "/cases/incidents/new/", {"title": "X", "report_id": str(fr), "role": "victim"}),
        ("post", "/cases/incidents/new/", {"title": "X",
                                           "organisation": str(personas.other_org.pk)}),
        ("post", f"/cases/link/{foreign_link.pk}/remove/", {}),
        ("post", f"/cases/report/{fr}/task/", {"title": "T", "due_at": due}),
        ("post", f"/cases/incident/{fi}/outcome/", {"code": "resolved"}),
        ("post", f"/cases/task/{world.foreign_task.pk}/done/", {}),
        ("post", "/cases/task/not-a-uuid/done/", {}),
        ("get", "/cases/incident/00000000-0000-0000-0000-000000000000/", {}),
    ]:
        response = getattr(client, method)(url, data)
        # Creating without a report in a foreign organisation: refused as a bad choice (400).
        own_org_create = url.endswith("/incidents/new/") and "report_id" not in data
        allowed = {404, 400} if own_org_create else {404}
        assert response.status_code in allowed, (url, response.status_code)
    assert counts() == before


def test_it_refuses_bad_input_with_400_and_saves_nothing(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    r, i = world.report.pk, world.incident.pk
    due = local_input(in_hours(30))
    past = local_input(in_hours(-2))
    cases = [
        (f"/cases/report/{r}/task/", {"title": "T", "due_at": "tomorrow"}),
        (f"/cases/report/{r}/task/", {"title": "T", "due_at": past}),
        (f"/cases/report/{r}/task/", {"title": "", "due_at": due}),
        (f"/cases/report/{r}/task/", {"title": "T", "due_at": due, "assignee_id": "abc"}),
        (f"/cases/report/{r}/task/", {"title": "T", "due_at": due,
                                      "assignee_id": str(personas.other_caseworker.pk)}),
        (f"/cases/report/{r}/task/", {"title": "T", "due_at": due, "remind": "7"}),
        (f"/cases/incident/{i}/task/", {"title": "T" * 201, "due_at": due}),
        (f"/cases/report/{r}/contact/", {"happened_at": past, "channel": "fax",
                                         "direction": "outbound"}),
        (f"/cases/report/{r}/contact/", {"happened_at": due, "channel": "phone",
                                         "direction": "outbound"}),
        (f"/cases/report/{r}/contact/", {"happened_at": past, "channel": "phone",
                                         "direction": "outbound", "summary": "x" * 2001}),
        (f"/cases/incident/{i}/referral/", {"kind": "astrology"}),
        (f"/cases/incident/{i}/referral/", {"kind": "housing", "status": "lost"}),
        (f"/cases/referral/{world.referral.pk}/status/", {"status": "nope"}),
        (f"/cases/report/{r}/outcome/", {"code": "vanished"}),
        (f"/cases/report/{r}/troll/", {"reason": "   "}),
        (f"/cases/report/{r}/duplicate/", {"original_id": str(r)}),
        (f"/cases/incident/{i}/link/", {"report_id": str(world.report2.pk), "role": "judge"}),
        (f"/cases/incident/{i}/link/", {"report_id": str(r), "role": "victim"}),  # already in
        (f"/cases/incident/{i}/rename/", {"title": ""}),
        ("/cases/incidents/new/", {"title": ""}),
        ("/cases/incidents/new/", {"title": "Ok", "report_id": str(world.report2.pk),
                                   "role": "judge"}),
        (f"/cases/task/{world.task.pk}/reopen/", {}),  # not done
        (f"/cases/flag/{world.flag.pk}/clear/", {}),  # fine once ...
    ]
    before = counts()
    for url, data in cases[:-1]:
        response = client.post(url, data)
        assert response.status_code == 400, (url, data, response.status_code)
        assert b'role="alert"' in response.content
        assert counts() == before, (url, data)
    assert client.post(*cases[-1]).status_code == 302
    assert client.post(*cases[-1]).status_code == 400  # ... then already cleared
    # Pages only answer the methods they should.
    assert client.get(f"/cases/report/{r}/troll/").status_code == 405


def test_the_case_page_shows_the_casework_panel(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    original = world.report
    services.report_mark_duplicate(report=world.report2, original=original,
                                   user=personas.caseworker)
    page = client.get(f"/case/{original.pk}/").content.decode()
    assert "data-case-panel" in page and "Cuba St" in page and "data-duplicates" in page
    assert f"/cases/report/{original.pk}/" in page
    other = client.get(f"/case/{world.report2.pk}/").content.decode()
    assert "data-duplicate-of" in other
    # The report marked as duplicate stays readable.
    assert "I saw it happen." in other


def test_pages_use_a_bounded_number_of_queries(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    cw = personas.caseworker
    client.get(f"/cases/incident/{world.incident.pk}/")  # warm up the session
    for n in range(6):
        report = make_report(personas.org)
        services.incident_link_report(incident=world.incident, report=report, user=cw,
                                      role="witness", label=f"w{n}")
        services.task_add(subject=world.incident, user=cw, title=f"t{n}", due_at=in_hours(5 + n),
                          assignee_id=cw.pk)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/cases/incident/{world.incident.pk}/").status_code == 200
    for n in range(6):
        report = make_report(personas.org)
        services.incident_link_report(incident=world.incident, report=report, user=cw,
                                      role="witness", label=f"x{n}")
        services.task_add(subject=world.incident, user=cw, title=f"u{n}", due_at=in_hours(5 + n),
                          assignee_id=cw.pk)
    with CaptureQueriesContext(connection) as more:
        assert client.get(f"/cases/incident/{world.incident.pk}/").status_code == 200
    assert len(more.captured_queries) == len(few.captured_queries)
    assert AuditEntry.objects.filter(action="incident.view").count() == 3


def test_due_times_are_read_in_the_organisations_timezone(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    import datetime as dt

    verified_login(client, personas.caseworker)
    response = client.post(f"/cases/report/{world.report.pk}/task/", {
        "title": "Mid-summer check-in", "due_at": "2030-01-15T09:30",
        "assignee_id": str(personas.caseworker.pk), "remind": "1440",
    })
    assert response.status_code == 302
    assert response["Location"] == f"/cases/report/{world.report.pk}/#tasks"
    task = Task.objects.get(title__isnull=False, due_at__year=2030)
    # 09:30 in Wellington in January (NZDT, UTC+13) is 20:30 UTC the day before.
    assert task.due_at == dt.datetime(2030, 1, 14, 20, 30, tzinfo=dt.UTC)
    assert task.remind_at == task.due_at - dt.timedelta(days=1)
    page = client.get(f"/cases/report/{world.report.pk}/").content.decode()
    assert "Tue 15 Jan 2030, 09:30" in page


def test_my_tasks_lists_open_tasks_and_ticks_them_off_in_place(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    page = client.get("/cases/tasks/").content.decode()
    assert "Call back" in page and "Theirs" not in page and ">Done<" not in page
    response = client.post(f"/cases/task/{world.task.pk}/done/", {"next": "my_tasks"})
    assert response.status_code == 302 and response["Location"] == "/cases/tasks/"
    assert "Call back" not in client.get("/cases/tasks/").content.decode()


def test_the_triage_queue_shows_incident_and_marks(
    client: Any, personas: Any, world: World, verified_login: Any
) -> None:
    verified_login(client, personas.caseworker)
    services.report_mark_duplicate(report=world.report2, original=world.report,
                                   user=personas.caseworker)
    page = client.get("/case/").content.decode()
    assert f"/cases/incident/{world.incident.pk}/" in page
    assert "Suspected troll" in page and "Duplicate" in page and "1 duplicate" in page
    assert "/cases/tasks/" in page and "My open tasks" in page
