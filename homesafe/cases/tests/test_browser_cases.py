"""Casework in real headless Chromium: a caseworker logs in with a second factor, opens an
incident, adds a task and ticks it off, marks a troll report; axe-core checks every page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import PHONE, Personas, axe_violations, screenshot

from .helpers import in_hours, local_input, make_report

pytestmark = pytest.mark.browser


def _no_axe(page: Any, what: str) -> None:
    found = axe_violations(page)
    assert not found, (what, [(v["id"], [n["html"][:160] for n in v["nodes"]]) for v in found])


def _shot(page: Any, name: str) -> str:
    page.evaluate("window.scrollTo(0, 0)")
    return screenshot(page, name)


def _login(page: Any, base: str, people: Personas, next_path: str) -> None:
    page.goto(f"{base}/account/login/?next={next_path}")
    page.get_by_label("Email").fill(people.caseworker.email)
    page.get_by_label("Password").fill(Personas.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        people.totp_now(people.caseworker)
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}{next_path}")


def test_it_works_an_incident_in_a_real_browser(asgi_server: Any, chromium: Any) -> None:
    from homesafe.cases import services
    from homesafe.cases.models import ReportFlag, Task

    people = Personas()
    cw = people.caseworker
    cw.display_name = "Aroha"
    cw.save()
    base = asgi_server.url
    shared = {"occurred_on": dt.date(2026, 3, 15), "venue_type": "restaurant_takeaway",
              "incident_types": ["verbal_abuse_slurs", "physical_assault"], "bias": ["gay"]}
    victim = make_report(people.org, narrative="We were attacked outside a takeaway.", **shared)
    witness = make_report(people.org, reporter_role="witness", narrative="I walked them home.",
                          **shared)
    media = make_report(people.org, reporter_role="third_party", narrative="News article link.",
                        **shared)
    repeat = make_report(people.org, reporter_role="witness", narrative="I walked them home!",
                         **shared)
    doubtful = make_report(people.org, narrative="lol")
    incident = services.incident_create(
        organisation=people.org, user=cw,
        title="Courtenay Place takeaway, Pride night", report=victim, role="victim",
        label="one of the two men",
    )
    services.incident_link_report(incident=incident, report=witness, user=cw, role="witness",
                                  label="walked them home, has video")
    services.incident_link_report(incident=incident, report=media, user=cw, role="media",
                                  label="news article")
    services.report_mark_duplicate(report=repeat, original=witness, user=cw)
    overdue = services.task_add(subject=incident, user=cw, title="Ask the witness about the video",
                                due_at=in_hours(3), assignee_id=cw.pk)
    Task.objects.filter(pk=overdue.pk).update(due_at=in_hours(-5))
    services.task_add(subject=incident, user=cw, title="Prepare figures for the police meeting",
                      due_at=in_hours(50), assignee_id=cw.pk, remind_minutes_before=1440)
    services.contact_add(subject=incident, user=cw, happened_at=in_hours(-30), channel="phone",
                         direction="outbound", summary="Talked through the options.")
    services.referral_add(subject=incident, user=cw, kind="police",
                          to_whom="Wellington Central, hate crime liaison", status="made")
    services.referral_add(subject=incident, user=cw, kind="counselling",
                          to_whom="Rainbow counselling partner")

    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    # Failed loads other than the deliberate 400 (a refused form) are errors.
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 400 else None)
    incident_path = f"/cases/incident/{incident.pk}/"
    _login(page, base, people, incident_path)

    table = page.locator("[data-incident-reports]")
    expect(table.locator("[data-link]")).to_have_count(3)
    expect(table).to_contain_text("walked them home, has video")
    expect(table).to_contain_text("Media report")
    expect(table).to_contain_text("1 duplicate")
    expect(page.locator("[data-task]").first).to_contain_text("Overdue")
    _no_axe(page, "incident page")
    _shot(page, "cases-01-incident")

    # Add a task through the form, then tick it off and undo.
    page.get_by_text("Add a task").click()
    page.get_by_label("What needs doing").fill("Book a room for the community hui")
    page.get_by_label("Due (time in Pacific/Auckland)").fill(local_input(in_hours(26)))
    page.get_by_label("Email reminder").select_option("1440")
    page.get_by_role("button", name="Add task").click()
    row = page.locator("[data-task]", has_text="Book a room for the community hui")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Mark done").click()
    row = page.locator("[data-task]", has_text="Book a room for the community hui")
    expect(row).to_contain_text("Done")
    row.get_by_role("button", name="Undo").click()
    expect(page.locator("[data-task]", has_text="Book a room").get_by_role(
        "button", name="Mark done")).to_be_visible()
    task = Task.objects.get(done_at__isnull=True, remind_minutes_before=1440,
                            created_by=cw, reminder_seq=1)
    assert task.title == "Book a room for the community hui" and task.remind_at is not None

    # A bad input is refused with a message, nothing saved.
    before = Task.objects.count()
    page.get_by_text("Add a task").click()
    page.get_by_label("What needs doing").fill("Too late")
    page.get_by_label("Due (time in Pacific/Auckland)").fill(local_input(in_hours(-30)))
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("alert")).to_contain_text("future")
    assert Task.objects.count() == before
    _no_axe(page, "incident page with an error")

    # Phone-sized screen.
    phone = chromium.new_context(**PHONE, storage_state=ctx.storage_state())
    small = phone.new_page()
    small.goto(f"{base}{incident_path}")
    _no_axe(small, "incident page on a phone")
    _shot(small, "cases-02-incident-phone")
    phone.close()

    # The report's casework page: mark a suspected troll with a reason.
    page.goto(f"{base}/cases/report/{doubtful.pk}/")
    _no_axe(page, "report casework page")
    page.get_by_label("Why (kept on record").fill("Nothing in it matches; posted three times")
    page.get_by_role("button", name="Mark suspected troll").click()
    expect(page.locator("[data-troll]").first).to_be_visible()
    assert ReportFlag.objects.filter(report=doubtful, kind="troll").exists()
    _shot(page, "cases-03-report-casework")

    # The case page shows the panel, and the duplicate on both reports.
    page.goto(f"{base}/case/{witness.pk}/")
    panel = page.locator("[data-case-panel]")
    expect(panel).to_contain_text("Courtenay Place takeaway, Pride night")
    expect(panel.locator("[data-duplicates]")).to_be_visible()
    _no_axe(page, "case page with the casework panel")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=_shot(page, "cases-05-case-page").replace(".png", "-panel.png"))
    page.goto(f"{base}/case/{repeat.pk}/")
    expect(page.locator("[data-duplicate-of]").first).to_be_visible()
    expect(page.locator("[data-narrative]")).to_contain_text("I walked them home!")

    for path, what in (("/cases/incidents/", "incident list"), ("/cases/tasks/", "my tasks")):
        page.goto(f"{base}{path}")
        _no_axe(page, what)
    _shot(page, "cases-04-my-tasks")
    assert not errors, errors
    ctx.close()
