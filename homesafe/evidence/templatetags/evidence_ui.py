"""Inclusion tags that put the evidence panels into the report pages (which belong to the
reports app and do not know about evidence): the uploader, and the caseworker's case panel."""

from __future__ import annotations

import json
from typing import Any

from django import template

from homesafe.evidence import conf

register = template.Library()


def uploader_context(target: dict[str, Any], key: str) -> dict[str, Any]:
    """What the uploader include needs: the protocol target, a key naming it in this tab's
    storage (never a token), and the size limit to announce."""
    return {
        "target_json": json.dumps(target, separators=(",", ":")),
        "target_key": key,
        "max_bytes": conf.max_upload_bytes(),
    }


@register.inclusion_tag("evidence/_uploader.html")
def evidence_uploader(target: str) -> dict[str, Any]:
    """The uploader for the reporter's own report ("followup" or "submitted")."""
    if target not in ("followup", "submitted"):
        raise template.TemplateSyntaxError("evidence_uploader: followup or submitted")
    return uploader_context({target: True}, target)


@register.inclusion_tag("evidence/_case_evidence.html", takes_context=True)
def evidence_case_panel(context: Any, report: Any) -> dict[str, Any]:
    """The caseworker's evidence panel: received items and open drop boxes of a report that
    the case page has already fetched through the reports access checkpoint."""
    from homesafe.evidence import selectors
    from homesafe.evidence.models import Kind, Source, ViewingCopy
    from homesafe.evidence.views import DROPBOX_HOURS

    items = [
        {
            "row": row,
            "kind": Kind(row.kind).label if row.kind in Kind.values else row.kind,
            "source": Source(row.source).label if row.source in Source.values else row.source,
            "viewing": ViewingCopy(row.viewing_status).label
            if row.viewing_status in ViewingCopy.values
            else row.viewing_status,
        }
        for row in selectors.report_items(report)
    ]
    return {
        "report": report,
        "csrf_token": context.get("csrf_token"),
        "items": items,
        "dropboxes": [box for box in selectors.report_dropboxes(report) if box.is_open()],
        "expiry_choices": list(DROPBOX_HOURS.items()),
        **uploader_context({"report": str(report.pk)}, f"report-{report.pk}"),
    }
