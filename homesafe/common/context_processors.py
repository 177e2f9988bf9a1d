from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def site(request: HttpRequest) -> dict[str, Any]:
    def shows_cases() -> bool:
        from homesafe.accounts.selectors import has_case_role

        return has_case_role(getattr(request, "user", None))

    return {
        "QUICK_EXIT_URL": settings.QUICK_EXIT_URL,
        "HOMESAFE_VERSION": settings.HOMESAFE_VERSION,
        # Evaluated only by templates that ask (the nav), at most once per render.
        "SHOWS_CASES": SimpleLazyObject(shows_cases),
    }
