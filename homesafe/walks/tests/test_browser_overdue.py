"""The second browser run: a walk's deadline passes. The member's phone shows "Are you home
safe?", nobody answers, and the overdue alert reaches the trusted contact's mailbox on a real
SMTP server on loopback, with the last known position; the contact's link shows the walk
and that they may need help."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import Personas, screenshot
from homesafe.walks.tests.pages import COURTENAY_PLACE, NEARBY, ORIENTAL_BAY, on_duty_volunteer
from homesafe.walks.tests.test_browser_walk import LIVE, _context, _login

pytestmark = pytest.mark.browser


def test_it_alerts_the_contact_by_email_when_the_walk_is_overdue(
    asgi_server: Any, chromium: Any, smtp_server: Any
) -> None:
    from homesafe.accounts.models import TrustedContact
    from homesafe.notify.services import handle_one_notification
    from homesafe.walks import services
    from homesafe.walks.models import Walk, WalkOffer

    base = asgi_server.url
    people = Personas()
    people.member.display_name = "Rua"
    people.member.save()
    TrustedContact.objects.create(owner=people.member, name="Mum", email="mum@example.org")
    services.saved_place_add(owner=people.member, label="Home", location=ORIENTAL_BAY)
    volunteer = on_duty_volunteer(
        people.volunteer, people.org, [people.caseworker, people.admin], at=NEARBY
    )

    member_ctx = _context(chromium, COURTENAY_PLACE)
    member = member_ctx.new_page()
    _login(member, base, "member@example.org", "/walk/")
    member.get_by_role("button", name="Walk me home").click()
    member.wait_for_url(re.compile(r".*/walk/[0-9a-f-]{36}/$"))
    walk = Walk.objects.get()
    services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    expect(member.locator("[data-walk-headline]")).to_contain_text("Sam", timeout=LIVE)
    # The member walks on; their phone reports where they are.
    member_ctx.set_geolocation({"latitude": -41.29210, "longitude": 174.78600, "accuracy": 10})
    deadline = time.monotonic() + 20
    while (Walk.objects.get(pk=walk.pk).requester_last or {}).get("lat") != -41.2921:
        assert time.monotonic() < deadline, "the phone's position never arrived"
        time.sleep(0.2)

    # The arrival deadline passes: the deadline loop prompts the member on their phone...
    walk.refresh_from_db()
    assert walk.arrival_deadline is not None
    late = walk.arrival_deadline + dt.timedelta(seconds=1)
    assert services.handle_one_due_walk(late)
    expect(member.locator("[data-overdue-prompt]")).to_be_visible(timeout=LIVE)
    screenshot(member, "walk-40-overdue-prompt")

    # ...nobody answers within the grace period: the contacts and on-call are alerted.
    walk.refresh_from_db()
    assert walk.due_at is not None
    assert services.handle_one_due_walk(walk.due_at + dt.timedelta(seconds=1))
    while handle_one_notification():
        pass
    overdue = [m for m in smtp_server.messages if "not arrived home" in str(m["Subject"])]
    assert [str(m["To"]) for m in overdue] == ["mum@example.org"]
    body = overdue[0].get_payload(decode=True).decode()
    assert "-41.29210, 174.78600" in body and "111" in body

    # Mum opens the private link from her earlier email and sees the walk, still going.
    link = next(m for m in smtp_server.messages if "Follow a walk" in str(m["Subject"]))
    url = re.search(r"https?://\S+/w/[A-Za-z0-9_-]+/", link.get_payload(decode=True).decode())
    assert url is not None
    contact = _context(chromium).new_page()
    contact.goto(base + url.group(0)[url.group(0).index("/w/") :])
    expect(contact.locator("[data-escort-name]")).to_have_text("Sam", timeout=LIVE)
    expect(contact.get_by_text("They may need help.")).to_be_visible()
    screenshot(contact, "walk-41-contact-after-alert")
    member_ctx.close()
    contact.context.close()
