"""ASGI entry point: Django for HTTP (behind the evidence upload guard); WebSockets through
Channels' origin, session and auth middleware to the routes every app lists
(homesafe/realtime/routing.py)."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# WhiteNoise streams static files from a synchronous iterator; Django warns on every file under
# ASGI. The files are small and cached by browsers, so the note is only noise in the logs.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")

django_asgi_app = get_asgi_application()

from homesafe.evidence.asgi import UploadBodyGuard  # noqa: E402  (needs apps loaded)
from homesafe.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Evidence chunks too large for their upload are refused from the headers, unread.
        "http": UploadBodyGuard(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
