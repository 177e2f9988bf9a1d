"""Walk home end to end in real headless Chromium: a member on a phone in Wellington asks for a
walk, a volunteer on duty 300 m away gets the offer and accepts, each map shows the other moving,
a trusted contact follows through their private link, the overdue prompt appears, the member
checks in, and the walk ends for all three. Live updates use the WebSocket when the server has
one and fall back to polling the API when it does not, so this runs either way."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

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
    """Script errors, console errors, and every 4xx/5xx answer from homesafe with its path.
    (Chromium's own "Failed to load resource" lines say the same without the path.)"""

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            into.append(message.text)

    def answered(response: Any) -> None:
        if response.status >= 400 and response.url.startswith("http://127.0.0.1"):
            path = re.sub(r"^/w/[^/]+/", "/w/<token>/", urlsplit(response.url).path)
            into.append(f"{response.status} {response.request.method} {path}")

    page.on("console", console)
    page.on("pageerror", lambda e: into.append(f"pageerror: {e}"))
    page.on("response", answered)


def _unexpected(errors: list[str], *allowed: str) -> list[str]:
    return [e for e in errors if not any(a in e for a in ("/favicon.ico", *allowed))]


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
    second = people.make_user("second-volunteer@example.org")
    on_duty_volunteer(
        second,
        people.org,
        [people.caseworker, people.admin],
        first_name="Alex",
        at={"lat": -41.2950, "lng": 174.7790},
    )
    errors: list[str] = []

    # The volunteer is on duty, 300 m away, with the page open.
    volunteer_ctx = _context(chromium, NEARBY)
    escort = volunteer_ctx.new_page()
    _console_errors(escort, errors)
    _login(escort, base, "volunteer@example.org", "/volunteer/")
    expect(escort.get_by_role("button", name="On duty")).to_have_attribute("aria-pressed", "true")
    expect(escort.get_by_text("No requests right now.")).to_be_visible()
    _shot_as(live, escort, "walk-01-volunteer-on-duty")

    # A second volunteer nearby has the page open too.
    other_ctx = _context(chromium, {"lat": -41.2950, "lng": 174.7790})
    other = other_ctx.new_page()
    _console_errors(other, errors)
    _login(other, base, "second-volunteer@example.org", "/volunteer/")

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
    expect(other.locator("[data-offer]")).to_have_count(1, timeout=LIVE)
    offer.get_by_role("button", name="Accept").click()
    escort.wait_for_url(f"{base}/walk/{walk.pk}/")
    # The other volunteer's offer disappears live, with a thank-you.
    expect(other.locator("[data-offer]")).to_have_count(0, timeout=LIVE)
    expect(other.locator("[data-offer-notice]")).to_have_text(
        "Someone else is walking with them, or they no longer need a walk. Thank you!"
    )
    _shot_as(live, other, "walk-04b-offer-taken")
    other_ctx.close()
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

    expect(escort.locator("[data-walk-headline]")).to_have_text("They are home safe", timeout=LIVE)
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
    # The ended link answers 404 (the page's re-read, then the reload); in the polling run,
    # the refused socket is logged by the browser.
    unexpected = _unexpected(errors, "404 GET /w/<token>/", "WebSocket connection")
    assert not unexpected, unexpected
    for context in (member_ctx, volunteer_ctx, contact_ctx):
        context.close()
    assert audit_verify().ok


def test_with_no_volunteer_it_offers_safe_venues_a_watched_walk_and_sos(
    asgi_server: Any, chromium: Any
) -> None:
    from django.utils import timezone

    from homesafe.accounts.models import TrustedContact
    from homesafe.common import geo
    from homesafe.walks import services
    from homesafe.walks.models import SafeVenue, Walk

    base = asgi_server.url
    people = Personas()
    TrustedContact.objects.create(owner=people.member, name="Mum", email="mum@example.org")
    SafeVenue.objects.create(
        organisation=people.org,
        name="Late-night pharmacy",
        address="Courtenay Place",
        lat=-41.2932,
        lng=174.7810,
        cell_r7=geo.cell_int(geo.Point(-41.2932, 174.7810), 7),
        hours="Open until 2 a.m.",
        phone="04 000 0000",
    )
    errors: list[str] = []
    member_ctx = _context(chromium, COURTENAY_PLACE)
    member = member_ctx.new_page()
    _console_errors(member, errors)
    _login(member, base, "member@example.org", "/walk/")
    # No saved places: the destination is a pin on the map.
    expect(member.get_by_label("Somewhere else: put a pin on the map")).to_be_checked()
    member.locator('[data-pin-map="destination"]').click(position={"x": 250, "y": 80})
    expect(member.get_by_text("Pin placed where you are going.")).to_be_visible()
    _shot(member, "walk-19-request-with-a-pin")
    member.get_by_role("button", name="Walk me home").click()
    member.wait_for_url(re.compile(r".*/walk/[0-9a-f-]{36}/$"))
    walk = Walk.objects.get()

    # Nobody accepts in time: the deadline loop widens the search and says so.
    while services.handle_one_due_walk(timezone.now() + dt.timedelta(minutes=2)):
        walk.refresh_from_db()
        if walk.no_volunteer_at:
            break
    expect(member.get_by_role("heading", name="No volunteer has accepted yet")).to_be_visible(
        timeout=LIVE
    )
    expect(member.locator("[data-safe-venues]")).to_contain_text("Late-night pharmacy")
    _no_axe(member, "live walk page, no volunteer")
    _shot(member, "walk-20-no-volunteer")

    member.get_by_role("button", name="Walk on with my contacts watching").click()
    expect(member.locator("[data-walk-headline]")).to_have_text(
        "Your contacts are following your walk"
    )
    expect(member.locator("[data-walk-eta]")).to_contain_text("min to go", timeout=LIVE)
    walk.refresh_from_db()
    assert walk.kind == "watched" and walk.state == "active"

    member.get_by_role("button", name="SOS: alert now").click()
    banner = member.locator("[data-sos-banner]")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name="Call 111")).to_have_attribute("href", "tel:111")
    walk.refresh_from_db()
    assert walk.sos_at is not None
    _shot(member, "walk-21-watched-sos")
    unexpected = _unexpected(errors)
    assert not unexpected, unexpected
    member_ctx.close()


