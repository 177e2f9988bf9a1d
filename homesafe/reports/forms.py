"""Turning the multi-step web form's POST into ReportIn input, and errors back into fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from pydantic import ValidationError

from homesafe.reports import taxonomy as tx
from homesafe.reports.schemas import PoliceIn, ReportIn
from homesafe.reports.selectors import QueueFilters

MULTI = [
    "incident_types",
    "bias",
    "bias_indicators",
    "bias_perceived_by",
    "bystander_actions",
    "support_wanted",
]
SINGLE = [
    "organisation",
    "walk_id",
    "reporter_role",
    "identity_level",
    "consent_police",
    "occurred_on",
    "occurred_time",
    "place_text",
    "location_precision",
    "venue_type",
    "narrative",
    "bias_other_text",
    "offenders_count",
    "offender_description",
    "relationship",
    "injuries",
    "emotional_impact",
    "bystanders_count",
    "support_other",
]
RENAMED = {"reference": "police_reference", "contact_at": "police_contact_at"}
YES_NO = ["consent_caseworkers", "consent_statistics", "bias_perceived", "bias_by_association"]
CONTACT = ["name", "email", "phone", "channel", "safe_times", "language", "accessibility"]
POLICE = [
    "contacted",
    "contact_method",
    "minutes_to_arrive",
    "alternative_offered",
    "officer_attitude",
    "recording",
    "reference",
    "investigation",
    "contact_at",
    "withdrawal_reason",
]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get((value or "").strip().lower())


def report_input_from_post(post: QueryDict) -> dict[str, Any]:
    """A plain dict for ReportIn; empty answers are left out so they count as skipped."""
    data: dict[str, Any] = {}
    for name in SINGLE:
        value = post.get(name, "").strip()
        if value:
            data[name] = value
    for name in MULTI:
        values = [v for v in post.getlist(name) if v]
        if values:
            data[name] = values
    for name in YES_NO:
        answer = _yes_no(post.get(name))
        if answer is not None:
            data[name] = answer
    if post.get("occurred_approximate"):
        data["occurred_approximate"] = True
    contact: dict[str, Any] = {}
    for f in CONTACT:
        value = post.get(f"contact_{f}", "").strip()
        if value:
            contact[f] = value
    leave = _yes_no(post.get("contact_leave_message"))
    if leave is not None:
        contact["leave_message"] = leave
    if data.get("identity_level") == "identified" and contact:
        data["contact"] = contact
    elif any(contact.get(k) for k in ("name", "email", "phone")):
        data["contact"] = contact  # refused by ReportIn with a clear message
    lat, lng = post.get("location_lat", "").strip(), post.get("location_lng", "").strip()
    if lat or lng:
        data["location"] = {"lat": lat, "lng": lng}
    police = police_input_from_post(post)
    if police:
        data["police"] = police
    return data


def police_input_from_post(post: QueryDict) -> dict[str, Any]:
    """The `police_*` fields of a form (the report form or a ledger form) as a PoliceIn dict."""
    police: dict[str, Any] = {}
    for name in POLICE:
        value = post.get(f"police_{name}", "").strip()
        if value:
            police[RENAMED.get(name, name)] = value
    help_answers = {
        code: post.get(f"police_help_{code}", "").strip()
        for code in tx.codes(tx.POLICE_HELP)
        if post.get(f"police_help_{code}", "").strip()
    }
    if help_answers:
        police["help_requested"] = help_answers
    for code in tx.codes(tx.POLICE_OUTCOMES):
        answer = post.get(f"police_{code}", "").strip().lower()
        if answer:
            # Anything but yes/no reaches PoliceIn as given and is refused there.
            police[code] = {"yes": True, "no": False}.get(answer, answer)
    return police


def validate_police_post(post: QueryDict) -> tuple[PoliceIn | None, dict[str, list[str]]]:
    """A ledger form's POST as PoliceIn, or errors by field name (as the report form has them)."""
    try:
        return PoliceIn.model_validate(police_input_from_post(post)), {}
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            errors.setdefault(field_name(("police", *err.get("loc", ()))), []).append(
                friendly_message(err)
            )
        return None, errors


def queue_filters_from(query: QueryDict) -> QueueFilters:
    """The triage queue's filters from a query string: the queue page and its CSV export parse
    them here, so both list exactly the same reports. Unknown values count as no filter."""
    return QueueFilters(
        status=_choice_or_none(query.get("status"), tx.STATUSES),
        priority=_choice_or_none(query.get("priority"), tx.PRIORITIES),
        bias=_choice_or_none(query.get("bias"), tx.BIAS_MOTIVATIONS),
        incident_type=_choice_or_none(query.get("incident_type"), tx.INCIDENT_TYPES),
        date_from=_date_or_none(query.get("date_from")),
        date_to=_date_or_none(query.get("date_to")),
        assignee=query.get("assignee") if query.get("assignee") in ("me", "none") else None,
    )


def _date_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choice_or_none(value: str | None, choices: tx.Choices) -> str | None:
    return value if value in tx.codes(choices) else None


def field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return "__all__"
    if parts[0] == "contact" and len(parts) > 1:
        return f"contact_{parts[1]}"
    if parts[0] == "location":
        return "location"
    if parts[0] == "police" and len(parts) > 1:
        name = parts[1]
        if name == "help_requested":
            return "police_help"
        if name == "police_contact_at":
            return "police_contact_at"
        return "police_reference" if name == "police_reference" else f"police_{name}"
    return parts[0]


def friendly_message(err: Any) -> str:
    """Plain words for a validation error, as a person filling the form would need them."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        return _("Choose one of the options given.")
    if kind == "missing":
        return _("This answer is needed.")
    if kind == "string_too_long":
        return _("This is too long: at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind in ("int_parsing", "float_parsing", "int_from_float"):
        return _("Enter a number.")
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return _("That number is out of range.")
    if kind.startswith(("date_", "time_")):
        return _("Enter a real date or time.")
    if kind == "too_long":
        return _("Too many answers chosen.")
    if kind == "string_pattern_mismatch":
        return _("That doesn't look right. Check it and try again.")
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return _("This answer could not be accepted.")


def validate_report_post(post: QueryDict) -> tuple[ReportIn | None, dict[str, list[str]]]:
    try:
        return ReportIn.model_validate(report_input_from_post(post)), {}
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            message = friendly_message(err)
            errors.setdefault(field_name(tuple(err.get("loc", ()))), []).append(message)
        return None, errors
