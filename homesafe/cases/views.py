"""Casework pages: incidents, a report's casework, my tasks. Thin: parse, call, render.

Every object is fetched through an access checkpoint; anything the user may not see is a 404.
A refused change re-renders its page with the message and status 400, with nothing saved.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from homesafe.accounts.models import Organisation
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports.access import access_report, case_organisation_ids
from homesafe.reports.selectors import organisation_caseworkers
from homesafe.reports.views import case_staff_required

from . import access, forms, selectors, services
from .models import (
    ContactChannel,
    ContactDirection,
    Incident,
    LinkRole,
    OutcomeCode,
    ReferralKind,
    ReferralStatus,
)

Subject = Any  # a Report or an Incident


def _or_404(fetch: Callable[[], Any]) -> Any:
    try:
        return fetch()
    except NotFound:
        raise Http404()


def _choices() -> dict[str, Any]:
    return {
        "link_roles": LinkRole.choices,
        "contact_channels": ContactChannel.choices,
        "contact_directions": ContactDirection.choices,
        "referral_kinds": ReferralKind.choices,
        "referral_statuses": ReferralStatus.choices,
        "outcome_codes": OutcomeCode.choices,
        "remind_choices": forms.REMIND_CHOICES,
    }


def _subject_context(request: HttpRequest, subject: Subject, kind: str) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {
        "kind": kind,
        "subject": subject,
        "organisation": subject.organisation,
        "casework": selectors.casework_for(subject),
        "caseworkers": organisation_caseworkers(subject.organisation_id),
        "now": timezone.now(),
        **_choices(),
    }
    if kind == "report":
        context["report"] = subject
        context["summary"] = selectors.report_case_summary(subject, user)
        context["duplicate_candidates"] = selectors.duplicate_candidates(subject, user)
        context["incidents"] = selectors.open_incidents_of(subject.organisation_id)
    else:
        context["incident"] = subject
        context["members"] = selectors.incident_reports(subject, user)
        context["linkable"] = selectors.linkable_reports(subject, user)
    return context


def _render_subject(
    request: HttpRequest, subject: Subject, kind: str, *, error: DomainError | None = None
) -> HttpResponse:
    context = _subject_context(request, subject, kind)
    if error is not None:
        context["error"] = error.message
        context["error_field"] = error.field
    template = "cases/report.html" if kind == "report" else "cases/incident.html"
    return render(request, template, context, status=400 if error else 200)


def _subject_url(kind: str, subject: Subject, anchor: str = "") -> str:
    if kind == "report":
        url = reverse("cases:report_casework", kwargs={"report_id": subject.pk})
    else:
        url = reverse("cases:incident_detail", kwargs={"incident_id": subject.pk})
    return f"{url}#{anchor}" if anchor else url


def _fetch_subject(request: HttpRequest, kind: str, subject_id: str, purpose: str) -> Subject:
    if kind == "report":
        return _or_404(lambda: access_report(request.user, subject_id, purpose=purpose))
    return _or_404(lambda: access.access_incident(request.user, subject_id, purpose=purpose))


def _subject_action(
    anchor: str,
) -> Callable[[Callable[[HttpRequest, Subject], None]], Callable[..., HttpResponse]]:
    """A POST on a report's or incident's casework: fetch, act, then back to its page."""

    def wrap(action: Callable[[HttpRequest, Subject], None]) -> Callable[..., HttpResponse]:
        @case_staff_required
        @require_POST
        @wraps(action)
        def view(request: HttpRequest, kind: str, subject_id: str) -> HttpResponse:
            subject = _fetch_subject(request, kind, subject_id, f"casework_{action.__name__}")
            try:
                action(request, subject)
            except DomainError as exc:
                return _render_subject(request, subject, kind, error=exc)
            return redirect(_subject_url(kind, subject, anchor))

        return view

    return wrap


# --- pages ---------------------------------------------------------------------------------


@case_staff_required
def incident_list(request: HttpRequest) -> HttpResponse:
    return _render_incident_list(request)


def _render_incident_list(request: HttpRequest, error: DomainError | None = None) -> HttpResponse:
    organisations = Organisation.objects.filter(pk__in=case_organisation_ids(request.user))
    return render(
        request,
        "cases/incidents.html",
        {
            "incidents": selectors.incidents_for(request.user)[:200],
            "organisations": list(organisations.order_by("name")),
            "error": error.message if error else None,
        },
        status=400 if error else 200,
    )


@case_staff_required
def incident_detail(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _or_404(lambda: access.access_incident(request.user, incident_id))
    return _render_subject(request, incident, "incident")


@case_staff_required
def report_casework(request: HttpRequest, report_id: str) -> HttpResponse:
    report = _or_404(lambda: access_report(request.user, report_id, purpose="casework_view"))
    return _render_subject(request, report, "report")


@case_staff_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    tasks = list(selectors.my_open_tasks(request.user)[:200])
    return render(request, "cases/my_tasks.html", {"tasks": tasks, "now": timezone.now()})


# --- incidents -----------------------------------------------------------------------------


@case_staff_required
@require_POST
def incident_create(request: HttpRequest) -> HttpResponse:
    post = request.POST
    report = None
    if post.get("report_id"):
        report = _or_404(
            lambda: access_report(request.user, post["report_id"], purpose="incident_create")
        )
        organisation = report.organisation
    else:
        org_ids = case_organisation_ids(request.user)
        wanted = post.get("organisation") or (str(org_ids[0]) if len(org_ids) == 1 else "")
        found = Organisation.objects.filter(
            pk__in=org_ids, pk=int(wanted) if wanted.isdigit() else -1
        ).first()
        if found is None:
            return _render_incident_list(
                request, DomainError(_("Choose the organisation."), field="organisation")
            )
        organisation = found
    try:
        incident = services.incident_create(
            organisation=organisation, user=request.user,  # type: ignore[arg-type]
            title=post.get("title", ""), report=report,
            role=post.get("role", LinkRole.OTHER), label=post.get("label", ""),
        )
    except DomainError as exc:
        if report is not None:
            return _render_subject(request, report, "report", error=exc)
        return _render_incident_list(request, exc)
    return redirect(_subject_url("incident", incident))


@case_staff_required
@require_POST
def incident_rename(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _or_404(lambda: access.access_incident(request.user, incident_id, purpose="edit"))
    try:
        services.incident_rename(
            incident=incident, user=request.user, title=request.POST.get("title", "")  # type: ignore[arg-type]
        )
    except DomainError as exc:
        return _render_subject(request, incident, "incident", error=exc)
    return redirect(_subject_url("incident", incident))


def _link(
    request: HttpRequest, incident_id: object, report_id: object, *, from_report: bool
) -> HttpResponse:
    incident: Incident = _or_404(
        lambda: access.access_incident(request.user, incident_id, purpose="edit")
    )
    report = _or_404(lambda: access_report(request.user, report_id, purpose="link"))
    post = request.POST
    try:
        services.incident_link_report(
            incident=incident, report=report, user=request.user,  # type: ignore[arg-type]
            role=post.get("role", ""), label=post.get("label", ""),
        )
    except DomainError as exc:
        if from_report:
            return _render_subject(request, report, "report", error=exc)
        return _render_subject(request, incident, "incident", error=exc)
    if from_report:
        return redirect(_subject_url("report", report, "flags"))
    return redirect(_subject_url("incident", incident, "reports"))


@case_staff_required
@require_POST
def incident_link(request: HttpRequest, incident_id: str) -> HttpResponse:
    """Add a report (chosen on the incident page) to the incident."""
    return _link(request, incident_id, request.POST.get("report_id"), from_report=False)


@case_staff_required
@require_POST
def report_join(request: HttpRequest, report_id: str) -> HttpResponse:
    """Add this report to an incident chosen on the report's casework page."""
    return _link(request, request.POST.get("incident_id"), report_id, from_report=True)


