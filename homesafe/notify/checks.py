"""Deployment checks for notification delivery (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def notification_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    if settings.PRODUCTION and not settings.SMTP_HOST:
        return [Warning(
            "Production without HOMESAFE_SMTP_HOST: alert emails go to an SMTP server on "
            "localhost:25. Set HOMESAFE_SMTP_HOST (localhost is fine if that is intended).",
            id="homesafe.W010")]
    return []
