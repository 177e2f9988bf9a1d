"""Walk home end to end in real headless Chromium: a member on a phone in Wellington asks for a
walk, a volunteer on duty 300 m away gets the offer and accepts, each map shows the other moving,
a trusted contact follows through their private link, the overdue prompt appears, the member
checks in, and the walk ends for all three. Live updates use the WebSocket when the server has
one and fall back to polling the API when it does not, so this runs either way."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import PHONE, Personas, axe_violations, screenshot
from homesafe.walks.tests.pages import (
    COURTENAY_PLACE,
    NEARBY,
    ORIENTAL_BAY,
    on_duty_volunteer,
    watch_token,
)

pytestmark = pytest.mark.browser

LIVE = 15_000  # ms: three polling rounds, in case the socket is not there


def _geo(point: dict[str, float]) -> dict[str, float]:
    return {"latitude": point["lat"], "longitude": point["lng"], "accuracy": 10}


def _context(chromium: Any, at: dict[str, float] | None = None) -> Any:
    options: dict[str, Any] = dict(PHONE)
    if at is not None:
        options.update(geolocation=_geo(at), permissions=["geolocation"])
    context = chromium.new_context(**options)
    context.route(re.compile(r"^https://tile\.openstreetmap\.org/.*"), lambda r: r.abort())
    # Poll every second instead of five while the socket is down: same code, shorter waits.
    context.add_init_script("window.homesafePollMs = 1000;")
    return context


def _console_errors(page: Any, into: list[str]) -> None:
    page.on("console", lambda m: into.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: into.append(f"pageerror: {e}"))


def _login(page: Any, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/account/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(Personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{next_path}")


def _no_axe(page: Any, what: str) -> None:
    found = axe_violations(page)
    assert not found, (what, [(v["id"], [n["html"][:160] for n in v["nodes"]]) for v in found])


def _shot(page: Any, name: str) -> None:
    # From the top, so the sticky quick-exit bar sits where a person sees it.
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def _shot_as(live: str, page: Any, name: str) -> None:
    _shot(page, name if live == "socket" else f"{name}-polling")


def _uses(page: Any, live: str) -> None:
    """The page gets its updates this way: "socket", or "polling" while the socket is down."""
    expect(page.locator("html")).to_have_attribute("data-live", live, timeout=LIVE)


def _shows(page: Any, key: str, point: dict[str, float]) -> None:
    """The page's map has the `key` marker at `point` (5 decimals, as the page writes it)."""
    expect(page.locator("[data-live-map]")).to_have_attribute(
        f"data-pos-{key}", f"{point['lat']:.5f},{point['lng']:.5f}", timeout=LIVE
    )


