"""ASGI entry point: Django for HTTP, Channels for WebSockets (routes added by later pillars)."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# WhiteNoise streams static files from a synchronous iterator; Django warns on every file under
# ASGI. The files are small and cached by browsers, so the note is only noise in the logs.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")

django_asgi_app = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi_app})
