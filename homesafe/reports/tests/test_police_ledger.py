"""The police-response ledger: rows appended by the reporter, a caseworker and the police
liaison, on the web and the API; audited; never edited; bad input refused whole."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.db import connection

from homesafe.audit.models import AuditEntry
from homesafe.reports import selectors, services
from homesafe.reports.models import PoliceResponse, Report
from homesafe.reports.schemas import PoliceIn, ReportIn
from homesafe.reports.tests.test_police_liaison import submit

REFERENCE = "P0ZX81234567"


@pytest.fixture
def shared(personas: Any) -> tuple[Report, str]:
    return submit(personas.org, consent_police="identifiable", identity_level="identified",
                  contact={"name": "Ana Example"}, narrative="They spat at me.")


def counts() -> tuple[int, int]:
    return PoliceResponse.objects.count(), AuditEntry.objects.count()


def last_audit() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    return entry


FULL_FORM = {
    "police_contacted": "yes",
    "police_contact_method": "emergency_call",
    "police_minutes_to_arrive": "25",
    "police_help_escort_home": "refused",
    "police_help_statement_taken": "provided",
    "police_alternative_offered": "Told to call a taxi",
    "police_officer_attitude": "dismissive",
    "police_recording": "recorded_with_hate_flag",
    "police_reference": REFERENCE,
    "police_investigation": "open",
    "police_contact_at": "2026-03-16T09:30",
    "police_apology_received": "yes",
    "police_complaint_made": "yes",
    "police_complaint_upheld": "no",
    "police_meeting_held": "yes",
}


def check_full_row(row: PoliceResponse) -> None:
    assert row.contacted == "yes" and row.contact_method == "emergency_call"
    assert row.minutes_to_arrive == 25
    assert row.help_requested == {"escort_home": "refused", "statement_taken": "provided"}
    assert row.alternative_offered == "Told to call a taxi"
    assert row.officer_attitude == "dismissive"
    assert row.recording == "recorded_with_hate_flag"
    assert row.police_reference == REFERENCE
    assert row.investigation == "open"
    assert (row.apology_received, row.complaint_made, row.complaint_upheld, row.meeting_held) == (
        True, True, False, True)
    assert row.victim_withdrew is None
    # A time without an offset is read in the organisation's time zone (NZDT, UTC+13).
    assert row.police_contact_at == dt.datetime(2026, 3, 15, 20, 30, tzinfo=dt.UTC)


# --- each author, on the web --------------------------------------------------------------------


def test_it_takes_a_reporters_entry_on_the_follow_up_page(
    client: Any, shared: tuple[Report, str]
) -> None:
    report, code = shared
    client.post("/follow-up/", {"code": code})
    response = client.post("/follow-up/police/", FULL_FORM)
    assert response.status_code == 302 and response["Location"] == "/follow-up/#police"
    row = report.police_responses.get()
    check_full_row(row)
    assert (row.entered_by, row.author_id) == ("reporter", None)
    entry = last_audit()
    assert (entry.action, entry.actor_kind, entry.object_id) == (
        "police_response.add", "reporter", str(report.pk))
    assert entry.data["entry"] == str(row.pk) and entry.data["entered_by"] == "reporter"
    assert REFERENCE not in json.dumps(entry.data) and "taxi" not in json.dumps(entry.data)
    page = client.get("/follow-up/").content.decode()
    assert REFERENCE in page and "Told to call a taxi" in page


def test_it_takes_a_caseworkers_entry_on_the_case_page(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str]
) -> None:
    report, _code = shared
    verified_login(client, personas.caseworker)
    response = client.post(f"/case/{report.pk}/police/", FULL_FORM)
    assert response.status_code == 302 and response["Location"] == f"/case/{report.pk}/"
    row = report.police_responses.get()
    check_full_row(row)
    assert (row.entered_by, row.author_id) == ("caseworker", personas.caseworker.pk)
    entry = last_audit()
    assert (entry.action, entry.actor_kind, entry.actor_id) == (
        "police_response.add", "user", personas.caseworker.pk)
    page = client.get(f"/case/{report.pk}/").content.decode()
    assert REFERENCE in page and "data-police-ledger" in page


def test_it_takes_a_police_side_update_on_the_liaison_page(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str]
) -> None:
    report, _code = shared
    verified_login(client, personas.police)
    response = client.post(
        f"/police/{report.pk}/update/",
        {"police_reference": REFERENCE, "police_investigation": "suspect_identified",
         "police_contact_at": "2026-03-16T09:30", "police_meeting_held": "yes"},
    )
    assert response.status_code == 302 and response["Location"] == f"/police/{report.pk}/"
    row = report.police_responses.get()
    assert (row.entered_by, row.author_id) == ("police", personas.police.pk)
    assert (row.police_reference, row.investigation, row.meeting_held) == (
        REFERENCE, "suspect_identified", True)
    actions = list(
        AuditEntry.objects.order_by("-seq").values_list("action", flat=True)[:2]
    )
    assert actions == ["police_response.add", "report.police_update"]
    page = client.get(f"/police/{report.pk}/").content.decode()
    assert "Suspect identified" in page and REFERENCE in page


# --- each author, on the API --------------------------------------------------------------------


def test_it_takes_entries_from_all_three_authors_on_the_api(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str]
) -> None:
    from django.test import Client

    report, code = shared
    reporter = client.post(
        "/api/reports/police-responses",
        data=json.dumps({"code": code, "entry": {"contacted": "yes", "officer_attitude": "hostile",
                                                  "police_contact_at": "2026-03-16T09:30:00Z"}}),
        content_type="application/json",
    )
    assert reporter.status_code == 201, reporter.content
    assert reporter.json()["entered_by"] == "reporter"

    caseworker = verified_login(Client(), personas.caseworker)
    added = caseworker.post(
        f"/api/case/reports/{report.pk}/police-responses",
        data=json.dumps({"complaint_made": True}), content_type="application/json",
    )
    assert added.status_code == 201 and added.json()["entered_by"] == "caseworker"

    police = verified_login(Client(), personas.police)
    update = police.post(
        f"/api/case/police/reports/{report.pk}/police-responses",
        data=json.dumps({"police_reference": REFERENCE, "investigation": "charged"}),
        content_type="application/json",
    )
    assert update.status_code == 201 and update.json()["police_reference"] == REFERENCE

    ledger = caseworker.get(f"/api/case/reports/{report.pk}/police-responses").json()
    assert [e["entered_by"] for e in ledger] == ["reporter", "caseworker", "police"]
    detail = police.get(f"/api/case/police/reports/{report.pk}").json()
    assert detail["investigation"] == "charged"
    assert [e["entered_by"] for e in detail["police_responses"]] == [
        "reporter", "caseworker", "police"]
    audits = AuditEntry.objects.filter(action="police_response.add", object_id=str(report.pk))
    assert sorted(audits.values_list("data__entered_by", flat=True)) == [
        "caseworker", "police", "reporter"]


def test_it_keeps_the_ledger_as_a_history(personas: Any, shared: tuple[Report, str]) -> None:
    report, _code = shared
    first = services.police_response_add(
        report=report, entry=PoliceIn(investigation="open"), entered_by="caseworker",
        author=personas.caseworker,
    )
    services.police_response_add(
        report=report, entry=PoliceIn(investigation="closed_no_further_action"),
        entered_by="police", author=personas.police,
    )
    entries = selectors.police_ledger(report)
    assert [e.investigation for e in entries] == ["open", "closed_no_further_action"]
    assert selectors.latest_investigation(entries) == "closed_no_further_action"
    first.investigation = "charged"
    with pytest.raises(ValueError, match="never edited"):
        first.save()
    assert PoliceResponse.objects.get(pk=first.pk).investigation == "open"


def test_it_counts_hours_until_police_made_contact(personas: Any) -> None:
    filed = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(filed, tick=False):
        report, _code = submit(personas.org)
    assert selectors.hours_to_police_contact(report, selectors.police_ledger(report)) is None
    with time_machine.travel(filed + dt.timedelta(days=4), tick=False):
        for hours in (60, 30.5):
            services.police_response_add(
                report=report,
                entry=PoliceIn(police_contact_at=filed + dt.timedelta(hours=hours)),
                entered_by="caseworker", author=personas.caseworker,
            )
    # The first contact counts, whichever order the rows came in.
    assert selectors.hours_to_police_contact(report, selectors.police_ledger(report)) == 30.5
    services.police_response_add(
        report=report, entry=PoliceIn(police_contact_at=filed - dt.timedelta(hours=2)),
        entered_by="reporter",
    )
    # Contact before the report was filed (at the scene) counts as none to wait.
    assert selectors.hours_to_police_contact(report, selectors.police_ledger(report)) == 0.0


def test_it_keeps_references_and_reasons_encrypted_at_rest(
    personas: Any, shared: tuple[Report, str]
) -> None:
    report, _code = shared
    services.police_response_add(
        report=report,
        entry=PoliceIn(police_reference=REFERENCE, victim_withdrew=True,
                       withdrawal_reason="Afraid of the men finding me"),
        entered_by="caseworker", author=personas.caseworker,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT police_reference, withdrawal_reason FROM reports_policeresponse")
        raw = repr(cursor.fetchall())
    assert REFERENCE not in raw and "Afraid" not in raw
    row = PoliceResponse.objects.get()
    assert (row.police_reference, row.withdrawal_reason) == (
        REFERENCE, "Afraid of the men finding me")


def test_it_withholds_the_reason_for_withdrawing_from_police(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str]
) -> None:
    report, _code = shared
    services.police_response_add(
        report=report,
        entry=PoliceIn(victim_withdrew=True, withdrawal_reason="Afraid of the men finding me"),
        entered_by="caseworker", author=personas.caseworker,
    )
    verified_login(client, personas.police)
    body = client.get(f"/api/case/police/reports/{report.pk}").json()
    assert body["police_responses"][0]["victim_withdrew"] is True
    assert body["police_responses"][0]["withdrawal_reason"] is None
    assert "Afraid" not in client.get(f"/police/{report.pk}/").content.decode()


# --- bad input: a clear 4xx and nothing half-saved ------------------------------------------------

BAD_FORMS = [
    ({"police_contacted": "maybe"}, "police_contacted"),
    ({"police_minutes_to_arrive": "-3"}, "police_minutes_to_arrive"),
    ({"police_minutes_to_arrive": "soon"}, "police_minutes_to_arrive"),
    ({"police_help_escort_home": "shrugged"}, "police_help"),
    ({"police_investigation": "open", "police_reference": "x" * 65}, "police_reference"),
    ({"police_contact_at": "2999-01-01T10:00"}, "police_contact_at"),
    ({"police_contact_at": "yesterday"}, "police_contact_at"),
    ({"police_apology_received": "perhaps"}, "police_apology_received"),
    ({"police_withdrawal_reason": "No reason given to withdraw"}, "police"),
    ({"police_contacted": "no", "police_minutes_to_arrive": "5"}, "police"),
    ({}, "police"),
]


@pytest.mark.parametrize(("form", "field"), BAD_FORMS)
@pytest.mark.parametrize("author", ["reporter", "caseworker", "police"])
def test_it_refuses_bad_ledger_input_on_the_web(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str],
    form: dict[str, str], field: str, author: str,
) -> None:
    report, code = shared
    if author == "reporter":
        client.post("/follow-up/", {"code": code})
        url = "/follow-up/police/"
    elif author == "caseworker":
        verified_login(client, personas.caseworker)
        url = f"/case/{report.pk}/police/"
    else:
        verified_login(client, personas.police)
        url = f"/police/{report.pk}/update/"
    before = counts()
    response = client.post(url, {**form, "police_investigation": form.get(
        "police_investigation", "")} if author != "police" else form)
    assert response.status_code == 400, (form, response.status_code)
    assert field in response.context["police_errors"], response.context["police_errors"]
    assert 'role="alert"' in response.content.decode()
    rows, audits = counts()
    assert rows == before[0]
    # A staff read of the page may be audited; the ledger write never is.
    assert not AuditEntry.objects.filter(action="police_response.add").exists()
    assert audits - before[1] <= 1


@pytest.mark.parametrize(
    "entry",
    [
        {"contacted": "maybe"},
        {"minutes_to_arrive": -1},
        {"help_requested": {"escort_home": "ignored"}},
        {"police_contact_at": "2999-01-01T00:00:00Z"},
        {"withdrawal_reason": "x"},
        {"investigation": "open", "surprise": 1},
        {},
    ],
)
def test_it_refuses_bad_ledger_input_on_the_api(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str],
    entry: dict[str, Any],
) -> None:
    report, code = shared
    before = counts()
    public = client.post("/api/reports/police-responses",
                         data=json.dumps({"code": code, "entry": entry}),
                         content_type="application/json")
    assert public.status_code in (400, 422), public.content
    assert public.json()["error"] in ("invalid", "empty")
    verified_login(client, personas.caseworker)
    staff = client.post(f"/api/case/reports/{report.pk}/police-responses",
                        data=json.dumps(entry), content_type="application/json")
    assert staff.status_code in (400, 422)
    assert PoliceResponse.objects.count() == before[0]
    assert not AuditEntry.objects.filter(action="police_response.add").exists()


def test_it_refuses_a_wrong_code_for_a_reporter_entry(client: Any, personas: Any) -> None:
    response = client.post(
        "/api/reports/police-responses",
        data=json.dumps({"code": "AAAA-BBBB-CCCC-DDDD", "entry": {"contacted": "yes"}}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert PoliceResponse.objects.count() == 0


def test_it_takes_the_new_answers_in_the_report_form(client: Any, personas: Any) -> None:
    data = ReportIn.model_validate({
        "reporter_role": "victim", "organisation": personas.org.slug,
        "police": {"contacted": "yes", "apology_received": True,
                   "police_contact_at": "2026-01-02T03:04:00Z"},
    })
    report = services.report_submit(data=data).report
    row = report.police_responses.get()
    assert row.apology_received is True and row.entered_by == "reporter"
    assert row.police_contact_at == dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)


def test_it_keeps_the_police_to_their_own_side_of_the_ledger(
    client: Any, personas: Any, verified_login: Any, shared: tuple[Report, str]
) -> None:
    report, _code = shared
    verified_login(client, personas.police)
    response = client.post(
        f"/api/case/police/reports/{report.pk}/police-responses",
        data=json.dumps({"investigation": "open", "officer_attitude": "helpful"}),
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"] == "not_police_side"
    assert PoliceResponse.objects.count() == 0


def test_it_audits_the_ledger_entry_given_with_the_report(personas: Any) -> None:
    report, _code = submit(personas.org, police={"contacted": "yes", "police_reference": REFERENCE})
    row = report.police_responses.get()
    entry = AuditEntry.objects.get(action="police_response.add")
    assert (entry.object_id, entry.actor_kind, entry.data["entry"]) == (
        str(report.pk), "reporter", str(row.pk))
    assert entry.data["fields"] == ["contacted", "police_reference"]
    assert REFERENCE not in json.dumps(entry.data)
