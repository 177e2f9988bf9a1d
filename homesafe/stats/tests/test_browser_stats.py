"""The public statistics page and the staff dashboard in real headless Chromium (phone screen),
over the Wellington demo data, checked with axe-core; screenshots in test-artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import PHONE, axe_violations, login_verified, screenshot

pytestmark = pytest.mark.browser


def _context(chromium: Any) -> Any:
    context = chromium.new_context(**PHONE)
    # No network here: map tiles fail fast; the hexagons are drawn from the page's own data.
    context.route(re.compile(r"^https://tile\.openstreetmap\.org/.*"), lambda r: r.abort())
    return context


def _check_axe(page: Any) -> None:
    found = axe_violations(page)
    assert not found, [(v["id"], [n["html"][:160] for n in v["nodes"]]) for v in found]


def test_it_shows_the_public_page_and_the_dashboard(asgi_server: Any, chromium: Any) -> None:
    from django.conf import settings
    from django.test import Client

    from homesafe import demo
    from homesafe.accounts.models import Membership, Organisation, Role, User
    from homesafe.stats import demo as stats_demo
    from homesafe.stats.engine import published_values
    from homesafe.stats.models import StatsRelease

    demo.seed()
    org = Organisation.objects.get(slug=demo.DEMO_ORG_SLUG)
    caseworkers = list(
        User.objects.filter(
            memberships__organisation=org, memberships__role=Role.CASEWORKER
        ).order_by("pk")
    )
    summary = stats_demo.seed_demo(org, caseworkers)
    assert "release 1" in summary
    release = StatsRelease.objects.get(organisation=org)
    assert all(v % 5 == 0 for v in published_values(release.payload))

    context = _context(chromium)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{asgi_server.url}/statistics/{org.slug}/")
    page.wait_for_selector("#stats-map[data-drawn]")
    drawn = int(page.get_attribute("#stats-map", "data-drawn") or 0)
    assert drawn >= 1
    assert page.locator("#stats-map path.leaflet-interactive").count() >= 1
    assert page.locator("svg.chart rect[data-value]").count() > 20
    assert page.locator("[data-reading=trend]").inner_text().strip()
    assert page.locator("details.stats-table").count() >= 6
    assert int(page.inner_text("[data-figure=walks-safe]")) > 0
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "stats-public")
    _check_axe(page)
    page.select_option("#f-dimension", "incident_type")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#stats-map[data-drawn]")
    assert "dimension=incident_type" in page.url
    _check_axe(page)
    screenshot(page, "stats-public-incidents")

    # The dashboard, as a caseworker past the second factor.
    caseworker = caseworkers[0]
    client = login_verified(Client(), caseworker)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    staff = _context(chromium)
    staff.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": asgi_server.url}]
    )
    dash = staff.new_page()
    dash.on("pageerror", lambda e: errors.append(str(e)))
    dash.goto(f"{asgi_server.url}/insights/")
    dash.wait_for_selector("#stats-map[data-drawn]")
    assert int(dash.get_attribute("#stats-map", "data-drawn") or 0) >= 1
    assert int(dash.inner_text("[data-figure=total]")) > 0
    assert dash.locator("svg.chart rect[data-value]").count() > 20
    screenshot(dash, "stats-dashboard")
    _check_axe(dash)
    # Drill down: a bias row opens the triage queue with the same filters.
    dash.locator("#dash-bias-h").scroll_into_view_if_needed()
    dash.locator("section:has(#dash-bias-h) summary").click()
    dash.locator("section:has(#dash-bias-h) a[data-queue-link]").first.click()
    dash.wait_for_url(re.compile(r"/case/\?.*bias="))
    assert dash.locator("table, .queue, main").count() >= 1
    assert Membership.objects.filter(user=caseworker, role=Role.CASEWORKER).exists()
    assert not errors, errors
    context.close()
    staff.close()
