"""Parsing casework form posts into typed values; anything malformed is a DomainError (400)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from homesafe.common.errors import DomainError

# The reminder choices offered on the task form, in minutes before the due time.
REMIND_CHOICES: list[tuple[str, object]] = [
    ("", _lazy("No reminder")),
    ("0", _lazy("At the due time")),
    ("60", _lazy("1 hour before")),
    ("1440", _lazy("1 day before")),
]


def local_datetime(value: str | None, tz_name: str, *, field: str) -> dt.datetime:
    """A `datetime-local` value ("2026-03-04T14:30") read in the organisation's timezone."""
    try:
        naive = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise DomainError(_("Enter a date and time."), field=field)
    if naive.tzinfo is not None:
        raise DomainError(_("Enter a date and time."), field=field)
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(tz_name))


def optional_int(value: str | None, *, field: str) -> int | None:
    """An id or number from a select; empty or "0" means none."""
    if value in (None, "", "0"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise DomainError(_("Choose one of the options."), field=field)
    if number < 0:
        raise DomainError(_("Choose one of the options."), field=field)
    return number


def remind_minutes(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if value not in {code for code, _label in REMIND_CHOICES}:
        raise DomainError(_("Choose one of the reminder options."), field="remind")
    return int(value)
