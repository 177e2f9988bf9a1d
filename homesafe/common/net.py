"""The client's network address, as far as this deployment can trust it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# Recorded for a request without a usable peer address (a unix socket, a test client's
# force_login). It must be a real address: axes stores it in an inet column on PostgreSQL.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - a placeholder value, nothing binds to it


def _address(value: object) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the Nth trusted proxy saw when proxies are configured.

    Anything left of the trusted proxies in X-Forwarded-For was written by the client and is
    ignored, so rotating that header cannot dodge login throttling.
    """
    remote = _address(request.META.get("REMOTE_ADDR", "")) or UNKNOWN_ADDRESS
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if count <= 0:
        return remote
    forwarded = [p.strip() for p in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [p for p in forwarded if p]
    if len(forwarded) < count:
        return remote
    return _address(forwarded[-count]) or remote
