"""Test-only sockets and a publishing view: never in production routing.

`DiagnosticSocket` (logged-in users) and `OpenDiagnosticSocket` (anyone) follow the groups named
in `?follow=a,b` and echo what the client sends. `publish_view` publishes on commit, as a service
would, from a request; it is mounted only by `diagnostic_settings` (test server processes)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from homesafe.realtime import events
from homesafe.realtime.consumers import HomesafeSocket


class DiagnosticSocket(HomesafeSocket):
    async def authorize(self) -> list[str]:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        return [g for g in query.get("follow", [""])[0].split(",") if g]

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        user = self.scope["user"]
        await self.send_json({"type": "echo", "content": content,
                              "user": getattr(user, "email", None),
                              "verified": user.is_verified()})


class OpenDiagnosticSocket(DiagnosticSocket):
    allow_anonymous = True


websocket_routes = [
    path("ws/diag/", DiagnosticSocket.as_asgi()),
    path("ws/diag-open/", OpenDiagnosticSocket.as_asgi()),
]


@csrf_exempt
@require_POST
def publish_view(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    with transaction.atomic():
        events.publish_on_commit(body["group"], body["message"])
    return HttpResponse(status=204)


urlpatterns = [
    path("diag/publish/", publish_view),
    path("", include("config.urls")),
]
