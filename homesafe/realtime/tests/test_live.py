"""A real uvicorn (conftest's `asgi_server`) and the `websockets` client library.

These run on whichever backend the environment selects: in-process without REDIS_URL, through
Redis with it (then the server's subscriber routes what the test process publishes)."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from typing import Any

import pytest
from django.db import transaction
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from homesafe.realtime import events
from homesafe.realtime.hub import hub
from homesafe.realtime.tests.conftest import session_cookie


def _open(server: Any, path: str, *, origin: str | None = "", cookie: str = "") -> ClientConnection:
    url = server.url.replace("http://", "ws://") + path
    headers = {"Cookie": cookie} if cookie else {}
    return connect(
        url,
        origin=server.url if origin == "" else origin,  # type: ignore[arg-type]
        additional_headers=headers,
        proxy=None,
        open_timeout=10,
    )


def _refused(server: Any, path: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        _open(server, path, **kwargs)
    return refused.value.response.status_code


def _group() -> str:
    return f"test.{uuid.uuid4().hex}"


def test_it_refuses_a_foreign_origin(
    asgi_server: Any, diagnostic_routes: Any, personas: Any
) -> None:
    cookie = session_cookie(personas.member)
    assert _refused(asgi_server, "/ws/diag/?follow=a", origin="http://evil.example",
                    cookie=cookie) == 403
    assert _refused(asgi_server, "/ws/diag/?follow=a", origin=None, cookie=cookie) == 403


def test_it_refuses_an_unauthenticated_socket(asgi_server: Any, diagnostic_routes: Any) -> None:
    assert _refused(asgi_server, "/ws/diag/?follow=a") == 403
    assert _refused(asgi_server, "/ws/diag/?follow=a", cookie="sessionid=forged") == 403


def test_a_socket_gets_its_groups_messages_and_no_others(
    asgi_server: Any, diagnostic_routes: Any, personas: Any
) -> None:
    x, y = _group(), _group()
    with _open(asgi_server, f"/ws/diag/?follow={x}", cookie=session_cookie(personas.member)) as ws:
        events.publish(y, {"type": "test", "n": 0})
        events.publish(x, {"type": "test", "n": 1})
        with transaction.atomic():
            events.publish_on_commit(x, {"type": "test", "n": 2})
        assert ws.recv(timeout=5) == '{"type":"test","n":1}'
        assert ws.recv(timeout=5) == '{"type":"test","n":2}'
        events.publish(y, {"type": "test", "n": 3})
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)

        ws.send('{"ping": true}')
        assert json.loads(ws.recv(timeout=5))["user"] == "member@example.org"


def test_it_refuses_sockets_once_the_staff_session_limit_has_passed(
    asgi_server: Any, diagnostic_routes: Any, personas: Any, settings: Any
) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    from homesafe.accounts.middleware import STAFF_STARTED

    cookie = session_cookie(personas.caseworker)
    session = SessionStore(cookie.split("=", 1)[1])
    session[STAFF_STARTED] = time.time() - settings.STAFF_SESSION_SECONDS - 1
    session.save()
    assert _refused(asgi_server, "/ws/diag/?follow=a", cookie=cookie) == 403


def _silent_client(server: Any, path: str) -> socket.socket:
    """A WebSocket handshake by hand, then never another read: a client that stopped
    reading (a phone in a dead spot). A small receive buffer makes it fill quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Origin: {server.url}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def test_a_client_that_stops_reading_is_dropped_without_holding_up_the_others(
    asgi_server: Any, diagnostic_routes: Any
) -> None:
    group = _group()
    silent = _silent_client(asgi_server, f"/ws/diag-open/?follow={group}")
    with _open(asgi_server, f"/ws/diag-open/?follow={group}") as ws:
        assert len(hub.members(group)) == 2  # joined before the handshake was answered
        # 200 incompressible 48 KB messages: far more than the silent socket's buffers hold.
        blob = base64.b64encode(os.urandom(36_000)).decode()
        started = time.monotonic()
        for n in range(200):
            events.publish(group, {"n": n, "blob": blob})
            assert str(ws.recv(timeout=10)).startswith(f'{{"n":{n},')
        assert time.monotonic() - started < 20
        # The silent client fell behind and was let go; the reader is still there.
        deadline = time.monotonic() + 5
        while len(hub.members(group)) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(hub.members(group)) == 1
    silent.close()


def test_a_closed_socket_leaves_its_groups(asgi_server: Any, diagnostic_routes: Any) -> None:
    group = _group()
    with _open(asgi_server, f"/ws/diag-open/?follow={group}") as ws:
        assert len(hub.members(group)) == 1
        ws.close()
        deadline = time.monotonic() + 5
        while hub.members(group) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert hub.members(group) == ()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=1)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis pass)")
def test_the_subscriber_comes_back_after_losing_redis_and_asks_clients_to_resync(
    asgi_server: Any, diagnostic_routes: Any, settings: Any
) -> None:
    import redis

    from homesafe.realtime.bus import subscriber_name

    group = _group()
    with _open(asgi_server, f"/ws/diag-open/?follow={group}") as ws:
        events.publish(group, {"n": 1})
        assert ws.recv(timeout=5) == '{"n":1}'
        admin = redis.Redis.from_url(settings.REDIS_URL)
        [ours] = [c for c in admin.client_list() if c["name"] == subscriber_name()]
        admin.client_kill_filter(_id=ours["id"])  # as if Redis restarted under us
        assert json.loads(ws.recv(timeout=10)) == {"type": "realtime.resync"}
        events.publish(group, {"n": 2})
        assert ws.recv(timeout=5) == '{"n":2}'
        admin.close()
