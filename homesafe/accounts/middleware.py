"""Staff sessions are short: whoever holds a staff role is logged out after 12 hours, also
when the role was granted while they were already logged in."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from homesafe.accounts.selectors import has_staff_role

STAFF_STARTED = "homesafe_staff_started"


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            started = session.get(STAFF_STARTED)
            if started is None and has_staff_role(user):
                start_staff_session(request)
            elif (
                started is not None
                and time.time() - float(started) > settings.STAFF_SESSION_SECONDS
            ):
                logout(request)
        return self.get_response(request)


def start_staff_session(request: HttpRequest) -> None:
    """Cap this session at the staff limit, counted from now."""
    request.session.set_expiry(settings.STAFF_SESSION_SECONDS)
    request.session[STAFF_STARTED] = time.time()
