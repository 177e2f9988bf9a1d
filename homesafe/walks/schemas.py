"""Input shapes for the walk API (validated by django-ninja / pydantic)."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from homesafe.reports.schemas import LocationIn


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WalkRequestSchema(StrictIn):
    organisation: str | None = Field(default=None, max_length=60)
    start: LocationIn
    destination: LocationIn
    destination_label: str = Field(default="", max_length=120)
    party_size: int = Field(default=1, ge=1, le=10)
    note: str = Field(default="", max_length=500)
    kind: Literal["escorted", "watched"] = "escorted"


class FeedbackIn(StrictIn):
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=5000)
    something_happened: bool = False


class ApplyIn(StrictIn):
    organisation: str | None = Field(default=None, max_length=60)
    first_name: str = Field(min_length=1, max_length=40)


class DutyIn(StrictIn):
    state: Literal["on_duty", "off_duty", "on_break"]


class VolunteerStatusIn(StrictIn):
    status: Literal["approved", "paused", "suspended", "rejected"]
    reason: str = Field(default="", max_length=40)


class WatchTokenIn(StrictIn):
    token: str = Field(min_length=10, max_length=64)
