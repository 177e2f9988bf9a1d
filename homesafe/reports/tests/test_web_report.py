"""The web form and the follow-up page, through Django's test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from homesafe.audit.models import AuditEntry
from homesafe.reports.models import Message, PoliceResponse, Report, ReportCode

CODE_RE = re.compile(rb"data-reference-code[^>]*>([^<]+)<")


def _file(client: Client, **fields: Any) -> str:
    data = {"reporter_role": "victim", "narrative": "It happened near the taxi rank.", **fields}
    response = client.post("/report/", data)
    assert response.status_code == 201, response.content[:500]
    match = CODE_RE.search(response.content)
    assert match
    return match.group(1).decode()


def _counts() -> tuple[int, ...]:
    return (Report.objects.count(), ReportCode.objects.count(), PoliceResponse.objects.count(),
            Message.objects.count(), AuditEntry.objects.count())


@pytest.mark.django_db
def test_it_files_a_full_report_from_the_form(personas: Any) -> None:
    client = Client()
    code = _file(
        client,
        identity_level="identified",
        contact_name="Test Person", contact_email="person@example.org", contact_channel="email",
        contact_leave_message="no",
        occurred_on="2026-02-14", occurred_time="23:40", occurred_approximate="1",
        place_text="Cuba Street", location_lat="-41.2925", location_lng="174.7745",
        location_precision="neighbourhood", venue_type="street",
        incident_types=["verbal_abuse_slurs", "followed_pursued"], bias=["transgender"],
        bias_perceived="yes", bias_indicators=["words_used"], offenders_count="2_3",
        injuries="minor", bystanders_count="12", bystander_actions=["filmed"],
        police_contacted="yes", police_contact_method="emergency_call",
        police_minutes_to_arrive="25", police_help_escort_home="refused",
        police_officer_attitude="dismissive", police_reference="NZP-0001",
        support_wanted=["talk"], consent_caseworkers="yes", consent_police="anonymised",
        consent_statistics="yes",
    )
    assert code not in str(Report.objects.values_list().get())
    report = Report.objects.get()
    assert report.contact == {"name": "Test Person", "email": "person@example.org",
                              "channel": "email", "leave_message": False}
    assert report.location_precision == "neighbourhood" and report.h3_cell is not None
    assert report.codes_for("incident_type") == ["followed_pursued", "verbal_abuse_slurs"]
    police = report.police_responses.get()
    assert police.help_requested == {"escort_home": "refused"}
    assert police.police_reference == "NZP-0001" and police.minutes_to_arrive == 25


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reporter_role": ""}, b"the one question we need"),
        ({"reporter_role": "alien"}, b"the one question we need"),
        ({"incident_types": ["not_a_code"]}, b"Choose one of the options given"),
        ({"narrative": "x" * 20001}, b"at most 20000 characters"),
        ({"bystanders_count": "many"}, b"Enter a number"),
        ({"location_lat": "91", "location_lng": "174.7"}, b"out of range"),
        ({"location_lat": "abc", "location_lng": "174.7"}, b"Enter a number"),
        ({"contact_email": "someone@example.org"}, b"identity level is"),
        ({"occurred_on": "2999-01-01"}, b"in the future"),
        ({"organisation": "nope"}, b"does not exist"),
    ],
)
def test_it_refuses_bad_answers_and_saves_nothing(
    personas: Any, fields: dict[str, Any], message: bytes
) -> None:
    before = _counts()
    data = {"reporter_role": "witness", "narrative": "keep me", **fields}
    response = Client().post("/report/", data)
    assert response.status_code == 400
    assert message in response.content
    assert b"keep me" in response.content or "narrative" in fields  # answers are kept
    assert _counts() == before


@pytest.mark.django_db
def test_it_opens_the_follow_up_only_by_posting_the_code(personas: Any) -> None:
    client = Client()
    code = _file(client)
    assert client.get("/follow-up/", {"code": code}).status_code == 200  # ignored: GET
    assert b"Private mailbox" not in client.get("/follow-up/", {"code": code}).content
    bad = client.post("/follow-up/", {"code": "AAAA-BBBB-CCCC-DDDD"})
    assert bad.status_code == 404 and b"No report matches" in bad.content
    response = client.post("/follow-up/", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 302 and response["Location"] == "/follow-up/"
    page = client.get("/follow-up/")
    assert b"Private mailbox" in page.content and code.encode() not in page.content
    client.post("/follow-up/message/", {"body": "Thank you"})
    assert Message.objects.get().body == "Thank you"
    assert client.post("/follow-up/message/", {"body": "   "}).status_code == 400
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_it_forgets_the_report_after_half_an_hour_or_on_request(personas: Any) -> None:
    client = Client()
    code = _file(client)
    with time_machine.travel("2030-01-01 00:00Z", tick=False) as traveller:
        client.post("/follow-up/", {"code": code})
        assert b"Private mailbox" in client.get("/follow-up/").content
        traveller.shift(31 * 60)
        assert b"Private mailbox" not in client.get("/follow-up/").content
    client.post("/follow-up/", {"code": code})
    client.post("/follow-up/forget/")
    assert b"Private mailbox" not in client.get("/follow-up/").content


@pytest.mark.django_db
def test_it_lets_the_reporter_withdraw_consent_at_once(personas: Any, verified_login: Any) -> None:
    reporter = Client()
    code = _file(reporter)
    report = Report.objects.get()
    staff = verified_login(Client(), personas.caseworker)
    assert staff.get(f"/case/{report.pk}/").status_code == 200

    reporter.post("/follow-up/", {"code": code})
    response = reporter.post("/follow-up/consent/", {
        "consent_caseworkers": "no", "consent_police": "none", "consent_statistics": "no"})
    assert response.status_code == 302
    assert staff.get(f"/case/{report.pk}/").status_code == 404
    assert AuditEntry.objects.filter(action="report.consent_change").count() == 1
    bad = reporter.post("/follow-up/consent/", {
        "consent_caseworkers": "maybe", "consent_police": "none", "consent_statistics": "no"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_it_keeps_anonymous_reports_from_identifiable_police_sharing(personas: Any) -> None:
    reporter = Client()
    code = _file(reporter, identity_level="anonymous")
    reporter.post("/follow-up/", {"code": code})
    response = reporter.post("/follow-up/consent/", {
        "consent_caseworkers": "yes", "consent_police": "identifiable",
        "consent_statistics": "yes"})
    assert response.status_code == 400
    assert Report.objects.get().consent_police == "none"


@pytest.mark.django_db
def test_it_shows_quick_exit_on_every_public_page(personas: Any) -> None:
    client = Client()
    for url in ("/", "/report/", "/follow-up/", "/account/login/"):
        body = client.get(url).content
        assert b"data-quick-exit" in body and b"erase your browser history" in body


@pytest.mark.django_db
def test_it_answers_healthz() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "version": "0.1.0"}


@pytest.mark.django_db
def test_it_sends_security_headers(personas: Any) -> None:
    response = Client().get("/report/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"
