"""Reads of reports for the queue, the case page and the follow-up page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from homesafe.accounts.models import CASE_ROLES, Membership, User
from homesafe.reports import taxonomy as tx
from homesafe.reports.access import reports_visible_to
from homesafe.reports.models import CaseNote, Message, Report, ReportCode


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    priority: str | None = None
    bias: str | None = None
    incident_type: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assignee: str | None = None  # "me", "none" or None


def case_queue(user: Any, filters: QueueFilters) -> QuerySet[Report]:
    """The triage queue of the user's organisations, most urgent first, then newest."""
    qs = reports_visible_to(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    for dimension, code in (("bias", filters.bias), ("incident_type", filters.incident_type)):
        if code:
            qs = qs.filter(
                id__in=ReportCode.objects.filter(dimension=dimension, code=code).values("report_id")
            )
    if filters.date_from:
        qs = qs.filter(occurred_on__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(occurred_on__lte=filters.date_to)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    return (
        qs.order_by("priority_rank", "-reported_at")
        .select_related("organisation", "assignee")
        .prefetch_related(Prefetch("codes", queryset=ReportCode.objects.order_by("code")))
    )


def report_messages(report: Report) -> list[Message]:
    return list(report.messages.order_by("created_at"))


def report_notes(report: Report) -> QuerySet[CaseNote]:
    return report.notes.order_by("created_at").select_related("author")


def organisation_caseworkers(organisation_id: int) -> list[User]:
    """Who a report of this organisation can be assigned to."""
    ids = Membership.objects.filter(
        organisation_id=organisation_id, role__in=list(CASE_ROLES)
    ).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "pk"))


def status_label(code: str) -> str:
    return tx.label(tx.STATUSES, code)
