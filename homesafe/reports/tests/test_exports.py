"""Exports: the queue as CSV (exactly the queue's reports, personal data only for org admins)
and the case file PDF (only what consent shares, evidence hashes, no personal metadata)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
from typing import Any

import pytest

from homesafe.audit.models import AuditEntry
from homesafe.audit.services import audit_verify
from homesafe.reports import exports, selectors, services
from homesafe.reports.models import Report
from homesafe.reports.schemas import PoliceIn
from homesafe.reports.tests.test_police_liaison import (
    DESCRIPTION,
    NAME,
    NARRATIVE,
    PLACE,
    pdf_text,
    shared_report,
    submit,
)

INCIDENTS = ["verbal_abuse_slurs", "physical_assault", "spat_on", "online_abuse"]
BIASES = ["gay", "transgender", "lesbian"]


@pytest.fixture
def many_reports(personas: Any) -> list[Report]:
    """31 varied reports (more than a page of the queue) plus some the queue must not show."""
    reports = []
    for i in range(31):
        report, _code = submit(
            personas.org,
            incident_types=[INCIDENTS[i % 4]],
            bias=[BIASES[i % 3]],
            occurred_on=(dt.date(2026, 1, 1) + dt.timedelta(days=9 * i)).isoformat(),
            narrative=f"Narrative number {i}",
        )
        reports.append(report)
    for i, report in enumerate(reports):
        Report.objects.filter(pk=report.pk).update(
            status=["new", "triaged", "in_support", "closed"][i % 4],
            priority=["urgent", "high", "normal", "low", "normal"][i % 5],
            priority_rank=[0, 1, 2, 3, 2][i % 5],
            assignee=personas.caseworker if i % 3 == 0 else None,
        )
    submit(personas.org, consent_caseworkers=False)  # never in the queue
    submit(personas.other_org)  # another organisation's
    return reports


def web_queue_ids(client: Any, query: dict[str, str]) -> list[str]:
    ids: list[str] = []
    page = 1
    while True:
        response = client.get("/case/", {**query, "page": page})
        assert response.status_code == 200
        html = response.content.decode()
        ids += re.findall(r'href="/case/([0-9a-f-]{36})/" data-case-link', html)
        if not response.context["page"].has_next():
            return ids
        page += 1


def csv_rows(client: Any, query: dict[str, str]) -> list[dict[str, str]]:
    response = client.get("/case/export.csv", query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


FILTERS = [
    {},
    {"status": "triaged"},
    {"priority": "normal"},
    {"bias": "gay", "status": "new"},
    {"incident_type": "spat_on"},
    {"date_from": "2026-03-01", "date_to": "2026-06-30"},
    {"assignee": "me", "priority": "urgent"},
    {"assignee": "none", "incident_type": "verbal_abuse_slurs", "bias": "transgender"},
    {"status": "bogus", "priority": "normal"},  # an unknown value counts as no filter, in both
    {"date_from": "not-a-date", "bias": "lesbian"},
]


def filter_id(query: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in query.items()) or "all"


@pytest.mark.parametrize("query", FILTERS, ids=filter_id)
def test_it_exports_exactly_the_queues_reports(
    client: Any, personas: Any, verified_login: Any, many_reports: list[Report],
    query: dict[str, str],
) -> None:
    verified_login(client, personas.caseworker)
    queue = web_queue_ids(client, query)
    rows = csv_rows(client, query)
    assert [r["id"] for r in rows] == queue  # same reports, same order, every page
    if not query:
        assert len(rows) == 31
    entry = AuditEntry.objects.filter(action="queue.export_csv").latest("seq")
    assert (entry.actor_id, entry.data["rows"], entry.data["personal_data"]) == (
        personas.caseworker.pk, len(rows), False)


def test_it_leaves_personal_data_out_of_the_csv(
    client: Any, personas: Any, verified_login: Any
) -> None:
    shared_report(personas.org, "identifiable")
    verified_login(client, personas.caseworker)
    response = client.get("/case/export.csv")
    text = response.content.decode()
    for secret in (NARRATIVE, NAME, PLACE, "tane@example.org", "-41.29512"):
        assert secret not in text
    assert "narrative" not in text.splitlines()[0]


def test_it_refuses_personal_data_to_a_caseworker(
    client: Any, personas: Any, verified_login: Any
) -> None:
    shared_report(personas.org, "identifiable")
    verified_login(client, personas.caseworker)
    before = AuditEntry.objects.count()
    response = client.get("/case/export.csv", {"personal": "1"})
    assert response.status_code == 403
    assert "organisation admin" in response.content.decode()
    assert AuditEntry.objects.count() == before
    # The queue page offers the choice to admins only.
    assert b'name="personal"' not in client.get("/case/").content


def test_it_lets_an_org_admin_export_personal_data_audited(
    client: Any, personas: Any, verified_login: Any
) -> None:
    from homesafe.accounts.models import Role
    from homesafe.accounts.services import membership_grant

    report, _code = shared_report(personas.org, "identifiable")
    foreign, _code = shared_report(personas.other_org, "identifiable")
    # Caseworker of the other organisation too, admin of this one only.
    membership_grant(user=personas.admin, organisation=personas.other_org, role=Role.CASEWORKER)
    verified_login(client, personas.admin)
    assert b'name="personal"' in client.get("/case/").content
    rows = {r["id"]: r for r in csv_rows(client, {"personal": "1"})}
    assert rows[str(report.pk)]["narrative"] == NARRATIVE
    assert rows[str(report.pk)]["contact_name"] == NAME
    assert rows[str(report.pk)]["place_text"] == PLACE
    assert rows[str(foreign.pk)]["narrative"] == "" and rows[str(foreign.pk)]["contact_name"] == ""
    entry = AuditEntry.objects.filter(action="queue.export_csv").latest("seq")
    assert entry.actor_id == personas.admin.pk and entry.data["personal_data"] is True
    assert NARRATIVE not in str(entry.data)


def test_it_defuses_spreadsheet_formulas(client: Any, personas: Any, verified_login: Any) -> None:
    submit(personas.org, narrative="=HYPERLINK(\"http://evil.example\")")
    verified_login(client, personas.admin)
    rows = csv_rows(client, {"personal": "1"})
    assert rows[0]["narrative"].startswith("'=")


def test_it_needs_a_case_role_and_second_factor_for_the_csv(
    client: Any, personas: Any, verified_login: Any
) -> None:
    assert client.get("/case/export.csv").status_code == 302
    client.force_login(personas.caseworker)
    assert "/account/mfa/verify/" in client.get("/case/export.csv")["Location"]
    verified_login(client, personas.police)
    assert client.get("/case/export.csv").status_code == 404


# --- the case file PDF ---------------------------------------------------------------------------


def test_it_builds_an_identifiable_case_file(
    client: Any, personas: Any, verified_login: Any, tmp_path: Any
) -> None:
    report, _code = shared_report(personas.org, "identifiable")
    services.police_response_add(
        report=report, entry=PoliceIn(police_reference="P0REF777", investigation="open"),
        entered_by="caseworker", author=personas.caseworker,
    )
    verified_login(client, personas.caseworker)
    response = client.get(f"/case/{report.pk}/case-file.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="case-file-{report.pk}.pdf"'
    text = " ".join(pdf_text(response.content, tmp_path).split())
    for shown in (NARRATIVE, NAME, "tane@example.org", "P0REF777", "Verbal abuse or slurs",
                  "Being gay", "identifiable"):
        assert shown in text, shown
    entry = AuditEntry.objects.filter(action="report.export_pdf").latest("seq")
    assert (entry.actor_id, entry.object_id) == (personas.caseworker.pk, str(report.pk))
    assert entry.data["shared_as"] == "identifiable" and entry.data["via"] == "casework"


def test_it_builds_an_anonymised_case_file(
    client: Any, personas: Any, verified_login: Any, tmp_path: Any
) -> None:
    report, _code = shared_report(personas.org, "anonymised")
    services.police_response_add(
        report=report, entry=PoliceIn(police_reference="P0REF777", alternative_offered="A cab"),
        entered_by="reporter",
    )
    services.police_response_add(
        report=report, entry=PoliceIn(police_reference="P0POLICE1"), entered_by="police",
        author=personas.police,
    )
    verified_login(client, personas.police)
    response = client.get(f"/police/{report.pk}/case-file.pdf")
    assert response.status_code == 200
    text = " ".join(pdf_text(response.content, tmp_path).split())
    for hidden in (NARRATIVE, NAME, PLACE, DESCRIPTION, "P0REF777", "A cab", "-41.29512"):
        assert hidden not in text, hidden
    assert "anonymised" in text and "withheld" in text
    assert "P0POLICE1" in text  # what the police wrote themselves
    assert "Just the neighbourhood" in text


def test_it_refuses_a_case_file_without_police_consent(
    client: Any, personas: Any, verified_login: Any
) -> None:
    report, _code = shared_report(personas.org, "none")
    verified_login(client, personas.caseworker)
    response = client.get(f"/case/{report.pk}/case-file.pdf")
    assert response.status_code == 403
    assert "not agreed to share this report with police" in response.content.decode()
    assert not AuditEntry.objects.filter(action="report.export_pdf").exists()
    assert "no case file can be made" in client.get(f"/case/{report.pk}/").content.decode()


def test_it_keeps_personal_data_out_of_the_pdf_metadata(
    personas: Any, tmp_path: Any
) -> None:
    report, _code = shared_report(personas.org, "identifiable")
    pdf = exports.case_file_pdf(report=report, user=personas.caseworker, via="casework")
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    assert "Title:           homesafe case file" in info
    for secret in (NAME, "Tane", NARRATIVE[:20], PLACE[:15], str(report.pk)):
        assert secret not in info
    # The document renders: a real page image, not an empty one.
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 5000


def test_it_lists_evidence_hashes_and_custody_in_the_case_file(
    personas: Any, tmp_path: Any
) -> None:
    report, _code = shared_report(personas.org, "anonymised")
    items = [{
        "item": "5f0c2d7e-0000-4000-8000-000000000001",
        "kind": "video",
        "mime": "video/mp4",
        "sha256": "ab" * 32,
        "size": 48213,
        "received_at": report.reported_at,
        "custody": [{"seq": 4, "at": report.reported_at, "action": "receive",
                     "actor_kind": "reporter", "actor_id": None, "entry_hash": "cd" * 32}],
    }]
    pdf = exports._render_case_file(report, selectors.police_view(report), items)
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert ("ab" * 16) in text and "48213 bytes" in text and "receive" in text
    assert "5f0c2d7e-0000-4000-8000-000000000001" in text and ("cd" * 8) in text


def upload_png(report: Report) -> Any:
    """A real upload through the evidence locker's services (hashed, encrypted, logged)."""
    from PIL import Image

    from homesafe.evidence.access import UploadTarget
    from homesafe.evidence.services import upload_append, upload_begin

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 90)).save(out, "PNG")
    data = out.getvalue()
    upload, _upload_id = upload_begin(
        target=UploadTarget(report=report, source="followup"),
        filename="photo.png", size=len(data), content_type="image/png",
    )
    result = upload_append(upload=upload, offset=0, body=io.BytesIO(data), length=len(data))
    assert result.item is not None
    return result.item


def test_it_lists_real_evidence_and_enters_each_export_in_its_custody_trail(
    client: Any, personas: Any, verified_login: Any, tmp_path: Any
) -> None:
    from homesafe.evidence.selectors import custody_trail

    report, _code = shared_report(personas.org, "anonymised")
    items = [upload_png(report), upload_png(report)]
    verified_login(client, personas.police)
    response = client.get(f"/police/{report.pk}/case-file.pdf")
    assert response.status_code == 200
    text = " ".join(pdf_text(response.content, tmp_path).split())
    for item in items:
        assert str(item.pk) in text and item.sha256[:32] in text
        exports_of_item = [c for c in custody_trail(item) if c["action"] == "export"]
        assert [(c["actor_kind"], c["actor_id"]) for c in exports_of_item] == [
            ("user", personas.police.pk)]
    pdf_entry = AuditEntry.objects.filter(action="report.export_pdf").latest("seq")
    assert pdf_entry.data["evidence_items"] == 2 and pdf_entry.data["via"] == "police_liaison"
    assert audit_verify().ok
