"""The walk WebSocket over a real uvicorn: offers reach volunteers live, positions flow to the
people on the walk, and nobody else can follow it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from homesafe.realtime.tests.conftest import session_cookie
from homesafe.walks import services
from homesafe.walks.models import WalkOffer
from homesafe.walks.tests.conftest import request_walk

pytestmark = pytest.mark.django_db(transaction=True)


def _open(server: Any, cookie: str = "", origin: str | None = "") -> ClientConnection:
    return connect(
        server.url.replace("http://", "ws://") + "/ws/walks/live/",
        origin=server.url if origin == "" else origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie} if cookie else {},
        proxy=None,
        open_timeout=10,
    )


def _next_of(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == kind:
            return message


def test_it_pushes_offers_and_withdrawals_to_volunteers(asgi_server: Any, world: Any) -> None:
    a = world.volunteer("a@example.org", north_m=100, east_m=0)
    b = world.volunteer("b@example.org", north_m=200, east_m=0)
    with (
        _open(asgi_server, session_cookie(a.user)) as ws_a,
        _open(asgi_server, session_cookie(b.user)) as ws_b,
    ):
        walk = request_walk(world)
        offer_a = _next_of(ws_a, "offer.new")["offer"]
        offer_b = _next_of(ws_b, "offer.new")["offer"]
        assert offer_a["walk_id"] == str(walk.pk) and offer_a["party_size"] == 1
        assert offer_a["pickup"]["precision_m"] == 100 and "destination" not in offer_a
        services.walk_accept(offer=WalkOffer.objects.get(pk=offer_a["id"]), profile=a)
        assert _next_of(ws_b, "offer.withdrawn")["offer_id"] == offer_b["id"]


def test_it_streams_positions_to_the_walkers_and_their_contacts_only(
    asgi_server: Any, world: Any
) -> None:
    from django.test import Client

    from homesafe.accounts.models import User

    escort = world.volunteer("escort@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    with _open(asgi_server, session_cookie(escort.user)) as ws_escort:
        services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=escort)
        ws_escort.send(json.dumps({"type": "refresh"}))  # follow the walk just accepted
        with _open(asgi_server, session_cookie(world.member)) as ws_member:
            # A trusted contact opens their link in a browser session (no account).
            token, digest = services._watch_token()
            from homesafe.walks.models import WalkWatch

            WalkWatch.objects.create(walk=walk, contact=world.contacts[0], token_hash=digest)
            contact = Client()
            assert contact.get(f"/w/{token}/").status_code == 200
            cookie = f"sessionid={contact.cookies['sessionid'].value}"
            with _open(asgi_server, cookie) as ws_contact:
                stranger = User.objects.create_user(email="s@example.org", password="long pw 123")
                # A stranger is refused: they have nothing to follow.
                with pytest.raises(InvalidStatus):
                    _open(asgi_server, session_cookie(stranger))
                services.walk_position(
                    walk=walk, user=world.member, location={"lat": -41.2941, "lng": 174.7801}
                )
                for ws in (ws_escort, ws_member, ws_contact):
                    moved = _next_of(ws, "walk.position")
                    assert moved["role"] == "requester"
                    assert moved["point"]["lat"] == -41.2941
                services.volunteer_position(
                    profile=escort, location={"lat": -41.2942, "lng": 174.7802}
                )
                assert _next_of(ws_member, "walk.position")["role"] == "escort"
                services.walk_checkin(walk=walk, user=world.member)
                for ws in (ws_escort, ws_member, ws_contact):
                    assert _next_of(ws, "walk.state")["walk"]["state"] == "ended"
            # The walk has ended: the contact's link no longer opens it.
            assert contact.get(f"/w/{token}/").status_code == 404


def test_it_refuses_a_foreign_origin_and_nobody_in_particular(asgi_server: Any, world: Any) -> None:
    request_walk(world)
    with pytest.raises(InvalidStatus):
        _open(asgi_server, session_cookie(world.member), origin="https://evil.example")
    with pytest.raises(InvalidStatus):
        _open(asgi_server)  # no session, no watch: nothing to follow


def test_a_revoked_link_stops_at_once_even_on_an_open_socket(asgi_server: Any, world: Any) -> None:
    from django.test import Client

    from homesafe.walks.models import WalkWatch

    escort = world.volunteer("escort@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=escort)
    watch = WalkWatch.objects.filter(walk=walk).first()
    assert watch is not None  # made on accept, one per trusted contact
    token, digest = services._watch_token()
    WalkWatch.objects.filter(pk=watch.pk).update(token_hash=digest)
    contact = Client()
    assert contact.get(f"/w/{token}/").status_code == 200
    cookie = f"sessionid={contact.cookies['sessionid'].value}"
    with _open(asgi_server, cookie) as ws_contact:
        services.walk_position(
            walk=walk, user=world.member, location={"lat": -41.2941, "lng": 174.7801}
        )
        assert _next_of(ws_contact, "walk.position")["role"] == "requester"
        member = Client()
        member.force_login(world.member)
        page = member.get(f"/walk/{walk.pk}/")
        assert b"Stop sharing with Flatmate" in page.content
        member.post(f"/walk/{walk.pk}/unshare/", {"watch_id": str(watch.pk)})
        assert _next_of(ws_contact, "watch.revoked")
        with pytest.raises(ConnectionClosed) as closed:  # by the server, not a timeout
            while True:
                message = json.loads(ws_contact.recv(timeout=3))
                assert message["type"] != "walk.position"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert contact.get(f"/w/{token}/").status_code == 404
    with pytest.raises(InvalidStatus):
        _open(asgi_server, cookie)
    services.walk_position(
        walk=walk, user=world.member, location={"lat": -41.2942, "lng": 174.7802}
    )
