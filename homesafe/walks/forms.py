"""Turning the walk pages' form posts into service input, with plain-language errors per field.
The limits are the API's (homesafe/walks/schemas.py), so the page and the API agree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from pydantic import ValidationError

from homesafe.reports.schemas import LocationIn
from homesafe.walks.models import SavedPlace
from homesafe.walks.schemas import WalkRequestSchema
from homesafe.walks.services import WalkRequestIn

Errors = dict[str, list[str]]


def _point(post: QueryDict, prefix: str) -> dict[str, str] | None:
    lat, lng = post.get(f"{prefix}_lat", "").strip(), post.get(f"{prefix}_lng", "").strip()
    if not lat or not lng:
        return None
    return {"lat": lat[:32], "lng": lng[:32]}


def _friendly(field: str) -> str:
    return {
        "start": _("We could not read where you are. Use your location or tap the map again."),
        "destination": _("We could not read where you are going. Choose a place or a pin."),
        "party_size": _("Party size is between 1 and 10."),
        "note": _("The note can be up to 500 characters."),
        "destination_label": _("The place name is too long."),
    }.get(field, _("Please check this answer."))


def parse_walk_request(
    post: QueryDict, places: Sequence[SavedPlace]
) -> tuple[WalkRequestIn | None, str | None, Errors]:
    """The request form's POST as WalkRequestIn plus the organisation slug, or field errors."""
    errors: Errors = {}
    start = _point(post, "start")
    if start is None:
        errors["start"] = [_("Tell us where you are: use your location or tap the map.")]
    choice = post.get("destination", "")
    label = ""
    destination: dict[str, Any] | None = None
    if choice.startswith("place:"):
        place = next((p for p in places if f"place:{p.pk}" == choice), None)
        if place is not None and place.point:
            destination, label = dict(place.point), place.label or ""
    elif choice == "pin":
        destination = _point(post, "destination")
    if destination is None and "destination" not in errors:
        errors["destination"] = [
            _("Tell us where you are going: choose a saved place or put a pin on the map.")
        ]
    if errors:
        return None, None, errors
    try:
        parsed = WalkRequestSchema.model_validate(
            {
                "organisation": post.get("organisation") or None,
                "start": start,
                "destination": destination,
                "destination_label": label,
                "party_size": post.get("party_size") or 1,
                "note": post.get("note", ""),
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "general"
            errors.setdefault(field, [_friendly(field)])
        return None, None, errors
    return (
        WalkRequestIn(
            start=parsed.start.model_dump(),
            destination=parsed.destination.model_dump(),
            party_size=parsed.party_size,
            note=parsed.note,
            destination_label=parsed.destination_label,
        ),
        parsed.organisation,
        {},
    )


def parse_location(post: QueryDict, prefix: str = "location") -> dict[str, float] | None:
    """A pin from a form (hidden lat/lng inputs), or None when missing or not a real point."""
    point = _point(post, prefix)
    if point is None:
        return None
    try:
        return LocationIn.model_validate(point).model_dump()
    except ValidationError:
        return None
