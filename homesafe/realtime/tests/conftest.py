from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def diagnostic_routes() -> Iterator[Any]:
    """The test-only sockets, added to the production WebSocket routes for one test."""
    import config.asgi
    from homesafe.realtime.routing import websocket_urlpatterns
    from homesafe.realtime.tests.diagnostic import websocket_routes

    websocket_urlpatterns.extend(websocket_routes)
    yield config.asgi.application
    for route in websocket_routes:
        websocket_urlpatterns.remove(route)


def session_cookie(user: Any) -> str:
    """`sessionid=...` of a fresh login of `user` (Django's test client, as a browser would)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
