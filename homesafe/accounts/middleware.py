"""Staff sessions are short: whoever holds a case role is logged out after 12 hours."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

STAFF_STARTED = "homesafe_staff_started"


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = request.session.get(STAFF_STARTED) if hasattr(request, "session") else None
        if started is not None and time.time() - float(started) > settings.STAFF_SESSION_SECONDS:
            logout(request)
        return self.get_response(request)
