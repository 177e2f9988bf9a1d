"""Access checkpoints for casework objects, one per kind (STYLE.md §2).

The rule is the reports one (reports/access.py): a verified member of the object's organisation
holding a case role. Objects that hang off a report are also hidden when the report is (the
reporter withdrew consent for caseworkers). A caller who may not see an object gets NotFound,
never a hint that it exists. Reports themselves are reached through `access_report`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from homesafe.audit.services import audit_append
from homesafe.common.errors import NotFound
from homesafe.reports.access import case_organisation_ids, parse_id, reports_visible_to
from homesafe.reports.models import Report

from .models import ContactEntry, Incident, IncidentReport, Referral, ReportFlag, Task

M = TypeVar("M", bound=Model)


def visible_report_ids(user: Any) -> QuerySet[Report]:
    return reports_visible_to(user).values("id")


def _first_or_404(qs: QuerySet[M]) -> M:
    found = qs.first()
    if found is None:
        raise NotFound()
    return found


def _subject_visible(user: Any) -> Q:
    """A task, contact, referral or outcome: on an incident, or on a report the user may see."""
    return Q(incident__isnull=False) | Q(report__in=visible_report_ids(user))


def access_incident(user: Any, incident_id: object, *, purpose: str = "view") -> Incident:
    """The incident with this id if `user` works cases in its organisation; audited."""
    pk = parse_id(incident_id)
    incident = _first_or_404(
        Incident.objects.filter(pk=pk, organisation_id__in=case_organisation_ids(user))
        .select_related("organisation")
    )
    audit_append(
        action=f"incident.{purpose}",
        object_type="incident",
        object_id=incident.pk,
        actor=user,
        organisation_id=incident.organisation_id,
    )
    return incident


def access_incident_link(user: Any, link_id: object) -> IncidentReport:
    """A report's (current) place in an incident, if the user may see both."""
    pk = parse_id(link_id)
    return _first_or_404(
        IncidentReport.objects.filter(
            pk=pk,
            removed_at__isnull=True,
            incident__organisation_id__in=case_organisation_ids(user),
            report__in=visible_report_ids(user),
        ).select_related("incident", "incident__organisation", "report")
    )


def access_flag(user: Any, flag_id: object) -> ReportFlag:
    """A duplicate or troll flag on a report the user may see."""
    pk = parse_id(flag_id)
    return _first_or_404(
        ReportFlag.objects.filter(pk=pk, report__in=visible_report_ids(user)).select_related(
            "report"
        )
    )


def _access_subject_item(model: type[M], user: Any, item_id: object) -> M:
    pk = parse_id(item_id)
    return _first_or_404(
        model._default_manager.filter(
            _subject_visible(user), pk=pk, organisation_id__in=case_organisation_ids(user)
        ).select_related("organisation")
    )


def access_task(user: Any, task_id: object) -> Task:
    """A task on a report or incident of the user's organisations."""
    return _access_subject_item(Task, user, task_id)


def access_contact(user: Any, contact_id: object) -> ContactEntry:
    """A contact-log entry on a report or incident of the user's organisations."""
    return _access_subject_item(ContactEntry, user, contact_id)


def access_referral(user: Any, referral_id: object) -> Referral:
    """A referral on a report or incident of the user's organisations."""
    return _access_subject_item(Referral, user, referral_id)
