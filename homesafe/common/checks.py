"""System checks for settings that are dangerous in production (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if not settings.PRODUCTION:
        problems.append(Warning(
            "HOMESAFE_PRODUCTION is not set: HTTPS redirect, HSTS and secure cookies are off.",
            id="homesafe.W001"))
        return problems
    if not settings.ENCRYPTION_KEYS:
        problems.append(Error(
            "Encryption keys must come from HOMESAFE_ENCRYPTION_KEYS(_FILE) in production, "
            "not a key file beside the data.", id="homesafe.E001"))
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(Warning(
            "Production on SQLite: set DATABASE_URL to PostgreSQL.", id="homesafe.W002"))
    if not settings.REDIS_URL:
        problems.append(Warning(
            "Production without Redis: rate limits and live updates are per process. "
            "Set REDIS_URL.", id="homesafe.W003"))
    return problems
