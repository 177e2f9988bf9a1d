"""End to end in real headless Chromium on a phone-sized screen: an anonymous person files a
report, a caseworker (after setting up a second factor) triages and replies, and the reporter
reads the reply with their code. axe-core checks the public pages."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import PHONE, axe_violations, screenshot

pytestmark = pytest.mark.browser

NARRATIVE = "Two of us were waiting for food when a group started shouting slurs at us."


def _totp_from_secret(secret: str) -> str:
    from django_otp.oath import totp

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, step=30, t0=0, digits=6):06d}"


def _next(page: Any) -> None:
    page.get_by_role("button", name="Next").click()
    # Every step of the form is checked, not only the first one.
    found = axe_violations(page)
    assert not found, [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found]


def test_it_files_triages_and_answers_a_report(asgi_server: Any, chromium: Any) -> None:
    from homesafe.accounts.models import Organisation, Role, User
    from homesafe.accounts.services import membership_grant
    from homesafe.audit.services import audit_verify
    from homesafe.reports.models import Report

    org = Organisation.objects.create(name="Rainbow Wellington", slug="rainbow")
    caseworker = User.objects.create_user(email="cw@example.org", password="a long demo password")
    caseworker.display_name = "Aroha"
    caseworker.save()
    membership_grant(user=caseworker, organisation=org, role=Role.CASEWORKER)

    reporter_ctx = chromium.new_context(**PHONE)
    reporter_ctx.route(
        "https://www.metservice.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Weather</title><h1>Weather</h1>"
        ),
    )
    reporter_ctx.route(
        re.compile(r"^https://tile\.openstreetmap\.org/.*"), lambda route: route.abort()
    )
    page = reporter_ctx.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{asgi_server.url}/report/")
    expect(page.get_by_text("Step 1 of 8")).to_be_visible()
    assert not axe_violations(page), "report form: serious or critical accessibility violations"
    screenshot(page, "01-report-step1")

    # Step 1 is the only required answer: Next refuses until the role is chosen.
    _next(page)
    expect(page.get_by_text("it is the only question we need").first).to_be_visible()
    page.get_by_label("It happened to me").check()
    page.get_by_label("Anonymous: no contact at all").check()
    _next(page)
    expect(page.get_by_text("Step 2 of 8")).to_be_visible()
    page.get_by_label("Where was it?").fill("Courtenay Place, outside the kebab shop")
    page.locator("[data-pin-map]").click(position={"x": 150, "y": 120})
    assert page.locator("input[name=location_lat]").input_value() != ""
    page.get_by_label("Roughly, within about 100 metres").check()
    screenshot(page, "02-report-where")
    _next(page)
    page.get_by_label("Verbal abuse or slurs").check()
    page.get_by_label("A crowd egged it on or joined in").check()
    page.get_by_label("In your own words").fill(NARRATIVE)

    # The draft survives a reload, on the same step.
    page.reload()
    expect(page.get_by_text("Step 3 of 8")).to_be_visible()
    assert page.get_by_label("In your own words").input_value() == NARRATIVE
    assert page.get_by_label("Verbal abuse or slurs").is_checked()
    _next(page)
    page.get_by_label("Being gay").check()
    _next(page)
    _next(page)
    page.get_by_label("Getting home safely").select_option("refused")
    _next(page)
    page.get_by_role("group", name="May we count it in public statistics").get_by_label(
        "Yes"
    ).check()
    _next(page)
    screenshot(page, "03-report-send")
    page.get_by_role("button", name="Send my report").click()
    code = page.locator("[data-reference-code]").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    assert code not in page.url
    screenshot(page, "04-report-code")
    assert page.evaluate("() => sessionStorage.getItem('homesafe.report-draft')") is None

    report = Report.objects.get()
    assert report.narrative == NARRATIVE and report.identity_level == "anonymous"
    assert report.h3_cell is not None and report.location_precision == "about_100m"

    # The caseworker logs in, must set up a second factor, then triages and replies.
    staff_ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_ctx.new_page()
    staff.goto(f"{asgi_server.url}/case/")
    staff.get_by_label("Email").fill("cw@example.org")
    staff.get_by_label("Password").fill("a long demo password")
    staff.get_by_role("button", name="Log in").click()
    assert "/account/mfa/setup/" in staff.url
    secret = staff.locator("[data-totp-secret]").inner_text().strip()
    screenshot(staff, "05-staff-mfa-setup")
    staff.get_by_label("Enter the 6-digit code").fill(_totp_from_secret(secret))
    staff.get_by_role("button", name="Confirm").click()
    assert staff.locator("[data-recovery-codes] li").count() == 10
    staff.get_by_role("link", name="Continue to cases").click()
    assert staff.locator("[data-queue] tbody tr").count() == 1
    screenshot(staff, "06-staff-queue")
    staff.locator("[data-case-link]").first.click()
    assert NARRATIVE in staff.locator("[data-narrative]").inner_text()
    staff.get_by_label("Status").select_option("triaged")
    staff.get_by_label("Assigned to").select_option(label="Aroha")
    staff.get_by_role("button", name="Save").click()
    assert staff.locator("[data-case-status]").inner_text() == "Triaged"
    staff.get_by_label("Reply (the reporter sees this)").fill(
        "Kia ora, I'm Aroha. I'm sorry this happened. Would you like help talking to the police?"
    )
    staff.get_by_role("button", name="Send reply").click()
    screenshot(staff, "07-staff-case")

    # The reporter comes back with the code and reads the reply.
    page.goto(f"{asgi_server.url}/follow-up/")
    assert not axe_violations(page), "follow-up code page: serious or critical violations"
    page.get_by_label("Reference code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Open my report").click()
    assert page.locator("[data-status]").inner_text() == "Triaged"
    assert "I'm Aroha" in page.locator("[data-messages]").inner_text()
    assert code.replace("-", "") not in page.url.upper()
    assert not axe_violations(page), "follow-up mailbox page: serious or critical violations"
    page.get_by_label("Write to your caseworker").fill("Yes please, thank you.")
    page.get_by_role("button", name="Send message").click()
    assert "Yes please" in page.locator("[data-messages]").inner_text()
    screenshot(page, "08-followup-mailbox")

    # Quick exit: Shift three times replaces the page with a neutral site.
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.wait_for_url("https://www.metservice.com/**")
    assert page.title() == "Weather"

    assert not [
        e for e in console_errors if "tile.openstreetmap" not in e and "ERR_FAILED" not in e
    ]
    reporter_ctx.close()
    staff_ctx.close()
    assert audit_verify().ok
