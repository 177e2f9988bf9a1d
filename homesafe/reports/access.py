"""The one access checkpoint for reports (STYLE.md §2).

Every fetch of a report by id or by reference code goes through here. A caller who may not see
a report gets NotFound, never a hint that it exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from homesafe.accounts.models import CASE_ROLES, Membership, Role
from homesafe.audit.services import audit_append
from homesafe.common.errors import NotFound
from homesafe.reports import codes
from homesafe.reports.models import Report


def parse_id(value: object) -> uuid.UUID:
    """An object id from a URL or form; anything that is not a UUID is NotFound."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound()


def is_verified(user: Any) -> bool:
    """Authenticated and, in this session, passed a second factor (django-otp)."""
    if not getattr(user, "is_authenticated", False):
        return False
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def case_organisation_ids(user: Any) -> list[int]:
    """Organisations whose case data this user may read now (case role + verified second factor)."""
    if not is_verified(user):
        return []
    return list(
        Membership.objects.filter(user=user, role__in=list(CASE_ROLES)).values_list(
            "organisation_id", flat=True
        )
    )


def reports_visible_to(user: Any) -> Any:
    """The queryset of reports a staff user may see in their queue."""
    return Report.objects.filter(
        organisation_id__in=case_organisation_ids(user), consent_caseworkers=True
    )


def access_report(user: Any, report_id: object, *, purpose: str = "view") -> Report:
    """The report with this id if `user` may work on it; every such read is audited."""
    rid = parse_id(report_id)
    report = reports_visible_to(user).filter(id=rid).select_related("organisation").first()
    if report is None:
        raise NotFound()
    audit_append(
        action=f"report.{purpose}",
        object_type="report",
        object_id=report.pk,
        actor=user,
        organisation_id=report.organisation_id,
    )
    return report


def is_police_liaison(user: Any) -> bool:
    """Holds the police liaison role somewhere (second factor not yet considered)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.filter(user=user, role=Role.POLICE_LIAISON).exists()


def liaison_organisation_ids(user: Any) -> list[int]:
    """Organisations whose shared reports this police liaison may read now (verified)."""
    if not is_verified(user):
        return []
    return list(
        Membership.objects.filter(user=user, role=Role.POLICE_LIAISON).values_list(
            "organisation_id", flat=True
        )
    )


def reports_shared_with_police(user: Any) -> Any:
    """Reports a police liaison may see: their organisations', and only while the reporter
    consents to sharing with police. Read on every request, so a revocation bites at once."""
    return Report.objects.filter(
        organisation_id__in=liaison_organisation_ids(user),
        consent_police__in=["anonymised", "identifiable"],
    )


def access_report_as_liaison(user: Any, report_id: object, *, purpose: str = "view") -> Report:
    """The one way a police liaison reaches a report by id; every such read is audited.

    Reports they may not see (other organisations, no consent, consent revoked) answer like
    ids that do not exist."""
    rid = parse_id(report_id)
    report = (
        reports_shared_with_police(user).filter(id=rid).select_related("organisation").first()
    )
    if report is None:
        raise NotFound()
    audit_append(
        action=f"report.police_{purpose}",
        object_type="report",
        object_id=report.pk,
        actor=user,
        organisation_id=report.organisation_id,
        data={"shared_as": report.consent_police},
    )
    return report


def access_report_by_code(code: str) -> Report:
    """The report a reference code opens. Wrong, malformed and unknown codes look the same."""
    digest = codes.code_hash(code or "")
    if digest is None:
        raise NotFound("No report matches that code. Check it and try again.")
    report = Report.objects.filter(code_hash=digest).select_related("organisation").first()
    if report is None:
        raise NotFound("No report matches that code. Check it and try again.")
    return report


def access_report_by_followup(report_id: object) -> Report:
    """A report opened earlier in this browser session with its code (id kept server-side)."""
    rid = parse_id(report_id)
    report = Report.objects.filter(id=rid).select_related("organisation").first()
    if report is None:
        raise NotFound()
    return report
