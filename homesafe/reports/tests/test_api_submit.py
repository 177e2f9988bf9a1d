"""Filing a report through the JSON API, following it up with the reference code, and the
mailbox: what is accepted, what is refused (and that a refusal saves nothing)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import h3
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from homesafe.audit.models import AuditEntry
from homesafe.common import geo
from homesafe.reports import codes
from homesafe.reports.models import Message, PoliceResponse, Report, ReportCode

SUBMIT = "/api/reports"
LOOKUP = "/api/reports/lookup"
MESSAGES = "/api/reports/messages"

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
NO_MATCH = "No report matches that code. Check it and try again."

# A point in central Wellington, deliberately off the centre of its res-7 and res-9 cells.
LAT, LNG = -41.28664, 174.77557


def post_json(client: Any, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Report, ReportCode, PoliceResponse, Message, AuditEntry)
    }


def full_report(**overrides: Any) -> dict[str, Any]:
    """A report that answers most questions, including a police-response entry."""
    body: dict[str, Any] = {
        "organisation": "rainbow",
        "reporter_role": "victim",
        "identity_level": "pseudonymous",
        "occurred_on": (timezone.now().date() - dt.timedelta(days=2)).isoformat(),
        "occurred_time": "23:30",
        "place_text": "Outside the kebab shop on Courtenay Place",
        "location": {"lat": LAT, "lng": LNG},
        "location_precision": "about_100m",
        "venue_type": "restaurant_takeaway",
        "incident_types": ["verbal_abuse_slurs", "incitement_mob"],
        "narrative": "A group shouted slurs at us while a crowd filmed.",
        "bias": ["gay"],
        "bias_indicators": ["words_used"],
        "offenders_count": "4_10",
        "bystanders_count": 30,
        "bystander_actions": ["filmed", "helped"],
        "police": {"contacted": "yes", "help_requested": {"escort_home": "refused"}},
        "support_wanted": [],
    }
    body.update(overrides)
    return body


def submit(client: Any, **overrides: Any) -> tuple[str, Report]:
    response = post_json(client, SUBMIT, full_report(**overrides))
    assert response.status_code == 201, response.content
    code = response.json()["reference_code"]
    return code, Report.objects.get(code_hash=codes.code_hash(code))


def all_stored_text() -> str:
    """Every value of every table, as text: what a database dump would show."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        chunks.append(value.decode("latin-1"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


# --- submitting -------------------------------------------------------------------------------

IDENTITIES: dict[str, dict[str, Any]] = {
    "anonymous": {"identity_level": "anonymous"},
    "pseudonymous": {"identity_level": "pseudonymous"},
    "identified": {
        "identity_level": "identified",
        "contact": {"name": "Sam", "email": "sam@example.org", "channel": "email"},
    },
}


