"""The base consumer, through the production WebSocket stack, with Channels' communicator."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator

from conftest import login_verified
from homesafe.realtime.consumers import origin_allowed
from homesafe.realtime.hub import hub
from homesafe.realtime.tests.conftest import session_cookie

SITE = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


def _connect(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, Any]:
    async def attempt() -> tuple[bool, Any]:
        communicator = WebsocketCommunicator(app, path, headers=headers)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return async_to_sync(attempt)()


def test_it_refuses_anonymous_users(transactional_db: Any, diagnostic_routes: Any) -> None:
    assert _connect(diagnostic_routes, "/ws/diag/?follow=walk.a", SITE) == (False, 1000)


def test_it_lets_anonymous_sockets_through_when_the_consumer_allows(
    transactional_db: Any, diagnostic_routes: Any
) -> None:
    assert _connect(diagnostic_routes, "/ws/diag-open/?follow=walk.a", SITE)[0] is True


def test_it_refuses_a_socket_authorized_for_no_group(
    transactional_db: Any, personas: Any, diagnostic_routes: Any
) -> None:
    cookie = (b"cookie", session_cookie(personas.member).encode())
    assert _connect(diagnostic_routes, "/ws/diag/?follow=", [*SITE, cookie])[0] is False
    assert _connect(diagnostic_routes, "/ws/diag/?follow=walk.a", [*SITE, cookie])[0] is True


@pytest.mark.parametrize(
    "origin",
    [None, b"http://evil.example", b"null", b"http://testserver.evil.example",
     b"http://user@testserver"],
)
def test_it_refuses_foreign_or_missing_origins(
    transactional_db: Any, personas: Any, diagnostic_routes: Any, origin: bytes | None
) -> None:
    headers = [(b"host", b"testserver"), (b"cookie", session_cookie(personas.member).encode())]
    if origin is not None:
        headers.append((b"origin", origin))
    assert _connect(diagnostic_routes, "/ws/diag/?follow=walk.a", headers)[0] is False


def test_it_gives_the_socket_user_the_second_factor_state_of_the_session(
    transactional_db: Any, personas: Any, diagnostic_routes: Any
) -> None:
    from django.test import Client

    verified = login_verified(Client(), personas.caseworker)
    half = Client()
    half.force_login(personas.caseworker)  # password only: no second factor yet

    async def echo(cookie: str) -> Any:
        communicator = WebsocketCommunicator(
            diagnostic_routes, "/ws/diag/?follow=walk.a",
            headers=[*SITE, (b"cookie", cookie.encode())],
        )
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"hello": 1})
        reply = await communicator.receive_json_from()
        await communicator.disconnect()
        return reply

    assert async_to_sync(echo)(f"sessionid={verified.cookies['sessionid'].value}") == {
        "type": "echo", "content": {"hello": 1}, "user": "caseworker@example.org",
        "verified": True,
    }
    assert async_to_sync(echo)(f"sessionid={half.cookies['sessionid'].value}")["verified"] is False


def test_it_closes_on_frames_that_are_not_a_json_object(
    transactional_db: Any, diagnostic_routes: Any
) -> None:
    async def scenario() -> list[Any]:
        closes = []
        for frame in ("not json", "[1, 2]"):
            communicator = WebsocketCommunicator(diagnostic_routes, "/ws/diag-open/?follow=a", SITE)
            assert (await communicator.connect())[0]
            await communicator.send_to(text_data=frame)
            closes.append(await communicator.receive_output())
            await communicator.disconnect()
        return closes

    assert async_to_sync(scenario)() == [{"type": "websocket.close", "code": 1003}] * 2


def test_it_follows_its_groups_in_the_hub_and_forwards_their_messages(
    transactional_db: Any, diagnostic_routes: Any, settings: Any
) -> None:
    settings.REDIS_URL = ""
    group = f"walk.{uuid.uuid4()}"

    async def scenario() -> tuple[Any, Any, int]:
        communicator = WebsocketCommunicator(
            diagnostic_routes, f"/ws/diag-open/?follow={group},volunteer.x", SITE
        )
        assert (await communicator.connect())[0]
        [outbox] = hub.members(group)
        hub.dispatch(group, {"type": "walk.state", "state": "active"})
        received = await communicator.receive_json_from()
        groups = hub.groups_of(outbox)
        await communicator.disconnect()
        return received, groups, len(hub.members(group))

    received, groups, left = async_to_sync(scenario)()
    assert received == {"type": "walk.state", "state": "active"}
    assert groups == {group, "volunteer.x"}
    assert left == 0


def test_sockets_get_no_channels_channel_layer() -> None:
    from channels.layers import get_channel_layer

    from homesafe.realtime.consumers import HomesafeSocket

    # With channels_redis, a channel layer would mean one Redis subscription per socket.
    assert get_channel_layer(HomesafeSocket.channel_layer_alias) is None


def test_a_staff_socket_closes_when_the_staff_session_limit_runs_out(
    transactional_db: Any, personas: Any, diagnostic_routes: Any, settings: Any
) -> None:
    import time

    from django.contrib.sessions.backends.db import SessionStore

    from homesafe.accounts.middleware import STAFF_STARTED

    cookie = session_cookie(personas.caseworker)
    session = SessionStore(cookie.split("=", 1)[1])
    session[STAFF_STARTED] = time.time() - settings.STAFF_SESSION_SECONDS + 0.5
    session.save()

    async def scenario() -> Any:
        communicator = WebsocketCommunicator(
            diagnostic_routes, "/ws/diag/?follow=walk.a", [*SITE, (b"cookie", cookie.encode())]
        )
        assert (await communicator.connect())[0]
        closed = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}


def _scope(origin: str | None, host: str = "safe.example.org") -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"headers": headers}


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("https://safe.example.org", "safe.example.org", True),
        ("https://safe.example.org", "safe.example.org:443", True),
        ("http://safe.example.org:8000", "safe.example.org:8000", True),
        ("HTTPS://SAFE.example.org", "Safe.Example.org", True),
        ("https://safe.example.org:8443", "safe.example.org", False),
        ("http://safe.example.org:8001", "safe.example.org:8000", False),  # same host, other port
        ("https://other.example.org", "safe.example.org", False),
        ("https://safe.example.org", "unlisted.example.org", False),
        ("https://unlisted.example.org", "unlisted.example.org", False),  # not an allowed host
        ("ftp://safe.example.org", "safe.example.org", False),
        (None, "safe.example.org", False),
        ("null", "safe.example.org", False),
        ("https://app.example.org", "safe.example.org", True),  # a CSRF trusted origin
    ],
)
def test_origin_rules(settings: Any, origin: str | None, host: str, allowed: bool) -> None:
    settings.ALLOWED_HOSTS = ["safe.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.org"]
    assert origin_allowed(_scope(origin, host)) is allowed
