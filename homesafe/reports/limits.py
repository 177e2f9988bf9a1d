"""Rate limits shared by the report pages and the API (same groups, so they add up)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited


def submit_limited(request: HttpRequest) -> bool:
    """Count one report submission from this address; True once over the limit."""
    return bool(
        is_ratelimited(
            request,
            group="report-submit",
            key="ip",
            rate=settings.RATE_REPORT_SUBMIT,
            increment=True,
        )
    )


def code_lookup_limited(request: HttpRequest) -> bool:
    """Count one use of a reference code from this address; True once over the limit."""
    return bool(
        is_ratelimited(
            request, group="report-code", key="ip", rate=settings.RATE_CODE_LOOKUP, increment=True
        )
    )