@pytest.mark.parametrize("live", ["socket", "polling"])
def test_it_walks_a_member_home_with_a_volunteer_and_a_contact_watching(
    asgi_server: Any, chromium: Any, live: str, monkeypatch: Any
) -> None:
    from homesafe.accounts.models import TrustedContact
    from homesafe.audit.services import audit_verify
    from homesafe.walks import services
    from homesafe.walks.models import Walk

    base = asgi_server.url
    if live == "polling":
        # As when the socket endpoint is missing or refuses everyone: the pages poll instead.
        monkeypatch.setattr("homesafe.walks.consumers.groups_for", lambda user, session: [])
    people = Personas()
    people.member.display_name = "Rua"
    people.member.save()
    TrustedContact.objects.create(owner=people.member, name="Mum", email="mum@example.org")
    services.saved_place_add(owner=people.member, label="Home", location=ORIENTAL_BAY)
    on_duty_volunteer(people.volunteer, people.org, [people.caseworker, people.admin], at=NEARBY)
    errors: list[str] = []

    # The volunteer is on duty, 300 m away, with the page open.
    volunteer_ctx = _context(chromium, NEARBY)
    escort = volunteer_ctx.new_page()
    _console_errors(escort, errors)
    _login(escort, base, "volunteer@example.org", "/volunteer/")
    expect(escort.get_by_role("button", name="On duty")).to_have_attribute("aria-pressed", "true")
    expect(escort.get_by_text("No requests right now.")).to_be_visible()
    _shot_as(live, escort, "walk-01-volunteer-on-duty")

    # The member, at Courtenay Place on a phone, asks for a walk home.
    member_ctx = _context(chromium, COURTENAY_PLACE)
    member = member_ctx.new_page()
    _console_errors(member, errors)
    _login(member, base, "member@example.org", "/walk/")
    expect(member.get_by_role("heading", name="Walk me home")).to_be_visible()
    expect(member.get_by_label("Home")).to_be_checked()
    _no_axe(member, "walk request page")
    member.get_by_label("How many of you?").select_option("2")
    member.get_by_label("Anything the volunteer should know?").fill(
        "Green jacket, by the kebab shop"
    )
    _shot_as(live, member, "walk-02-request")
    member.get_by_role("button", name="Walk me home").click()
    member.wait_for_url(re.compile(r".*/walk/[0-9a-f-]{36}/$"))
    walk = Walk.objects.get()
    assert walk.start == {"lat": COURTENAY_PLACE["lat"], "lng": COURTENAY_PLACE["lng"]}
    assert walk.destination_label == "Home" and walk.party_size == 2
    expect(member.locator("[data-walk-headline]")).to_have_text("Looking for a volunteer near you")
    _no_axe(member, "live walk page, searching")
    _shot_as(live, member, "walk-03-searching")

    # The offer reaches the volunteer live: about 300 m, two people, pickup on a small map.
    offer = escort.locator("[data-offer]")
    expect(offer).to_have_count(1, timeout=LIVE)
    expect(offer.locator("[data-offer-party]")).to_have_text("2 people")
    expect(offer.locator("[data-offer-distance]")).to_contain_text("m from you")
    expect(offer.locator(".leaflet-interactive").first).to_be_visible()
    _shot_as(live, escort, "walk-04-offer")
    offer.get_by_role("button", name="Accept").click()
    escort.wait_for_url(f"{base}/walk/{walk.pk}/")
    expect(escort.locator("[data-walk-headline]")).to_have_text("Walk to meet them")
    expect(escort.get_by_text("Green jacket, by the kebab shop")).to_be_visible()

    # The member's page turns to the escort: first name, organisation badge, distance.
    expect(member.locator("[data-walk-headline]")).to_have_text(
        "Sam is on the way to you", timeout=LIVE
    )
    expect(member.locator("[data-escort-badge]")).to_contain_text(
        "Vetted volunteer, Rainbow Safety"
    )
    expect(member.locator("[data-walk-eta]")).to_contain_text("Sam is about", timeout=LIVE)
    _shows(member, "escort", NEARBY)
    _no_axe(member, "live walk page, escort on the way")
    _shot_as(live, member, "walk-05-escort-on-the-way")

    # Both maps follow the other as the phones move.
    halfway = {"lat": -41.2922, "lng": 174.7808}
    volunteer_ctx.set_geolocation(_geo(halfway))
    _shows(member, "escort", halfway)
    _shows(escort, "requester", COURTENAY_PLACE)
    moved = {"lat": -41.2933, "lng": 174.7818}
    member_ctx.set_geolocation(_geo(moved))
    _shows(escort, "requester", moved)
    _shot_as(live, escort, "walk-06-escort-walking-to-meet")

    for page in (member, escort):
        _uses(page, live)

    # A trusted contact opens the private link from their email.
    contact_ctx = _context(chromium)
    contact = contact_ctx.new_page()
    _console_errors(contact, errors)
    token = watch_token(walk)
    response = contact.goto(f"{base}/w/{token}/")
    assert response is not None and response.headers["referrer-policy"] == "no-referrer"
    expect(contact.locator("[data-walk-headline]")).to_have_text("Walking home with Sam")
    _uses(contact, live)
    expect(contact.locator("[data-escort-badge]")).to_contain_text("Rainbow Safety")
    _shows(contact, "requester", moved)

    # They meet: the member's page says they are walking together, with time to go.
    volunteer_ctx.set_geolocation(_geo(moved))
    expect(member.locator("[data-walk-headline]")).to_have_text("Walking with Sam", timeout=LIVE)
    expect(member.locator("[data-walk-eta]")).to_contain_text("min to go")
    on_the_way = {"lat": -41.2925, "lng": 174.7850}
    member_ctx.set_geolocation(_geo(on_the_way))
    volunteer_ctx.set_geolocation(_geo(on_the_way))
    _shows(contact, "requester", on_the_way)
    _shows(contact, "escort", on_the_way)
    _shows(escort, "requester", on_the_way)
    _shot_as(live, member, "walk-07-walking-together")
    _shot_as(live, contact, "walk-08-contact-following")

    # Past the expected arrival: the deadline loop asks the member whether they are home safe.
    walk.refresh_from_db()
    assert walk.arrival_deadline is not None
    assert services.handle_one_due_walk(walk.arrival_deadline + dt.timedelta(seconds=1))
    prompt = member.locator("[data-overdue-prompt]")
    expect(prompt).to_be_visible(timeout=LIVE)
    expect(prompt.get_by_role("heading", name="Are you home safe?")).to_be_visible()
    _shot_as(live, member, "walk-09-overdue-prompt")

    # "I'm home safe" ends the walk for everyone.
    prompt.get_by_role("button", name="Yes, I'm home safe").click()
    expect(member.locator("[data-walk-headline]")).to_have_text("You're home safe")
    expect(member.get_by_role("heading", name="How did it go?")).to_be_visible()
    _shot_as(live, member, "walk-10-home-safe")

    expect(escort.locator("[data-walk-headline]")).to_have_text(
        "They are home safe", timeout=LIVE
    )
    escort.get_by_role("button", name="Confirm hand-over").click()
    expect(escort.get_by_text("Hand-over confirmed.")).to_be_visible()
    _shot_as(live, escort, "walk-11-escort-hand-over")

    expect(contact.locator("[data-ended-banner]")).to_be_visible(timeout=LIVE)
    expect(contact.locator("[data-walk-headline]")).to_have_text("This walk has ended.")
    expect(contact.locator("[data-live-map]")).to_be_hidden()
    _shot_as(live, contact, "walk-12-contact-ended")
    response = contact.goto(f"{base}/w/{token}/")
    assert response is not None and response.status == 404
    expect(contact.get_by_role("heading", name="This walk has ended")).to_be_visible()

    # "Something happened" opens the report form, prefilled from the walk.
    member.get_by_label("Great").check()
    member.get_by_label("Something happened on this walk that I want to report").check()
    member.get_by_role("button", name="Send feedback").click()
    member.wait_for_url(f"{base}/report/?walk={walk.pk}")
    expect(member.locator("[data-walk-link]")).to_be_visible()

    walk.refresh_from_db()
    assert walk.state == "ended" and walk.end_reason == "home_safe"
    assert walk.handover_confirmed_at is not None and walk.overdue_prompted_at is not None
    # Tiles are blocked here, and the WebSocket may not be served yet: both are expected noise.
    unexpected = [
        e for e in errors
        if "tile.openstreetmap" not in e and "ERR_FAILED" not in e and "WebSocket" not in e
        and "404" not in e
    ]
    assert not unexpected, unexpected
    for context in (member_ctx, volunteer_ctx, contact_ctx):
        context.close()
    assert audit_verify().ok