@pytest.mark.parametrize("identity", list(IDENTITIES))
@pytest.mark.parametrize("role", ["victim", "witness", "third_party", "organisation"])
def test_it_files_every_kind_of_report(
    client: Any, personas: Any, role: str, identity: str
) -> None:
    before = counts()
    response = post_json(client, SUBMIT, {"reporter_role": role, **IDENTITIES[identity]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert CODE_FORMAT.match(body["reference_code"])
    assert body["status"] == "new"
    report = Report.objects.get()
    assert report.reporter_role == role
    assert report.identity_level == identity
    assert report.organisation == personas.org
    assert report.code_hash == codes.code_hash(body["reference_code"])
    if identity == "identified":
        assert report.contact == {"name": "Sam", "email": "sam@example.org", "channel": "email"}
    else:
        assert report.contact is None
    after = counts()
    assert after["Report"] == before["Report"] + 1
    assert after["AuditEntry"] == before["AuditEntry"] + 1


def test_it_stores_every_answer_of_a_full_report(client: Any, personas: Any) -> None:
    code, report = submit(client, bias=["gay", "transgender"])

    assert report.narrative == "A group shouted slurs at us while a crowd filmed."
    assert report.place_text == "Outside the kebab shop on Courtenay Place"
    assert report.venue_type == "restaurant_takeaway"
    assert report.bystanders_count == 30
    assert report.codes_for("incident_type") == ["incitement_mob", "verbal_abuse_slurs"]
    assert report.codes_for("bias") == ["gay", "transgender"]
    assert report.codes_for("bystander_action") == ["filmed", "helped"]
    police = PoliceResponse.objects.get(report=report)
    assert police.entered_by == "reporter"
    assert police.help_requested == {"escort_home": "refused"}


def test_it_never_stores_the_reference_code(client: Any, personas: Any) -> None:
    code, report = submit(client)
    # Message too, so the mailbox tables hold something to search.
    assert post_json(client, MESSAGES, {"code": code, "body": "hello"}).status_code == 201

    assert report.code_hash == codes.code_hash(code)
    assert len(report.code_hash) == 64
    dump = all_stored_text()
    raw = code.replace("-", "")
    for form in (code, raw, raw.lower(), code.lower()):
        assert form not in dump
    # Narratives are encrypted too: the plaintext is not in the dump either.
    assert "crowd filmed" not in dump


def test_it_prioritises_assaults_and_hospital_visits(client: Any, personas: Any) -> None:
    _, assault = submit(client, incident_types=["physical_assault"])
    _, hospital = submit(client, incident_types=["verbal_abuse_slurs"], injuries="hospitalised")
    assert assault.priority == "high"
    assert hospital.priority == "urgent"


# --- refusals ---------------------------------------------------------------------------------

TOMORROW_PLUS = (dt.date.today() + dt.timedelta(days=5)).isoformat()  # noqa: DTZ011

BAD_INPUTS: dict[str, tuple[dict[str, Any], str]] = {
    # name: (payload, field the problem is reported against; "" for the whole report)
    "missing reporter_role": (
        {k: v for k, v in full_report().items() if k != "reporter_role"}, "reporter_role"
    ),
    "unknown reporter_role": (full_report(reporter_role="bystander"), "reporter_role"),
    "reporter_role as a number": (full_report(reporter_role=1), "reporter_role"),
    "unknown incident type": (full_report(incident_types=["punched"]), "incident_types.0"),
    "unknown bias": (full_report(bias=["gay", "football_fan"]), "bias.1"),
    "unknown venue": (full_report(venue_type="spaceship"), "venue_type"),
    "oversize narrative": (
        full_report(narrative="x" * (settings.REPORT_TEXT_MAX + 1)), "narrative"
    ),
    "bystanders_count as words": (full_report(bystanders_count="lots"), "bystanders_count"),
    "negative bystanders_count": (full_report(bystanders_count=-1), "bystanders_count"),
    "narrative as a list": (full_report(narrative=["a", "b"]), "narrative"),
    "latitude out of range": (full_report(location={"lat": 91, "lng": LNG}), "location.lat"),
    "longitude not a number": (full_report(location={"lat": LAT, "lng": "abc"}), "location.lng"),
    "latitude nan": (full_report(location={"lat": "nan", "lng": LNG}), "location.lat"),
    "longitude infinity": (full_report(location={"lat": LAT, "lng": "inf"}), "location.lng"),
    "location missing lng": (full_report(location={"lat": LAT}), "location.lng"),
    "unknown extra field": (full_report(favourite_colour="blue"), "favourite_colour"),
    "unknown field in contact": (
        full_report(identity_level="identified", contact={"name": "Sam", "shoe": 9}),
        "contact.shoe",
    ),
    "contact with anonymous identity": (
        full_report(identity_level="anonymous", contact={"email": "sam@example.org"}), ""
    ),
    "contact with pseudonymous identity": (
        full_report(identity_level="pseudonymous", contact={"phone": "+64 21 555 0101"}), ""
    ),
    "identified without contact": (full_report(identity_level="identified"), ""),
    "identified with only a channel": (
        full_report(identity_level="identified", contact={"channel": "sms"}), ""
    ),
    "malformed email": (
        full_report(identity_level="identified", contact={"email": "not-an-email"}),
        "contact.email",
    ),
    "duplicate incident types": (
        full_report(incident_types=["spat_on", "spat_on"]), ""
    ),
    "duplicate bias": (full_report(bias=["gay", "lesbian", "gay"]), ""),
    "date in the future": (full_report(occurred_on=TOMORROW_PLUS), "occurred_on"),
    "date not a date": (full_report(occurred_on="last tuesday"), "occurred_on"),
    "precision without a location": (
        full_report(location=None, location_precision="exact"), ""
    ),
    "unknown precision": (full_report(location_precision="street"), "location_precision"),
    "anonymous shared identifiably with police": (
        full_report(identity_level="anonymous", consent_police="identifiable"), ""
    ),
    "unknown police answer": (full_report(police={"officer_attitude": "rude"}),
                              "police.officer_attitude"),
    "body is a list": ([full_report()], ""),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_it_refuses_bad_input_and_saves_nothing(client: Any, personas: Any, case: str) -> None:
    payload, field = BAD_INPUTS[case]
    before = counts()

    response = post_json(client, SUBMIT, payload)

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid"
    assert body["message"]
    assert body["problems"], body
    assert all(p["message"] for p in body["problems"])
    if field:
        assert field in [p["field"] for p in body["problems"]], body
    assert counts() == before


def test_it_explains_consistency_problems_in_plain_words(client: Any, personas: Any) -> None:
    response = post_json(
        client, SUBMIT, full_report(identity_level="anonymous", contact={"email": "a@example.org"})
    )
    assert response.status_code == 422
    messages = " ".join(p["message"] for p in response.json()["problems"])
    assert "contact details can only be given" in messages


def test_it_refuses_an_unknown_organisation_with_400(client: Any, personas: Any) -> None:
    before = counts()
    response = post_json(client, SUBMIT, full_report(organisation="no-such-org"))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid",
        "message": "That organisation does not exist.",
        "field": "organisation",
    }
    assert counts() == before


@pytest.mark.django_db
def test_it_refuses_when_no_organisation_takes_reports(client: Any) -> None:
    before = counts()
    response = post_json(client, SUBMIT, {"reporter_role": "witness"})
    assert response.status_code == 400
    assert response.json()["error"] == "no_organisation"
    assert counts() == before


@pytest.mark.parametrize(
    "raw",
    ['{"reporter_role": "victim"', "reporter_role=victim", "\x00\x01", '{"reporter_role": }'],
)
def test_it_refuses_a_body_that_is_not_json(client: Any, personas: Any, raw: str) -> None:
    before = counts()
    response = client.post(SUBMIT, data=raw, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert "parse" in body["message"].lower()
    assert counts() == before


def test_it_refuses_an_empty_body(client: Any, personas: Any) -> None:
    before = counts()
    response = client.post(SUBMIT, data="", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
    assert counts() == before


def test_it_saves_nothing_when_a_step_fails_half_way(
    client: Any, personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report, its codes and its police entry are written together or not at all."""
    from homesafe.reports import services

    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "audit_append", broken_audit)
    client.raise_request_exception = False
    before = counts()

    response = post_json(client, SUBMIT, full_report())

    assert response.status_code == 500
    assert counts() == before


# --- following up with the code ---------------------------------------------------------------


def test_it_shows_status_and_messages_for_a_code(client: Any, personas: Any) -> None:
    code, report = submit(client)
    post_json(client, MESSAGES, {"code": code, "body": "Is anyone there?"})
    from homesafe.reports.services import mailbox_post_by_caseworker

    mailbox_post_by_caseworker(report=report, user=personas.caseworker, body="Yes, we are here.")

    response = post_json(client, LOOKUP, {"code": code})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "new"
    assert body["status_label"]
    assert [(m["sender"], m["body"]) for m in body["messages"]] == [
        ("reporter", "Is anyone there?"),
        ("caseworker", "Yes, we are here."),
    ]
    # The follow-up view says nothing about the report's contents.
    assert "narrative" not in body and "contact" not in body


def test_it_accepts_a_code_written_sloppily(
    client: Any, personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codes, "new_code", lambda: "A0B1-C2D3-E4F5-G6H7")
    code, _ = submit(client)
    assert code == "A0B1-C2D3-E4F5-G6H7"

    for written in (
        "a0b1-c2d3-e4f5-g6h7",  # lower case
        "A0B1C2D3E4F5G6H7",  # no dashes
        "a0b1 c2d3 e4f5 g6h7",  # spaces
        "AOB1-C2D3-E4F5-G6H7",  # letter O for zero
        "A0BI-C2D3-E4F5-G6H7",  # letter I for one
        "a0bl-c2d3-e4f5-g6h7",  # letter l for one
        "  A0B1-C2D3-E4F5-G6H7  ",  # stray whitespace
    ):
        response = post_json(client, LOOKUP, {"code": written})
        assert response.status_code == 200, written


@pytest.mark.parametrize(
    "wrong",
    [
        "ZZZZ-ZZZZ-ZZZZ-ZZZZ",  # well-formed, matches nothing
        "not a code at all",  # malformed
        "ZZZZ-ZZZZ-ZZZZ-ZZZ",  # one symbol short
        "ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z",  # one symbol long
        "ZZZZ-ZZZZ-ZZZZ-ZZZ!",  # a symbol outside the alphabet
    ],
)
def test_it_answers_wrong_and_malformed_codes_alike(
    client: Any, personas: Any, wrong: str
) -> None:
    submit(client)
    response = post_json(client, LOOKUP, {"code": wrong})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": NO_MATCH}


def test_it_refuses_a_code_too_short_to_be_one(client: Any, personas: Any) -> None:
    response = post_json(client, LOOKUP, {"code": "ABC"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "code"


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_it_never_takes_the_code_in_a_url(client: Any, personas: Any, method: str) -> None:
    code, _ = submit(client)
    response = getattr(client, method)(f"{LOOKUP}?code={code}")
    assert response.status_code == 405
    assert code not in response.content.decode()


def test_it_has_no_route_with_the_code_in_the_path(client: Any, personas: Any) -> None:
    code, _ = submit(client)
    for url in (f"/api/reports/{code}", f"/api/reports/lookup/{code}"):
        assert client.get(url).status_code in (404, 405)
        assert post_json(client, url, {}).status_code in (404, 405)


# --- the reporter's side of the mailbox -------------------------------------------------------


def test_it_takes_a_message_from_the_reporter(client: Any, personas: Any) -> None:
    code, report = submit(client)
    before = counts()

    response = post_json(client, MESSAGES, {"code": code.lower(), "body": "  They came back.  "})

    assert response.status_code == 201
    body = response.json()
    assert body["sender"] == "reporter"
    assert body["body"] == "They came back."
    message = Message.objects.get(report=report)
    assert message.body == "They came back."
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert entry.action == "mailbox.reporter_message"
    assert entry.object_id == str(report.pk)
    assert counts()["Message"] == before["Message"] + 1
    report.refresh_from_db()
    assert report.last_reporter_message_at == message.created_at


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"body": ""}, 422),
        ({"body": "   \n\t "}, 422),
        ({"body": "x" * (settings.REPORT_TEXT_MAX + 1)}, 422),
        ({"body": ["a list"]}, 422),
        ({}, 422),
        ({"body": "hello", "report_id": "abc"}, 422),
    ],
)
def test_it_refuses_a_bad_reporter_message_and_saves_nothing(
    client: Any, personas: Any, body: dict[str, Any], status: int
) -> None:
    code, _ = submit(client)
    before = counts()
    response = post_json(client, MESSAGES, {"code": code, **body})
    assert response.status_code == status
    assert response.json()["message"]
    assert counts() == before


@pytest.mark.parametrize("wrong", ["ZZZZ-ZZZZ-ZZZZ-ZZZZ", "not a code at all"])
def test_it_refuses_a_message_with_a_wrong_code(client: Any, personas: Any, wrong: str) -> None:
    submit(client)
    before = counts()
    response = post_json(client, MESSAGES, {"code": wrong, "body": "hello"})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": NO_MATCH}
    assert counts() == before


def test_it_refuses_a_message_sent_as_a_query_string(client: Any, personas: Any) -> None:
    code, _ = submit(client)
    assert client.get(f"{MESSAGES}?code={code}&body=hi").status_code == 405


# --- location precision -----------------------------------------------------------------------


def stored_cell(report: Report) -> str:
    assert report.h3_cell is not None
    return geo.cell_str(report.h3_cell)


@pytest.mark.parametrize(
    ("precision", "resolution"), [("about_100m", 10), ("neighbourhood", 7), ("city", 5)]
)
def test_it_coarsens_the_point_before_storing_it(
    client: Any, personas: Any, precision: str, resolution: int
) -> None:
    _, report = submit(client, location={"lat": LAT, "lng": LNG}, location_precision=precision)

    report.refresh_from_db()
    assert report.location_precision == precision
    centre_lat, centre_lng = h3.cell_to_latlng(h3.latlng_to_cell(LAT, LNG, resolution))
    assert report.point == {"lat": round(centre_lat, 6), "lng": round(centre_lng, 6)}
    # The statistics cell is derived from the coarsened point, not from the pin.
    kept_cell = h3.latlng_to_cell(report.point["lat"], report.point["lng"], geo.STATS_RESOLUTION)
    assert stored_cell(report) == kept_cell
    assert h3.get_resolution(kept_cell) == geo.STATS_RESOLUTION
    if resolution <= geo.STATS_RESOLUTION:
        assert h3.cell_to_parent(kept_cell, resolution) == h3.latlng_to_cell(LAT, LNG, resolution)


def test_it_does_not_derive_the_cell_from_the_raw_pin(client: Any, personas: Any) -> None:
    _, report = submit(client, location={"lat": LAT, "lng": LNG},
                       location_precision="neighbourhood")
    raw_cell = h3.latlng_to_cell(LAT, LNG, geo.STATS_RESOLUTION)
    # Only meaningful because the pin is off the neighbourhood's centre.
    assert stored_cell(report) != raw_cell
    assert report.point != {"lat": LAT, "lng": LNG}


def test_it_keeps_an_exact_point_when_asked(client: Any, personas: Any) -> None:
    _, report = submit(client, location={"lat": LAT, "lng": LNG}, location_precision="exact")
    report.refresh_from_db()
    assert report.point == {"lat": LAT, "lng": LNG}
    assert stored_cell(report) == h3.latlng_to_cell(LAT, LNG, geo.STATS_RESOLUTION)


def test_it_defaults_to_about_100m_when_a_pin_has_no_precision(client: Any, personas: Any) -> None:
    _, report = submit(client, location={"lat": LAT, "lng": LNG}, location_precision=None)
    report.refresh_from_db()
    assert report.location_precision == "about_100m"
    centre = h3.cell_to_latlng(h3.latlng_to_cell(LAT, LNG, 10))
    assert report.point == {"lat": round(centre[0], 6), "lng": round(centre[1], 6)}


def test_it_keeps_no_point_and_no_cell_when_withheld(client: Any, personas: Any) -> None:
    _, report = submit(client, location={"lat": LAT, "lng": LNG}, location_precision="withhold")
    report.refresh_from_db()
    assert report.location_precision == "withhold"
    assert report.point is None
    assert report.h3_cell is None
    assert str(LAT) not in all_stored_text()


def test_it_keeps_no_point_without_a_location(client: Any, personas: Any) -> None:
    _, report = submit(client, location=None, location_precision=None)
    report.refresh_from_db()
    assert report.location_precision == "withhold"
    assert report.point is None
    assert report.h3_cell is None


# --- rate limits ------------------------------------------------------------------------------


@override_settings(RATELIMIT_ENABLE=True)
def test_it_rate_limits_code_guessing(client: Any, personas: Any) -> None:
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        for _attempt in range(30):
            response = post_json(client, LOOKUP, {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
            assert response.status_code == 404
        response = post_json(client, LOOKUP, {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
        assert response.status_code == 429
        assert response.json()["error"] == "rate_limited"
        # The mailbox shares the budget: guessing there is no way around it.
        response = post_json(client, MESSAGES, {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "body": "hi"})
        assert response.status_code == 429
        # Another address has its own budget.
        other = client.post(LOOKUP, data=json.dumps({"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}),
                            content_type="application/json", REMOTE_ADDR="198.51.100.7")
        assert other.status_code == 404
