"""The one access checkpoint for case summaries (STYLE.md §2)."""

from __future__ import annotations

import uuid
from typing import Any

from homesafe.common.errors import NotFound
from homesafe.reports.access import case_organisation_ids
from homesafe.stats.models import CaseSummary


def access_case_summary(user: Any, summary_id: object) -> CaseSummary:
    """A case summary of one of the caller's case organisations (verified second factor);
    otherwise NotFound, the same as for an id that does not exist."""
    try:
        sid = uuid.UUID(str(summary_id))
    except (ValueError, TypeError, AttributeError):
        raise NotFound()
    found = CaseSummary.objects.filter(
        pk=sid, organisation_id__in=case_organisation_ids(user)
    ).first()
    if found is None:
        raise NotFound()
    return found
