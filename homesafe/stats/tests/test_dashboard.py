"""The organisation dashboard, case summaries and the police-meeting pack."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import h3
import pytest
import time_machine
from django.urls import reverse

from homesafe.common import geo
from homesafe.stats.models import CaseSummary
from homesafe.stats.tests.factories import cell_near, make_report

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
FEB = dt.date(2026, 2, 10)
POLICE = {
    "contacted": "yes",
    "contact_method": "emergency_call",
    "minutes_to_arrive": 12,
    "help_requested": {"escort_home": "refused"},
    "recording": "recorded_as_hate_crime",
}


def _approved_and_draft_summaries(personas) -> None:  # type: ignore[no-untyped-def]
    """One summary approved for February and one still a draft."""
    CaseSummary.objects.create(
        organisation=personas.org,
        month="2026-02",
        title="Approved story",
        summary="An anonymised account.",
        approved_by=personas.admin,
        approved_at=NOW,
    )
    CaseSummary.objects.create(
        organisation=personas.org, month="2026-02", title="Draft story", summary="Not yet."
    )


@pytest.fixture
def reports(personas):  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        made = [make_report(personas.org, day=FEB, bias=("gay",), police=POLICE) for _ in range(3)]
        made += [make_report(personas.org, day=FEB, bias=("transgender",)) for _ in range(2)]
        made.append(make_report(personas.other_org, day=FEB, bias=("gay",)))
    return made


def _get(client, url, **params):  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        return client.get(url, params)


def test_it_lets_only_verified_case_staff_in(personas, client, verified_login, reports) -> None:
    url = reverse("stats:dashboard")
    assert _get(client, url).status_code == 302  # anonymous: to the login
    client.force_login(personas.caseworker)  # no second factor yet
    assert "mfa" in _get(client, url)["Location"]
    for outsider in (personas.member, personas.volunteer, personas.police, personas.stranger):
        client.logout()
        verified_login(client, outsider)
        assert _get(client, url).status_code == 404
    verified_login(client, personas.caseworker)
    assert _get(client, url).status_code == 200
    # Another organisation's slug is not reachable for this caseworker.
    assert _get(client, url, org=personas.other_org.slug).status_code == 404


def test_it_shows_exact_weekly_street_level_figures_with_queue_drill_down(
    personas, client, verified_login, reports
) -> None:
    verified_login(client, personas.caseworker)
    response = _get(
        client, reverse("stats:dashboard"), date_from="2026-01-01", date_to="2026-03-14"
    )
    assert response.status_code == 200
    ctx = response.context
    assert ctx["total"] == 5  # exact: the other organisation's report is not here
    assert sum(v for _w, v in ctx["weekly"]) == 5
    bias = next(t for t in ctx["tables"] if t["id"] == "dash-bias")
    assert [(r["code"], r["value"]) for r in bias["rows"]] == [("gay", 3), ("transgender", 2)]
    assert "/case/?" in bias["rows"][0]["queue"]
    assert (
        "bias=gay" in bias["rows"][0]["queue"]
        and "date_from=2026-01-01" in bias["rows"][0]["queue"]
    )
    assert ctx["police_rows"][2]["count"] == 3  # help refused
    (feature,) = ctx["street_map"]["features"]
    assert feature["properties"]["value"] == 5
    # A filter narrows the exact figures.
    only = _get(client, reverse("stats:dashboard"), date_from="2026-01-01", bias="transgender")
    assert only.context["total"] == 2


def test_it_answers_bad_dashboard_filters_with_a_400(personas, client, verified_login) -> None:
    verified_login(client, personas.caseworker)
    url = reverse("stats:dashboard")
    for params in (
        {"date_from": "yesterday"},
        {"bias": "x"},
        {"date_from": "2026-03-01", "date_to": "2026-01-01"},
    ):
        assert _get(client, url, **params).status_code == 400


def test_it_needs_an_org_admin_to_publish(personas, client, verified_login, reports) -> None:
    from homesafe.stats.models import StatsRelease

    verified_login(client, personas.caseworker)
    with time_machine.travel(NOW, tick=False):
        assert client.post(reverse("stats:publish")).status_code == 404
        assert StatsRelease.objects.count() == 0
        client.logout()
        verified_login(client, personas.admin)
        assert client.post(reverse("stats:publish"), {"epsilon": "lots"}).status_code == 400
        assert StatsRelease.objects.count() == 0
        assert client.post(reverse("stats:publish")).status_code == 302
    assert StatsRelease.objects.count() == 1


def test_it_takes_case_summaries_and_needs_someone_else_to_approve(
    personas, client, verified_login
) -> None:
    verified_login(client, personas.caseworker)
    url = reverse("stats:summaries")
    bad = client.post(url, {"month": "2026-02-30", "title": "A night", "summary": "x"})
    assert bad.status_code == 400 and CaseSummary.objects.count() == 0
    bad = client.post(url, {"month": "2026-02", "title": "", "summary": "x"})
    assert bad.status_code == 400 and CaseSummary.objects.count() == 0
    ok = client.post(url, {"month": "2026-02", "title": "After Pride", "summary": "Two men..."})
    assert ok.status_code == 302
    summary = CaseSummary.objects.get()
    approve = reverse("stats:approve", args=[summary.pk])
    client.post(approve)
    summary.refresh_from_db()
    assert summary.approved_at is None  # the author cannot approve their own summary
    client.logout()
    verified_login(client, personas.admin)
    client.post(approve)
    summary.refresh_from_db()
    assert summary.approved_by == personas.admin and summary.approved_at is not None
    assert client.post(reverse("stats:approve", args=["nope"])).status_code == 404
    assert client.post(reverse("stats:approve", args=[uuid.uuid4()])).status_code == 404
    client.logout()
    verified_login(client, personas.other_caseworker)
    assert client.post(approve, {"org": personas.org.slug}).status_code == 404


def test_it_builds_the_pack_under_the_public_rules(personas, client, verified_login) -> None:
    with time_machine.travel(NOW, tick=False):
        for i in range(14):
            make_report(personas.org, day=FEB, police=POLICE, cell=cell_near(i % 2))
        _approved_and_draft_summaries(personas)
    verified_login(client, personas.caseworker)
    pdf = _get(client, reverse("stats:pack_pdf"), **{"from": "2025-12", "to": "2026-02"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Type"] == "application/pdf"
    whole = _get(client, reverse("stats:pack_csv"), **{"from": "2025-12", "to": "2026-02"})
    area = h3.cell_to_parent(geo.cell_str(cell_near(0)), 6)
    part = _get(
        client, reverse("stats:pack_csv"), **{"from": "2025-12", "to": "2026-02", "area": area}
    )
    rows = {}
    for name, response in (("whole", whole), ("part", part)):
        assert response.status_code == 200
        table = list(csv.reader(io.StringIO(response.content.decode())))[1:]
        rows[name] = {tuple(r[:3]): int(r[3]) for r in table if r[0] != "map"}
        assert all(int(r[3]) % 5 == 0 for r in table)
    # Two pack filters (all areas, one area) never subtract to 1..k-1.
    for key in rows["whole"]:
        assert (rows["whole"][key] - rows["part"].get(key, 0)) % 5 == 0
    for params in (
        {"from": "2026-02", "to": "2025-12"},
        {"from": "2026-13"},
        {"area": "zzz"},
        {"from": "2026-03"},
    ):
        assert _get(client, reverse("stats:pack_pdf"), **params).status_code == 400


def test_the_pack_pdf_holds_approved_summaries_only(personas, settings) -> None:
    from homesafe.stats import dashboard, pdf, selectors

    with time_machine.travel(NOW, tick=False):
        for _ in range(6):
            make_report(personas.org, day=FEB, police=POLICE)
        _approved_and_draft_summaries(personas)
        payload = dashboard.pack_release(personas.org, ("2026-01", "2026-02"), "")
    chosen = selectors.approved_summaries(personas.org, tuple(payload["months"]))
    assert [s.title for s in chosen] == ["Approved story"]
    body = pdf.briefing_pdf(personas.org, payload, chosen)
    assert body.startswith(b"%PDF") and len(body) > 2000
    # It renders: every page turns into a real picture, and the text holds only what was
    # approved. The first page is kept in test-artifacts to be looked at.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pack.pdf"
        path.write_bytes(body)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "Approved story" in text and "Draft story" not in text
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), f"{tmp}/page"], check=True)
        pages = sorted(Path(tmp).glob("page*.png"))
        assert pages and all(p.stat().st_size > 5000 for p in pages)
        out = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(pages[0], out / "stats-pack-page1.png")


def test_an_org_admin_sets_k_and_dp_and_bad_values_change_nothing(
    personas, client, verified_login
) -> None:
    from homesafe.stats.models import StatsSettings

    url = reverse("stats:settings")
    verified_login(client, personas.caseworker)
    assert client.post(url, {"k": "10"}).status_code == 404
    client.logout()
    verified_login(client, personas.admin)
    assert client.post(url, {"k": "10", "release_epsilon": "0.5"}).status_code == 302
    row = StatsSettings.objects.get(organisation=personas.org)
    assert (row.k, row.release_epsilon) == (10, 0.5)
    for bad in (
        {"k": "1"},
        {"k": "ten"},
        {"map_resolution": "12"},
        {"release_epsilon": "-1"},
        {"yearly_epsilon_budget": "0"},
    ):
        assert client.post(url, {"k": "7", **bad}).status_code == 400
    row.refresh_from_db()
    assert (row.k, row.release_epsilon, row.map_resolution) == (10, 0.5, 8)
    # Empty epsilon turns differential privacy off again.
    client.post(url, {"k": "10", "release_epsilon": ""})
    row.refresh_from_db()
    assert row.release_epsilon is None
