from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "QUICK_EXIT_URL": settings.QUICK_EXIT_URL,
        "HOMESAFE_VERSION": settings.HOMESAFE_VERSION,
    }
