"""The base socket in real headless Chromium: a page of the site gets its pushes; a page of
another origin on the same host (so the browser sends the user's cookie along, the cross-site
WebSocket hijacking case) is refused."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from homesafe.realtime import events
from homesafe.realtime.tests.conftest import session_cookie

pytestmark = pytest.mark.browser

# Functions only: the site's CSP (no 'unsafe-eval') refuses Playwright's string predicates.
OPEN_SOCKET = """([url]) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    window.got = [];
    ws.onopen = () => resolve({opened: true});
    ws.onmessage = (e) => window.got.push(JSON.parse(e.data));
    ws.onclose = (e) => resolve({closed: e.code, opened: false});
})"""
TWO_MESSAGES = """() => new Promise((resolve) => {
    const check = () => window.got.length >= 2 ? resolve(window.got) : setTimeout(check, 20);
    check();
})"""


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A blank page served from another port of the same host: another origin."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>elsewhere</title>")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _logged_in_context(chromium: Any, server: Any, user: Any) -> Any:
    context = chromium.new_context()
    name, value = session_cookie(user).split("=", 1)
    context.add_cookies([{"name": name, "value": value, "url": server.url}])
    return context


def test_a_page_of_the_site_gets_its_pushes_and_another_origin_is_refused(
    asgi_server: Any, diagnostic_routes: Any, personas: Any, chromium: Any, other_origin: str
) -> None:
    group = f"test.{uuid.uuid4().hex}"
    url = asgi_server.url.replace("http://", "ws://") + f"/ws/diag/?follow={group}"
    context = _logged_in_context(chromium, asgi_server, personas.member)
    try:
        page = context.new_page()
        page.goto(f"{asgi_server.url}/healthz")
        assert page.evaluate(OPEN_SOCKET, [url]) == {"opened": True}
        events.publish(group, {"type": "test", "n": 1})
        events.publish(f"test.{uuid.uuid4().hex}", {"type": "test", "n": "elsewhere"})
        events.publish(group, {"type": "test", "n": 2})
        assert page.evaluate(TWO_MESSAGES) == [{"type": "test", "n": 1}, {"type": "test", "n": 2}]

        foreign = context.new_page()
        foreign.goto(other_origin)
        result = foreign.evaluate(OPEN_SOCKET, [url])
        assert result == {"closed": 1006, "opened": False}
    finally:
        context.close()
