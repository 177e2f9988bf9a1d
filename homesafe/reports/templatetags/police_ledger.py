"""The police-response ledger's entry form and reading helpers, shared by the follow-up page,
the case page and the police liaison's page."""

from __future__ import annotations

from typing import Any

from django import template

from homesafe.reports import taxonomy as tx

register = template.Library()

# Questions about how officers behaved: the reporter and caseworkers answer them, not the
# police themselves.
EXPERIENCE_FIELDS = [
    "police_contacted",
    "police_contact_method",
    "police_minutes_to_arrive",
    "police_help",
    "police_alternative_offered",
    "police_officer_attitude",
    "police_withdrawal_reason",
]


@register.inclusion_tag("reports/_police_entry_form.html")
def police_entry_form(
    action: str, author: str, values: Any = None, errors: Any = None
) -> dict[str, Any]:
    """The form that appends one row to the ledger (`author`: reporter, caseworker, police)."""
    values = values or {}
    errors = dict(errors or {})
    general = list(errors.get("police", []))
    if author == "police":
        # Answers the police form does not ask (a crafted post) are reported at the top.
        for name in EXPERIENCE_FIELDS:
            general += errors.get(name, [])

    def value(name: str) -> str:
        return str(values.get(name, "") or "")

    return {
        "action": action,
        "author": author,
        "values": values,
        "errors": errors or {},
        "general_errors": general,
        "experience": author != "police",
        "tx": tx,
        "help_rows": [
            (code, label, value(f"police_help_{code}")) for code, label in tx.POLICE_HELP
        ],
        "outcome_rows": [
            (code, label, value(f"police_{code}"), (errors or {}).get(f"police_{code}", []))
            for code, label in tx.POLICE_OUTCOMES
        ],
        "contact_at": value("police_contact_at"),
    }


@register.filter
def label_of(code: str, choices_name: str) -> str:
    """{{ entry.recording|label_of:"POLICE_RECORDING" }}: the label of a taxonomy code."""
    choices = getattr(tx, choices_name, None)
    if not isinstance(choices, list):
        return code
    return tx.label(choices, code) or code


@register.simple_tag
def is_police_liaison_nav(user: Any) -> bool:
    from homesafe.reports.access import is_police_liaison

    return is_police_liaison(user)
