"""In real headless Chromium on a phone: the police liaison logs in with their second factor,
reads a report shared anonymised, adds a police-side update; the reporter then revokes consent
and the liaison's next page load no longer has the report. axe-core checks each page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import PHONE, Personas, axe_violations, screenshot

pytestmark = pytest.mark.browser

NARRATIVE = "A man followed me from the bus stop shouting slurs."


def _no_serious_violations(page: Any, where: str) -> None:
    found = axe_violations(page)
    assert not found, (where, [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found])


def test_it_lets_the_liaison_work_a_shared_report_until_consent_ends(
    asgi_server: Any, chromium: Any
) -> None:
    from homesafe.reports import services
    from homesafe.reports.models import PoliceResponse
    from homesafe.reports.schemas import ReportIn

    personas = Personas()
    submitted = services.report_submit(
        data=ReportIn.model_validate({
            "reporter_role": "victim", "organisation": personas.org.slug,
            "consent_police": "anonymised", "narrative": NARRATIVE,
            "incident_types": ["followed_pursued", "verbal_abuse_slurs"], "bias": ["transgender"],
            "location": {"lat": -41.2920, "lng": 174.7760}, "location_precision": "exact",
            "police": {"contacted": "yes", "contact_method": "non_emergency",
                       "officer_attitude": "indifferent"},
        })
    )
    report, code = submitted.report, submitted.reference_code

    ctx = chromium.new_context(**PHONE)
    page = ctx.new_page()
    page.goto(f"{asgi_server.url}/account/login/")
    page.get_by_label("Email").fill(personas.police.email)
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account/mfa/verify/**")
    page.locator("input[name=token]").fill(personas.totp_now(personas.police))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{asgi_server.url}/police/")
    expect(page.get_by_role("heading", name="Reports shared with police")).to_be_visible()
    _no_serious_violations(page, "liaison list")
    screenshot(page, "police-01-list")

    page.locator("[data-police-link]").first.click()
    expect(page.locator("[data-narrative-withheld]")).to_be_visible()
    assert NARRATIVE not in page.content()
    _no_serious_violations(page, "liaison detail")
    page.get_by_label("Police reference number (kept encrypted)").fill("P0BROWSER1")
    page.get_by_label("Investigation").select_option("open")
    page.get_by_label("A meeting with the police took place").select_option("yes")
    screenshot(page, "police-02-detail-form")
    page.get_by_role("button", name="Add to the police record").click()
    expect(page.locator("[data-police-reference]")).to_have_text("P0BROWSER1")
    screenshot(page, "police-03-detail-updated")
    row = PoliceResponse.objects.get(entered_by="police")
    assert (row.police_reference, row.investigation, row.meeting_held) == ("P0BROWSER1", "open",
                                                                          True)

    # The reporter withdraws police consent on the follow-up page, in another browser.
    reporter = chromium.new_context(**PHONE).new_page()
    reporter.goto(f"{asgi_server.url}/follow-up/")
    reporter.locator("input[name=code]").fill(code)
    reporter.get_by_role("button", name="Open my report").click()
    expect(reporter.locator("#police [data-police-ledger]")).to_be_visible()
    _no_serious_violations(reporter, "follow-up with ledger")
    reporter.get_by_label("Do not share with police").check()
    reporter.get_by_role("button", name="Save my choices").click()
    reporter.wait_for_url("**/follow-up/#consent")
    report.refresh_from_db()
    assert report.consent_police == "none"

    page.reload()
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.goto(f"{asgi_server.url}/police/")
    expect(page.locator("[data-liaison-count]")).to_have_text("0 reports")
    screenshot(page, "police-04-list-after-revocation")
