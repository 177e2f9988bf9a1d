"""Every app's WebSocket routes, in one list for config/asgi.py.

An app with sockets lists them in its own `routing.py` as `websocket_urlpatterns` (the walks
app: `ws/walks/...`); they are collected here in INSTALLED_APPS order when config/asgi.py
imports this module. Appending to this list from an app's `routing.py` or `ready()` works too.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

websocket_urlpatterns: list[Any] = []


def _collect() -> None:
    for app in apps.get_app_configs():
        if not app.name.startswith("homesafe.") or app.name == __package__:
            continue
        module_name = f"{app.name}.routing"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        patterns = getattr(module, "websocket_urlpatterns", None)
        if patterns is not None and patterns is not websocket_urlpatterns:
            websocket_urlpatterns.extend(p for p in patterns if p not in websocket_urlpatterns)


_collect()
