"""The walk-home pages through Django's test client: asking for a walk, the live page and its
buttons, volunteering, trusted contacts' links, contacts and places, and vetting volunteers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from homesafe.accounts.models import TrustedContact
from homesafe.walks import services
from homesafe.walks.models import (
    SavedPlace,
    VolunteerProfile,
    Walk,
    WalkFeedback,
    WalkOffer,
    WalkWatch,
)
from homesafe.walks.tests.pages import (
    COURTENAY_PLACE,
    NEARBY,
    ORIENTAL_BAY,
    on_duty_volunteer,
    watch_token,
)

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    """Logged in, with the second factor used in this session (as after a real login)."""
    from conftest import login_verified

    return login_verified(Client(), user)


def _ask(client: Client, **extra: Any) -> Any:
    data = {
        "start_lat": str(COURTENAY_PLACE["lat"]),
        "start_lng": str(COURTENAY_PLACE["lng"]),
        "destination": "pin",
        "destination_lat": str(ORIENTAL_BAY["lat"]),
        "destination_lng": str(ORIENTAL_BAY["lng"]),
        "party_size": "2",
        **extra,
    }
    return client.post("/walk/", data)


def _flashes(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _walk_with_escort(personas: Any) -> tuple[Walk, VolunteerProfile]:
    TrustedContact.objects.create(owner=personas.member, name="Mum", email="mum@example.org")
    profile = on_duty_volunteer(
        personas.volunteer, personas.org, [personas.caseworker, personas.admin]
    )
    response = _ask(_client(personas.member), note="Green jacket, by the bus stop")
    assert response.status_code == 302
    walk = Walk.objects.get()
    offer = WalkOffer.objects.get(walk=walk)
    accepted = _client(personas.volunteer).post(f"/volunteer/offers/{offer.pk}/accept/")
    assert accepted.status_code == 302 and accepted["Location"] == f"/walk/{walk.pk}/"
    walk.refresh_from_db()
    return walk, profile


# --- asking for a walk ----------------------------------------------------------------------


def test_it_asks_for_a_walk_to_a_saved_place(personas: Any) -> None:
    client = _client(personas.member)
    home = services.saved_place_add(owner=personas.member, label="Home", location=ORIENTAL_BAY)
    page = client.get("/walk/")
    assert page.status_code == 200
    assert b"Walk me home" in page.content and b"Home" in page.content
    # The first saved place is chosen already: one tap at 2 a.m.
    assert f'value="place:{home.pk}" checked'.encode() in page.content

    response = _ask(client, destination=f"place:{home.pk}", note="Blue hoodie")
    walk = Walk.objects.get()
    assert response["Location"] == f"/walk/{walk.pk}/"
    assert walk.destination == {"lat": ORIENTAL_BAY["lat"], "lng": ORIENTAL_BAY["lng"]}
    assert walk.destination_label == "Home" and walk.note == "Blue hoodie"
    assert walk.party_size == 2 and walk.state == "searching"

    live = client.get(f"/walk/{walk.pk}/")
    assert live.status_code == 200
    assert b"Looking for a volunteer near you" in live.content
    assert b"Cancel my request" in live.content
    # Asking again goes to the walk already on.
    assert client.get("/walk/")["Location"] == f"/walk/{walk.pk}/"


def test_it_shows_clear_errors_and_keeps_the_answers(personas: Any) -> None:
    client = _client(personas.member)
    response = client.post("/walk/", {"destination": "pin", "note": "near the fountain"})
    assert response.status_code == 400
    assert b"Tell us where you are: use your location or tap the map." in response.content
    assert b"near the fountain" in response.content
    assert not Walk.objects.exists()

    response = _ask(client, destination="place:00000000-0000-0000-0000-000000000000")
    assert response.status_code == 400
    assert b"Tell us where you are going" in response.content

    response = _ask(client, start_lat="95", party_size="11")
    assert response.status_code == 400
    assert b"We could not read where you are." in response.content
    assert b"Party size is between 1 and 10." in response.content

    # A refusal from the service is shown too (here: too far to walk).
    response = _ask(client, destination_lat="-36.85", destination_lng="174.76")
    assert response.status_code == 400
    assert b"That is too far to walk." in response.content
    assert not Walk.objects.exists()


def test_it_needs_an_organisation(personas: Any) -> None:
    response = _ask(_client(personas.stranger))
    assert response.status_code == 400
    assert b"Join an organisation to ask for walks." in response.content


def test_walk_pages_need_a_login(personas: Any) -> None:
    for url in ("/walk/", "/volunteer/", "/account/contacts/", "/account/places/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/account/login/")


# --- the live page --------------------------------------------------------------------------


def test_a_stranger_gets_404_on_someone_elses_walk(personas: Any) -> None:
    _ask(_client(personas.member))
    walk = Walk.objects.get()
    stranger = _client(personas.stranger)
    assert stranger.get(f"/walk/{walk.pk}/").status_code == 404
    for action in ("checkin", "sos", "cancel", "watched", "handover", "feedback"):
        assert stranger.post(f"/walk/{walk.pk}/{action}/").status_code == 404
    walk.refresh_from_db()
    assert walk.state == "searching" and walk.sos_at is None
    # Same answer for an id that does not exist.
    assert stranger.get("/walk/7a1d7a5e-0000-4000-8000-000000000000/").status_code == 404
    assert Client().get(f"/walk/{walk.pk}/").status_code == 302


def test_sos_alerts_and_shows_the_emergency_number(personas: Any) -> None:
    client = _client(personas.member)
    _ask(client)
    walk = Walk.objects.get()
    page = client.get(f"/walk/{walk.pk}/")
    assert b'href="tel:111"' in page.content  # always one tap away
    response = client.post(f"/walk/{walk.pk}/sos/", follow=True)
    walk.refresh_from_db()
    assert walk.sos_at is not None
    assert b"Help is being alerted." in response.content
    assert b"data-emergency-call" in response.content and b'href="tel:111"' in response.content


def test_the_requester_cancels_and_errors_come_back_as_messages(personas: Any) -> None:
    client = _client(personas.member)
    _ask(client)
    walk = Walk.objects.get()
    response = client.post(f"/walk/{walk.pk}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == "/walk/"
    assert "Your walk request is cancelled." in _flashes(response)
    response = client.post(f"/walk/{walk.pk}/checkin/", follow=True)
    assert "This walk has already ended." in _flashes(response)
    assert b"This walk has already ended." in response.content


def test_no_volunteer_offers_safe_venues_and_a_watched_walk(personas: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from homesafe.common import geo
    from homesafe.walks.models import SafeVenue

    SafeVenue.objects.create(
        organisation=personas.org,
        name="Late-night pharmacy",
        address="Courtenay Place",
        lat=-41.2932,
        lng=174.7810,
        cell_r7=geo.cell_int(geo.Point(-41.2932, 174.7810), 7),
        hours="Until 2 a.m.",
        phone="04 000 0000",
    )
    client = _client(personas.member)
    _ask(client)
    walk = Walk.objects.get()
    while services.handle_one_due_walk(timezone.now() + dt.timedelta(seconds=95)):
        walk.refresh_from_db()
        if walk.no_volunteer_at:
            break
    page = client.get(f"/walk/{walk.pk}/")
    assert b"No volunteer has accepted yet" in page.content
    assert b"Late-night pharmacy" in page.content and b"Until 2 a.m." in page.content
    assert b"Walk on with my contacts watching" in page.content

    response = client.post(f"/walk/{walk.pk}/watched/", follow=True)
    walk.refresh_from_db()
    assert walk.kind == "watched" and walk.state == "active"
    assert b"Your contacts are following your walk" in response.content
    assert b"I'm home safe" in response.content


# --- escort, hand-over and feedback ---------------------------------------------------------


def test_a_volunteer_accepts_and_both_see_each_other(personas: Any) -> None:
    walk, profile = _walk_with_escort(personas)
    assert walk.state == "active" and walk.escort == profile
    member_page = _client(personas.member).get(f"/walk/{walk.pk}/")
    assert b"Sam is on the way to you" in member_page.content
    assert b"Vetted volunteer, Rainbow Safety" in member_page.content
    assert b"I'm home safe" in member_page.content
    escort_page = _client(personas.volunteer).get(f"/walk/{walk.pk}/")
    assert b"Walk to meet them" in escort_page.content
    assert b"Green jacket, by the bus stop" in escort_page.content
    # The escort cannot check in for the person walking.
    assert b"data-checkin" not in escort_page.content


def test_check_in_hand_over_and_feedback(personas: Any) -> None:
    walk, _profile = _walk_with_escort(personas)
    member = _client(personas.member)
    escort = _client(personas.volunteer)
    # Only the escort confirms a hand-over.
    response = member.post(f"/walk/{walk.pk}/handover/", follow=True)
    assert "Only the escort confirms the hand-over." in _flashes(response)

    response = member.post(f"/walk/{walk.pk}/checkin/", follow=True)
    assert b"You're home safe" in response.content
    assert b"How did it go?" in response.content
    page = escort.get(f"/walk/{walk.pk}/")
    assert b"They are home safe" in page.content and b"Confirm hand-over" in page.content
    page = escort.post(f"/walk/{walk.pk}/handover/", follow=True)
    assert b"Hand-over confirmed." in page.content
    walk.refresh_from_db()
    assert walk.handover_confirmed_at is not None

    page = escort.post(
        f"/walk/{walk.pk}/feedback/", {"rating": "5", "comment": "All good"}, follow=True
    )
    assert "Thank you for your feedback." in _flashes(page)
    assert b"your feedback is recorded" in page.content

    response = member.post(f"/walk/{walk.pk}/feedback/", {"rating": "2", "something_happened": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/report/?walk={walk.pk}"
    assert WalkFeedback.objects.get(author=personas.member).something_happened
    response = member.post(f"/walk/{walk.pk}/feedback/", {"rating": "9"}, follow=True)
    assert "A rating is from 1 to 5." in _flashes(response)


def test_an_offer_someone_else_took_says_so(personas: Any) -> None:
    first = on_duty_volunteer(
        personas.volunteer, personas.org, [personas.caseworker, personas.admin]
    )
    other_user = personas.make_user("second-volunteer@example.org")
    second = on_duty_volunteer(
        other_user,
        personas.org,
        [personas.caseworker, personas.admin],
        first_name="Alex",
        at=NEARBY,
    )
    _ask(_client(personas.member))
    walk = Walk.objects.get()
    offers = {o.volunteer_id: o for o in WalkOffer.objects.filter(walk=walk)}
    assert set(offers) == {first.pk, second.pk}
    _client(other_user).post(f"/volunteer/offers/{offers[second.pk].pk}/accept/")
    response = _client(personas.volunteer).post(
        f"/volunteer/offers/{offers[first.pk].pk}/accept/", follow=True
    )
    assert "Someone else is already walking with them. Thank you!" in _flashes(response)
    # Someone else's offer is not found at all.
    assert (
        _client(personas.stranger)
        .post(f"/volunteer/offers/{offers[first.pk].pk}/decline/")
        .status_code
        == 404
    )


# --- a trusted contact's link ---------------------------------------------------------------


def test_a_trusted_contact_follows_the_walk_until_it_ends(personas: Any) -> None:
    walk, _profile = _walk_with_escort(personas)
    token = watch_token(walk)
    contact = Client()
    response = contact.get(f"/w/{token}/")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert b'<meta name="referrer" content="no-referrer">' in response.content
    assert token.encode() not in response.content
    assert b"Walking home with Sam" in response.content
    assert b"Vetted volunteer, Rainbow Safety" in response.content
    watch = WalkWatch.objects.get(walk=walk)
    assert contact.session["homesafe_watch"] == {"walk": str(walk.pk), "watch": str(watch.pk)}
    # The page's live updates re-read the same address as JSON: no destination for watchers.
    state = contact.get(f"/w/{token}/", headers={"Accept": "application/json"}).json()
    assert state["state"] == "active" and state["escort"]["first_name"] == "Sam"
    assert "destination" not in state and "note" not in state

    _client(personas.member).post(f"/walk/{walk.pk}/checkin/")
    ended = contact.get(f"/w/{token}/")
    assert ended.status_code == 404 and b"This walk has ended" in ended.content
    assert ended["Referrer-Policy"] == "no-referrer"
    assert contact.get(f"/w/{token}/", headers={"Accept": "application/json"}).status_code == 404


def test_a_revoked_or_unknown_watch_link_is_404(personas: Any) -> None:
    from django.utils import timezone

    walk, _profile = _walk_with_escort(personas)
    token = watch_token(walk)
    WalkWatch.objects.filter(walk=walk).update(revoked_at=timezone.now())
    response = Client().get(f"/w/{token}/")
    assert response.status_code == 404
    assert "homesafe_watch" not in Client().session
    assert Client().get("/w/not-a-real-token-at-all/").status_code == 404
    assert Client().get(f"/w/{'x' * 80}/").status_code == 404


# --- volunteering ---------------------------------------------------------------------------


def test_a_member_applies_to_volunteer(personas: Any) -> None:
    client = _client(personas.member)
    page = client.get("/volunteer/")
    assert b"Become a volunteer escort" in page.content
    response = client.post("/volunteer/apply/", {"first_name": "", "organisation": "rainbow"})
    assert response.status_code == 400
    assert b"Give the first name people will see" in response.content
    response = client.post(
        "/volunteer/apply/", {"first_name": "Kim", "organisation": "rainbow"}, follow=True
    )
    assert b"Applied: waiting for approval" in response.content
    assert VolunteerProfile.objects.get(user=personas.member).first_name == "Kim"
    assert b"Become a volunteer escort" not in response.content


def test_going_on_duty_needs_a_second_factor_and_the_error_shows(personas: Any) -> None:
    profile = services.volunteer_apply(
        user=personas.member, organisation=personas.org, first_name="Kim"
    )
    client = _client(personas.member)
    response = client.post(
        "/volunteer/duty/", {"organisation_id": personas.org.pk, "state": "on_duty"}, follow=True
    )
    assert "Only approved volunteers can go on duty." in _flashes(response)
    for approver in (personas.caseworker, personas.admin):
        services.volunteer_approve(profile=profile, approver=approver)
    response = client.post(
        "/volunteer/duty/", {"organisation_id": personas.org.pk, "state": "on_duty"}, follow=True
    )
    assert "Set up your second factor before going on duty." in _flashes(response)
    assert b"Set up or change your second factor" in response.content
    profile.refresh_from_db()
    assert profile.duty_state == "off_duty"


def test_an_on_duty_volunteer_sees_the_live_offers_section(personas: Any) -> None:
    on_duty_volunteer(personas.volunteer, personas.org, [personas.caseworker, personas.admin])
    client = _client(personas.volunteer)
    page = client.get("/volunteer/")
    assert b"data-volunteer-live" in page.content and b"On duty" in page.content
    _ask(_client(personas.member))
    page = client.get("/volunteer/")
    offers = page.context["offers"]
    assert len(offers) == 1 and offers[0]["party_size"] == 2
    response = client.post(
        "/volunteer/duty/", {"organisation_id": personas.org.pk, "state": "on_break"}, follow=True
    )
    assert b"On a break, no requests come to you" in response.content
    assert b"data-volunteer-live" not in response.content
    assert not client.get("/volunteer/").context["offers"]


# --- contacts and places --------------------------------------------------------------------


def test_trusted_contacts_are_added_and_removed(personas: Any) -> None:
    client = _client(personas.member)
    response = client.post("/account/contacts/", {"name": "Mum", "email": "not an email"})
    assert response.status_code == 400
    assert b"That email address does not look right." in response.content
    response = client.post(
        "/account/contacts/", {"name": "Mum", "email": "mum@example.org"}, follow=True
    )
    assert b"mum@example.org" in response.content
    contact = TrustedContact.objects.get(owner=personas.member)
    # Someone else cannot remove it.
    response = _client(personas.stranger).post(
        f"/account/contacts/{contact.pk}/remove/", follow=True
    )
    assert "No such contact." in _flashes(response)
    response = client.post(f"/account/contacts/{contact.pk}/remove/", follow=True)
    assert "Contact removed." in _flashes(response)
    assert not TrustedContact.objects.exists()


def test_saved_places_are_added_and_removed(personas: Any) -> None:
    client = _client(personas.member)
    response = client.post("/account/places/", {"label": "Home"})
    assert response.status_code == 400
    assert b"Put a pin on the map for this place." in response.content
    response = client.post(
        "/account/places/", {"label": "", "location_lat": "-41.29", "location_lng": "174.79"}
    )
    assert b"Give the place a short name" in response.content
    response = client.post(
        "/account/places/",
        {"label": "Home", "location_lat": "-41.2905", "location_lng": "174.7905"},
        follow=True,
    )
    assert "Place saved." in _flashes(response)
    place = SavedPlace.objects.get(owner=personas.member)
    assert place.point == {"lat": -41.2905, "lng": 174.7905}
    response = _client(personas.stranger).post(f"/account/places/{place.pk}/remove/", follow=True)
    assert "No such place." in _flashes(response)
    client.post(f"/account/places/{place.pk}/remove/")
    assert not SavedPlace.objects.exists()


# --- staff: vetting volunteers --------------------------------------------------------------


def test_the_staff_page_needs_verified_staff(personas: Any, verified_login: Any) -> None:
    assert Client().get("/staff/volunteers/").status_code == 302
    assert _client(personas.member).get("/staff/volunteers/").status_code == 404
    password_only = Client()
    password_only.force_login(personas.caseworker)
    unverified = password_only.get("/staff/volunteers/")
    assert unverified.status_code == 302 and "/account/mfa/verify/" in unverified["Location"]
    verified = verified_login(Client(), personas.caseworker)
    assert verified.get("/staff/volunteers/").status_code == 200


def test_two_staff_approve_and_an_admin_pauses_and_reinstates(
    personas: Any, verified_login: Any
) -> None:
    profile = services.volunteer_apply(
        user=personas.member, organisation=personas.org, first_name="Kim"
    )
    caseworker = verified_login(Client(), personas.caseworker)
    admin = verified_login(Client(), personas.admin)
    page = caseworker.get("/staff/volunteers/")
    assert b"Kim" in page.content and b"0 of 2 approvals" in page.content
    assert b"Pause" not in page.content  # caseworkers approve; only admins change standing

    response = caseworker.post(f"/staff/volunteers/{profile.pk}/approve/", follow=True)
    assert "Another staff member needs to approve too." in " ".join(_flashes(response))
    assert b"You approved" in response.content
    response = caseworker.post(f"/staff/volunteers/{profile.pk}/approve/", follow=True)
    assert "You have already approved this volunteer." in _flashes(response)
    response = caseworker.post(
        f"/staff/volunteers/{profile.pk}/status/", {"status": "paused"}, follow=True
    )
    assert "Only an organisation admin can change a volunteer's standing." in _flashes(response)

    response = admin.post(f"/staff/volunteers/{profile.pk}/approve/", follow=True)
    assert "Kim is approved and can now go on duty." in _flashes(response)
    response = admin.post(
        f"/staff/volunteers/{profile.pk}/status/",
        {"status": "paused", "reason": "holiday"},
        follow=True,
    )
    assert "Kim is now: Paused." in _flashes(response)
    profile.refresh_from_db()
    assert profile.status == "paused" and profile.status_reason == "holiday"
    admin.post(f"/staff/volunteers/{profile.pk}/status/", {"status": "approved"})
    profile.refresh_from_db()
    assert profile.status == "approved"

    # Staff of another organisation see nothing and can do nothing.
    other = verified_login(Client(), personas.other_caseworker)
    assert b"Kim" not in other.get("/staff/volunteers/").content
    assert other.post(f"/staff/volunteers/{profile.pk}/approve/").status_code == 404
