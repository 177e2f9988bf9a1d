"""Cross-cutting views: health, home, rate-limit answer."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        database = False
    body = {
        "status": "ok" if database else "error",
        "database": database,
        "version": settings.HOMESAFE_VERSION,
    }
    return JsonResponse(body, status=200 if database else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = _("Too many attempts. Please wait a few minutes and try again.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "rate_limited", "message": message}, status=429)
    return render(request, "error.html", {"message": message}, status=429)