@case_staff_required
@require_POST
def link_remove(request: HttpRequest, link_id: str) -> HttpResponse:
    link = _or_404(lambda: access.access_incident_link(request.user, link_id))
    try:
        services.incident_unlink_report(link=link, user=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        return _render_subject(request, link.incident, "incident", error=exc)
    if request.POST.get("from") == "report":
        return redirect(_subject_url("report", link.report, "flags"))
    return redirect(_subject_url("incident", link.incident, "reports"))


# --- flags ---------------------------------------------------------------------------------


@case_staff_required
@require_POST
def report_duplicate(request: HttpRequest, report_id: str) -> HttpResponse:
    report = _or_404(lambda: access_report(request.user, report_id, purpose="duplicate_mark"))
    original = _or_404(
        lambda: access_report(request.user, request.POST.get("original_id"), purpose="view")
    )
    try:
        services.report_mark_duplicate(report=report, original=original, user=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        return _render_subject(request, report, "report", error=exc)
    return redirect(_subject_url("report", report, "flags"))


@case_staff_required
@require_POST
def report_troll(request: HttpRequest, report_id: str) -> HttpResponse:
    report = _or_404(lambda: access_report(request.user, report_id, purpose="troll_mark"))
    try:
        services.report_mark_troll(
            report=report, user=request.user, reason=request.POST.get("reason", "")  # type: ignore[arg-type]
        )
    except DomainError as exc:
        return _render_subject(request, report, "report", error=exc)
    return redirect(_subject_url("report", report, "flags"))


@case_staff_required
@require_POST
def flag_clear(request: HttpRequest, flag_id: str) -> HttpResponse:
    flag = _or_404(lambda: access.access_flag(request.user, flag_id))
    try:
        services.report_flag_clear(flag=flag, user=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        return _render_subject(request, flag.report, "report", error=exc)
    return redirect(_subject_url("report", flag.report, "flags"))


# --- tasks, contacts, referrals, outcomes ---------------------------------------------------


@_subject_action("tasks")
def task_add(request: HttpRequest, subject: Subject) -> None:
    post = request.POST
    services.task_add(
        subject=subject,
        user=request.user,  # type: ignore[arg-type]
        title=post.get("title", ""),
        due_at=forms.local_datetime(post.get("due_at"), subject.organisation.timezone,
                                    field="due_at"),
        assignee_id=forms.optional_int(post.get("assignee_id"), field="assignee_id"),
        remind_minutes_before=forms.remind_minutes(post.get("remind")),
    )


@_subject_action("contacts")
def contact_add(request: HttpRequest, subject: Subject) -> None:
    post = request.POST
    services.contact_add(
        subject=subject,
        user=request.user,  # type: ignore[arg-type]
        happened_at=forms.local_datetime(post.get("happened_at"), subject.organisation.timezone,
                                         field="happened_at"),
        channel=post.get("channel", ""),
        direction=post.get("direction", ""),
        summary=post.get("summary", ""),
    )


@_subject_action("referrals")
def referral_add(request: HttpRequest, subject: Subject) -> None:
    post = request.POST
    services.referral_add(
        subject=subject,
        user=request.user,  # type: ignore[arg-type]
        kind=post.get("kind", ""),
        to_whom=post.get("to_whom", ""),
        status=post.get("status", ReferralStatus.SUGGESTED),
    )


@_subject_action("outcome")
def outcome_set(request: HttpRequest, subject: Subject) -> None:
    post = request.POST
    if post.get("clear"):
        services.outcome_clear(subject=subject, user=request.user)  # type: ignore[arg-type]
        return
    services.outcome_set(
        subject=subject, user=request.user,  # type: ignore[arg-type]
        code=post.get("code", ""), note=post.get("note", ""),
    )


def _item_action(
    fetch: Callable[[Any, str], Any], anchor: str
) -> Callable[[Callable[[HttpRequest, Any], None]], Callable[..., HttpResponse]]:
    """A POST on one task or referral: fetch through its checkpoint, act, back to its page."""

    def wrap(action: Callable[[HttpRequest, Any], None]) -> Callable[..., HttpResponse]:
        @case_staff_required
        @require_POST
        @wraps(action)
        def view(request: HttpRequest, item_id: str) -> HttpResponse:
            item = _or_404(lambda: fetch(request.user, item_id))
            subject = item.report if item.report_id else item.incident
            kind = item.subject_kind
            try:
                action(request, item)
            except DomainError as exc:
                return _render_subject(request, subject, kind, error=exc)
            if request.POST.get("next") == "my_tasks":
                return redirect("cases:my_tasks")
            return redirect(_subject_url(kind, subject, anchor))

        return view

    return wrap


@_item_action(access.access_task, "tasks")
def task_done(request: HttpRequest, task: Any) -> None:
    services.task_done(task=task, user=request.user)  # type: ignore[arg-type]


@_item_action(access.access_task, "tasks")
def task_reopen(request: HttpRequest, task: Any) -> None:
    services.task_reopen(task=task, user=request.user)  # type: ignore[arg-type]


@_item_action(access.access_referral, "referrals")
def referral_status(request: HttpRequest, referral: Any) -> None:
    services.referral_set_status(
        referral=referral, user=request.user, status=request.POST.get("status", "")  # type: ignore[arg-type]
    )