def test_contacts_places_and_vetting_volunteers_in_the_browser(
    asgi_server: Any, chromium: Any
) -> None:
    from homesafe.walks.models import SavedPlace, VolunteerProfile

    base = asgi_server.url
    people = Personas()
    errors: list[str] = []
    member_ctx = _context(chromium, COURTENAY_PLACE)
    member = member_ctx.new_page()
    _console_errors(member, errors)
    _login(member, base, "member@example.org", "/account/contacts/")
    member.get_by_label("Name").fill("Mum")
    member.get_by_label("Email").fill("not an email")
    member.get_by_role("button", name="Add contact").click()
    expect(member.get_by_text("That email address does not look right.")).to_be_visible()
    member.get_by_label("Email").fill("mum@example.org")
    member.get_by_role("button", name="Add contact").click()
    expect(member.get_by_text("Contact added.")).to_be_visible()
    expect(member.locator("[data-contacts]")).to_contain_text("mum@example.org")
    _no_axe(member, "trusted contacts page")
    _shot(member, "walk-30-contacts")

    member.goto(f"{base}/account/places/")
    member.get_by_label("Name it (for example Home)").fill("Home")
    member.get_by_role("button", name="Use where I am now").click()
    expect(member.get_by_text("Pin placed.")).to_be_visible()
    member.get_by_role("button", name="Save place").click()
    expect(member.get_by_text("Place saved.")).to_be_visible()
    _no_axe(member, "saved places page")
    _shot(member, "walk-31-places")
    place = SavedPlace.objects.get(owner=people.member)
    assert place.label == "Home"
    assert place.point == {"lat": COURTENAY_PLACE["lat"], "lng": COURTENAY_PLACE["lng"]}

    # The member applies to volunteer; two staff approve, the admin pauses.
    member.goto(f"{base}/volunteer/")
    member.get_by_label("First name people will see").fill("Kim")
    member.get_by_role("button", name="Apply").click()
    expect(member.locator("[data-volunteer-status]")).to_have_text("Applied: waiting for approval")
    _no_axe(member, "volunteer page")
    profile = VolunteerProfile.objects.get(user=people.member)

    for email, user in (
        ("caseworker@example.org", people.caseworker),
        ("admin@example.org", people.admin),
    ):
        staff_ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
        staff = staff_ctx.new_page()
        _console_errors(staff, errors)
        staff.goto(f"{base}/account/login/?next=/staff/volunteers/")
        staff.get_by_label("Email").fill(email)
        staff.get_by_label("Password").fill(Personas.password)
        staff.get_by_role("button", name="Log in").click()
        staff.get_by_label("Code from your authenticator app").fill(Personas.totp_now(user))
        staff.get_by_role("button", name="Continue").click()
        staff.wait_for_url(f"{base}/staff/volunteers/")
        row = staff.locator(f'[data-volunteer-row="{profile.pk}"]')
        row.get_by_role("button", name="Approve Kim").click()
        staff.wait_for_url(f"{base}/staff/volunteers/")
        if user == people.admin:
            expect(staff.get_by_text("Kim is approved and can now go on duty.")).to_be_visible()
            _no_axe(staff, "staff volunteers page")
            row.get_by_label("Reason (optional)").fill("on holiday")
            row.get_by_role("button", name="Pause").click()
            expect(staff.get_by_text("Kim is now: Paused.")).to_be_visible()
            _shot(staff, "walk-32-staff-volunteers")
        else:
            expect(staff.get_by_text("Another staff member needs to approve too.")).to_be_visible()
        staff_ctx.close()
    profile.refresh_from_db()
    assert profile.status == "paused" and profile.status_reason == "on holiday"
    member.reload()
    expect(member.locator("[data-volunteer-status]")).to_have_text("Paused")
    _shot(member, "walk-33-volunteer-paused")
    unexpected = _unexpected(errors, "400 POST /account/contacts/")
    assert not unexpected, unexpected
    member_ctx.close()
