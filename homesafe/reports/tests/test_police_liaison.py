"""Police liaison access and consent: who sees which report, how much of it, and how a
reporter's change of mind takes effect at once everywhere (list, detail, PDF, CSV, API)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from typing import Any

import pytest

from homesafe.accounts.models import Role
from homesafe.accounts.services import membership_grant
from homesafe.audit.models import AuditEntry
from homesafe.audit.services import audit_verify
from homesafe.reports import services
from homesafe.reports.models import Report
from homesafe.reports.schemas import PoliceIn, ReportIn

NARRATIVE = "Three men shouted at us outside the kebab shop on Vivian Street."
NAME = "Tane Example"
PLACE = "Outside the kebab shop, 12 Vivian Street"
DESCRIPTION = "Tall, grey hoodie, tattoo of an anchor."


def submit(org: Any, **fields: Any) -> tuple[Report, str]:
    data = ReportIn.model_validate({"reporter_role": "victim", "organisation": org.slug, **fields})
    submitted = services.report_submit(data=data)
    return submitted.report, submitted.reference_code


def shared_report(org: Any, consent: str) -> tuple[Report, str]:
    identified = consent == "identifiable"
    extra: dict[str, Any] = (
        {"identity_level": "identified", "contact": {"name": NAME, "email": "tane@example.org"}}
        if identified
        else {"identity_level": "pseudonymous"}
    )
    return submit(
        org,
        consent_police=consent,
        narrative=NARRATIVE,
        place_text=PLACE,
        location={"lat": -41.29512, "lng": 174.77391},
        location_precision="exact",
        offender_description=DESCRIPTION,
        incident_types=["verbal_abuse_slurs"],
        bias=["gay"],
        occurred_on="2026-03-15",
        **extra,
    )


@pytest.fixture
def world(personas: Any) -> dict[str, Any]:
    ident, ident_code = shared_report(personas.org, "identifiable")
    anon, anon_code = shared_report(personas.org, "anonymised")
    unshared, _c = shared_report(personas.org, "none")
    foreign, _c = shared_report(personas.other_org, "identifiable")
    other_police = personas.make_user("other-police@example.org", staff=True)
    membership_grant(user=other_police, organisation=personas.other_org, role=Role.POLICE_LIAISON)
    return {
        "ident": ident,
        "ident_code": ident_code,
        "anon": anon,
        "anon_code": anon_code,
        "none": unshared,
        "foreign": foreign,
        "other_police": other_police,
    }


def list_ids_web(client: Any) -> set[str]:
    response = client.get("/police/")
    assert response.status_code == 200
    return {item["id"] for item in response.context["items"]}


def list_ids_api(client: Any) -> set[str]:
    response = client.get("/api/case/police/reports")
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()}


def pdf_text(pdf: bytes, tmp_path: Any) -> str:
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


# --- the liaison sees exactly the consented reports ------------------------------------------


def test_it_lists_only_consented_reports_of_the_liaisons_organisation(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any]
) -> None:
    verified_login(client, personas.police)
    expected = {str(world["ident"].pk), str(world["anon"].pk)}
    assert list_ids_web(client) == expected
    assert list_ids_api(client) == expected
    page = client.get("/police/").content.decode()
    # The list carries codes and dates only: no narrative, place or name.
    for secret in (NARRATIVE, PLACE, NAME):
        assert secret not in page


@pytest.mark.parametrize("which", ["ident", "anon"])
@pytest.mark.parametrize("api", [False, True])
def test_it_shows_a_shared_report_as_consented(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any], which: str, api: bool
) -> None:
    verified_login(client, personas.police)
    report = world[which]
    if api:
        response = client.get(f"/api/case/police/reports/{report.pk}")
        assert response.status_code == 200
        body = response.json()
        text = json.dumps(body)
        assert body["shared_as"] == ("identifiable" if which == "ident" else "anonymised")
    else:
        response = client.get(f"/police/{report.pk}/")
        assert response.status_code == 200
        text = response.content.decode()
    if which == "ident":
        for shown in (NARRATIVE, NAME, PLACE, DESCRIPTION, "-41.29512"):
            assert shown in text
    else:
        for hidden in (NARRATIVE, NAME, "tane@example.org", PLACE, DESCRIPTION, "-41.29512"):
            assert hidden not in text
        if api:
            assert body["narrative"] is None and body["contact"] is None
            assert body["area"]["precision"] == "neighbourhood"
            # The coarse centre is kilometres from the pin, not metres.
            assert abs(body["area"]["lat"] - -41.29512) + abs(body["area"]["lng"] - 174.77391) > 0


@pytest.mark.parametrize("which", ["none", "foreign"])
def test_it_hides_unshared_and_foreign_reports_from_the_liaison(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any], which: str
) -> None:
    verified_login(client, personas.police)
    rid = world[which].pk
    before = AuditEntry.objects.count()
    assert client.get(f"/police/{rid}/").status_code == 404
    assert client.get(f"/police/{rid}/case-file.pdf").status_code == 404
    assert client.get(f"/api/case/police/reports/{rid}").status_code == 404
    posted = client.post(f"/police/{rid}/update/", {"police_investigation": "open"})
    assert posted.status_code == 404
    assert world[which].police_responses.count() == 0
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    "role", ["anonymous", "stranger", "member", "volunteer", "caseworker", "admin",
             "other_caseworker", "other_police"]
)
def test_it_keeps_everyone_else_out_of_the_liaison_pages(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any], role: str
) -> None:
    if role == "other_police":
        verified_login(client, world["other_police"])
    elif role != "anonymous":
        verified_login(client, getattr(personas, role))
    rid = world["ident"].pk
    web = [client.get("/police/"), client.get(f"/police/{rid}/"),
           client.get(f"/police/{rid}/case-file.pdf")]
    api = [client.get("/api/case/police/reports"), client.get(f"/api/case/police/reports/{rid}")]
    if role == "anonymous":
        assert all(r.status_code == 302 for r in web)
        assert all(r.status_code == 401 for r in api)
    elif role == "other_police":
        # A liaison of another organisation sees its own organisation's shared report only.
        foreign = [str(world["foreign"].pk)]
        assert web[0].status_code == 200
        assert [i["id"] for i in web[0].context["items"]] == foreign
        assert [r.status_code for r in web[1:]] == [404, 404]
        assert [i["id"] for i in api[0].json()] == foreign and api[1].status_code == 404
    else:
        assert all(r.status_code == 404 for r in web), [r.status_code for r in web]
        assert all(r.status_code == 404 for r in api)


def test_it_lets_the_reporter_follow_but_not_reach_police_pages(
    client: Any, personas: Any, world: dict[str, Any]
) -> None:
    assert client.post("/follow-up/", {"code": world["anon_code"]}).status_code == 302
    page = client.get("/follow-up/")
    assert page.status_code == 200
    assert client.get(f"/police/{world['anon'].pk}/").status_code == 302  # to the login page
    assert client.get(f"/case/{world['anon'].pk}/case-file.pdf").status_code == 302


# --- second factor and audit -----------------------------------------------------------------


def test_it_requires_the_liaisons_second_factor(
    client: Any, personas: Any, world: dict[str, Any]
) -> None:
    login = client.post(
        "/account/login/", {"email": personas.police.email, "password": personas.password}
    )
    assert login.status_code == 302
    assert login["Location"].startswith("/account/mfa/verify/?next=/police/")
    rid = world["ident"].pk
    for url in ("/police/", f"/police/{rid}/", f"/police/{rid}/case-file.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and "/account/mfa/verify/" in response["Location"]
    refused = client.get(f"/api/case/police/reports/{rid}")
    assert refused.status_code == 403 and refused.json()["error"] == "mfa_required"
    posted = client.post(f"/police/{rid}/update/", {"police_investigation": "open"})
    assert posted.status_code == 302
    assert world["ident"].police_responses.count() == 0

    verified = client.post("/account/mfa/verify/?next=/police/",
                           {"token": personas.totp_now(personas.police)})
    assert verified.status_code == 302 and verified["Location"] == "/police/"
    assert client.get(f"/police/{rid}/").status_code == 200
    assert client.get(f"/api/case/police/reports/{rid}").status_code == 200


def test_it_audits_every_liaison_view(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any]
) -> None:
    verified_login(client, personas.police)
    rid = str(world["anon"].pk)
    calls = [
        (lambda: client.get("/police/"), "police.list_view"),
        (lambda: client.get("/api/case/police/reports"), "police.list_view"),
        (lambda: client.get(f"/police/{rid}/"), "report.police_view"),
        (lambda: client.get(f"/api/case/police/reports/{rid}"), "report.police_view"),
        (lambda: client.get(f"/police/{rid}/case-file.pdf"), "report.police_export"),
        (lambda: client.post(f"/police/{rid}/update/", {"police_investigation": "open"}),
         "report.police_update"),
    ]
    for call, action in calls:
        last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        assert call().status_code in (200, 302)
        entries = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq"))
        assert entries[0].action == action
        assert (entries[0].actor_kind, entries[0].actor_id) == ("user", personas.police.pk)
        for entry in entries:
            assert NARRATIVE not in json.dumps(entry.data)
        if action.startswith("report."):
            assert entries[0].object_id == rid
            assert entries[0].data["shared_as"] == "anonymised"
        else:
            assert rid in entries[0].data["shown"]
    assert audit_verify().ok


# --- revocation takes effect at once -----------------------------------------------------------


def change_consent(client: Any, code: str, police: str, caseworkers: str = "yes") -> None:
    assert client.post("/follow-up/", {"code": code}).status_code == 302
    response = client.post(
        "/follow-up/consent/",
        {"consent_caseworkers": caseworkers, "consent_police": police, "consent_statistics": "no"},
    )
    assert response.status_code == 302


def test_it_applies_a_revocation_at_once_everywhere(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any], tmp_path: Any
) -> None:
    from django.test import Client

    police, caseworker, reporter = Client(), Client(), Client()
    verified_login(police, personas.police)
    verified_login(caseworker, personas.caseworker)
    report = world["ident"]
    rid = report.pk

    # Shared identifiably: everything the reporter allowed is there.
    assert str(rid) in list_ids_web(police) and str(rid) in list_ids_api(police)
    assert NARRATIVE in police.get(f"/police/{rid}/").content.decode()
    pdf = police.get(f"/police/{rid}/case-file.pdf")
    assert pdf.status_code == 200 and NAME in pdf_text(pdf.content, tmp_path)
    assert caseworker.get(f"/case/{rid}/case-file.pdf").status_code == 200

    # Downgraded to anonymised: the very next reads drop identity and free text.
    change_consent(reporter, world["ident_code"], "anonymised")
    assert NARRATIVE not in police.get(f"/police/{rid}/").content.decode()
    assert police.get(f"/api/case/police/reports/{rid}").json()["contact"] is None
    text = pdf_text(police.get(f"/police/{rid}/case-file.pdf").content, tmp_path)
    assert NAME not in text and NARRATIVE not in text and "anonymised" in text
    text = pdf_text(caseworker.get(f"/case/{rid}/case-file.pdf").content, tmp_path)
    assert NAME not in text and NARRATIVE not in text

    # Revoked: gone from the liaison's list, detail, PDF and API; the PDF is refused to staff.
    change_consent(reporter, world["ident_code"], "none")
    assert str(rid) not in list_ids_web(police) and str(rid) not in list_ids_api(police)
    assert police.get(f"/police/{rid}/").status_code == 404
    assert police.get(f"/police/{rid}/case-file.pdf").status_code == 404
    assert police.get(f"/api/case/police/reports/{rid}").status_code == 404
    refused = caseworker.get(f"/case/{rid}/case-file.pdf")
    assert refused.status_code == 403
    assert "not agreed to share" in refused.content.decode()
    rows = list(csv.DictReader(io.StringIO(caseworker.get("/case/export.csv").content.decode())))
    assert next(r for r in rows if r["id"] == str(rid))["consent_police"] == "none"

    # Caseworkers' consent withdrawn: the CSV and the queue drop it at once as well.
    change_consent(reporter, world["ident_code"], "none", caseworkers="no")
    rows = list(csv.DictReader(io.StringIO(caseworker.get("/case/export.csv").content.decode())))
    assert str(rid) not in {r["id"] for r in rows}
    assert caseworker.get(f"/api/case/reports/{rid}").status_code == 404

    # Shared again: back at once.
    change_consent(reporter, world["ident_code"], "identifiable")
    assert str(rid) in list_ids_api(police)
    assert police.get(f"/police/{rid}/").status_code == 200
    assert Report.objects.get(pk=rid).consent_police == "identifiable"


def test_it_reads_the_liaison_list_in_a_bounded_number_of_queries(
    client: Any, personas: Any, verified_login: Any, world: dict[str, Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    verified_login(client, personas.police)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    queries("/police/")  # the first request of a session also writes the session
    few = (queries("/police/"), queries("/api/case/police/reports"))
    for _ in range(6):
        report, _code = shared_report(personas.org, "anonymised")
        services.police_response_add(report=report, entry=PoliceIn(investigation="open"),
                                     entered_by="police", author=personas.police)
    assert (queries("/police/"), queries("/api/case/police/reports")) == few
