"""Template helpers of the cases app: the case-page panel and short references."""

from __future__ import annotations

from typing import Any

from django import template

from homesafe.cases import selectors

register = template.Library()


@register.filter
def case_ref(obj: Any) -> str:
    """A short reference for a report or incident (first 8 hex digits of its id)."""
    pk = getattr(obj, "pk", obj)
    return str(getattr(pk, "hex", str(pk)))[:8].upper()


@register.inclusion_tag("cases/_panel_body.html")
def case_panel(report: Any, user: Any) -> dict[str, Any]:
    """The casework summary shown inside a report's case page (access already checked)."""
    return {
        "report": report,
        "summary": selectors.report_case_summary(report, user),
        "incidents": selectors.open_incidents_of(report.organisation_id),
    }
