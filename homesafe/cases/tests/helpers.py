"""Small factories for the cases tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from homesafe.reports import services as report_services
from homesafe.reports.models import Report
from homesafe.reports.schemas import ReportIn


def make_report(org: Any, **fields: Any) -> Report:
    data = ReportIn.model_validate({"reporter_role": "victim", "organisation": org.slug, **fields})
    return report_services.report_submit(data=data).report


def in_hours(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def local_input(when: dt.datetime, tz: str = "Pacific/Auckland") -> str:
    """A datetime as a `datetime-local` form value in the organisation's timezone."""
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def verified(user: Any) -> Any:
    """The user as in a request after the second factor (django-otp's middleware sets this)."""
    user.is_verified = lambda: True
    return user
