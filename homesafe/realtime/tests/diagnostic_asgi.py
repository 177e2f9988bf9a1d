"""The production ASGI application plus the diagnostic sockets, for test server processes:
`python -m uvicorn homesafe.realtime.tests.diagnostic_asgi:application`."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homesafe.realtime.tests.diagnostic_settings")

from config.asgi import application  # noqa: E402
from homesafe.realtime.routing import websocket_urlpatterns  # noqa: E402
from homesafe.realtime.tests.diagnostic import websocket_routes  # noqa: E402

websocket_urlpatterns.extend(websocket_routes)

__all__ = ["application"]
