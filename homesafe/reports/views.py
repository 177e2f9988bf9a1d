"""Web pages for reporting, following up with a code, and casework. Thin: parse, call, render."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from homesafe.accounts.models import Organisation
from homesafe.accounts.selectors import has_case_role, has_confirmed_totp, has_staff_role
from homesafe.audit.services import audit_append
from homesafe.cases import selectors as case_selectors
from homesafe.common import geo
from homesafe.common.errors import DomainError, NotFound
from homesafe.common.views import rate_limited
from homesafe.evidence.access import remember_submitted
from homesafe.reports import exports, limits, selectors, services
from homesafe.reports import taxonomy as tx
from homesafe.reports.access import (
    access_report,
    access_report_as_liaison,
    access_report_by_code,
    access_report_by_followup,
    is_police_liaison,
    is_verified,
)
from homesafe.reports.forms import queue_filters_from, validate_police_post, validate_report_post

FOLLOWUP_KEY = "homesafe_followup"
FOLLOWUP_SECONDS = 30 * 60

FRIENDLY = {
    "reporter_role": _lazy(
        "Tell us how you are connected to what happened: this is the one question we need."
    ),
}


YES_NO: tx.Choices = [("yes", _lazy("Yes")), ("no", _lazy("No"))]
CONTACT_FIELDS = [
    ("contact_name", _lazy("Name (or what we should call you)"), "text", "name"),
    ("contact_email", _lazy("Email"), "email", "email"),
    ("contact_phone", _lazy("Phone"), "tel", "tel"),
    ("contact_safe_times", _lazy("When is it safe to contact you?"), "text", "off"),
    ("contact_language", _lazy("Preferred language"), "text", "off"),
    ("contact_accessibility", _lazy("Accessibility needs"), "text", "off"),
]


def _form_context(values: Any = None, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    help_selected = {
        code: values.get(f"police_help_{code}", "") if values is not None else ""
        for code in tx.codes(tx.POLICE_HELP)
    }
    return {
        "tx": tx,
        "values": values,
        "errors": errors or {},
        "organisations": list(Organisation.objects.order_by("name").values("slug", "name")),
        "help_rows": tx.POLICE_HELP,
        "help_selected": help_selected,
        "yes_no": YES_NO,
        "contact_fields": CONTACT_FIELDS,
        "map_tiles": settings.MAP_TILE_URL,
        "today": timezone.localdate().isoformat(),
    }


def _walk_prefill(request: HttpRequest) -> QueryDict | None:
    """ "Something happened" after a walk: the form opens with the walk's time and place."""
    from homesafe.walks.access import access_walk

    walk_id = request.GET.get("walk")
    if not walk_id:
        return None
    try:
        walk, _role = access_walk(request.user, walk_id)
    except NotFound:
        return None
    values = QueryDict(mutable=True)
    values["walk_id"] = str(walk.pk)
    when = timezone.localtime(
        walk.started_at or walk.created_at, zoneinfo.ZoneInfo(walk.organisation.timezone)
    )
    values["occurred_on"] = when.date().isoformat()
    values["occurred_time"] = when.strftime("%H:%M")
    values["occurred_approximate"] = "1"
    point = walk.requester_last or walk.start
    if point:
        values["location_lat"], values["location_lng"] = str(point["lat"]), str(point["lng"])
        values["location_precision"] = "about_100m"
    values["place_text"] = _("During a walk home")
    return values


def report_form(request: HttpRequest) -> HttpResponse:
    """The multi-step report form. Posting it files the report and shows the code once."""
    if request.method != "POST":
        return render(request, "reports/form.html", _form_context(_walk_prefill(request)))
    if limits.submit_limited(request):
        return rate_limited(request)
    data, errors = validate_report_post(request.POST)
    if data is not None:
        try:
            user = request.user if request.user.is_authenticated else None
            submitted = services.report_submit(data=data, user=user)  # type: ignore[arg-type]
        except DomainError as exc:
            errors = {exc.field or "__all__": [exc.message]}
        else:
            # This browser may add evidence to the report it just filed (and only to that one).
            remember_submitted(request.session, submitted.report)
            return render(
                request,
                "reports/submitted.html",
                {"code": submitted.reference_code, "report": submitted.report},
                status=201,
            )
    for field, message in FRIENDLY.items():
        if field in errors:
            errors[field] = [str(message)]
    context = _form_context(request.POST, errors)
    return render(request, "reports/form.html", context, status=400)


def _followup_report(request: HttpRequest) -> Any:
    held = request.session.get(FOLLOWUP_KEY)
    if not held or time.time() - float(held.get("at", 0)) > FOLLOWUP_SECONDS:
        request.session.pop(FOLLOWUP_KEY, None)
        return None
    try:
        return access_report_by_followup(held.get("id"))
    except NotFound:
        request.session.pop(FOLLOWUP_KEY, None)
        return None


def _followup_context(report: Any, **extra: Any) -> dict[str, Any]:
    return {
        **_ledger_context(report, selectors.FULL),
        "police_form_action": reverse("report_followup_police"),
        "report": report,
        "status_label": selectors.status_label(report.status),
        "messages_list": selectors.report_messages(report),
        "consent_police_choices": [
            (c, lab)
            for c, lab in tx.CONSENT_POLICE
            if not (report.identity_level == "anonymous" and c == "identifiable")
        ],
        **extra,
    }


def followup(request: HttpRequest) -> HttpResponse:
    """Enter a reference code (POST only, never a URL) to see status and the mailbox."""
    error = None
    if request.method == "POST" and "code" in request.POST:
        if limits.code_lookup_limited(request):
            return rate_limited(request)
        try:
            report = access_report_by_code(request.POST.get("code", "")[:64])
        except NotFound as exc:
            error = exc.message
        else:
            request.session.cycle_key()
            request.session[FOLLOWUP_KEY] = {"id": str(report.pk), "at": time.time()}
            return redirect("report_followup")
    report = _followup_report(request)
    if report is None:
        return render(
            request, "reports/followup_code.html", {"error": error}, status=404 if error else 200
        )
    request.session[FOLLOWUP_KEY]["at"] = time.time()
    request.session.modified = True
    return render(request, "reports/followup.html", _followup_context(report))


@require_POST
def followup_message(request: HttpRequest) -> HttpResponse:
    report = _followup_report(request)
    if report is None:
        return redirect("report_followup")
    try:
        services.mailbox_post_by_reporter(report=report, body=request.POST.get("body", ""))
    except DomainError as exc:
        return render(
            request,
            "reports/followup.html",
            _followup_context(report, error=exc.message),
            status=400,
        )
    return redirect(f"{reverse('report_followup')}#mailbox")


@require_POST
def followup_consent(request: HttpRequest) -> HttpResponse:
    report = _followup_report(request)
    if report is None:
        return redirect("report_followup")
    answers = {
        k: request.POST.get(k, "")
        for k in ("consent_caseworkers", "consent_police", "consent_statistics")
    }
    try:
        if answers["consent_caseworkers"] not in ("yes", "no") or answers[
            "consent_statistics"
        ] not in ("yes", "no"):
            raise DomainError(_("Answer each question with yes or no."))
        services.report_consent_change(
            report=report,
            consent_caseworkers=answers["consent_caseworkers"] == "yes",
            consent_police=answers["consent_police"],
            consent_statistics=answers["consent_statistics"] == "yes",
        )
    except DomainError as exc:
        return render(
            request,
            "reports/followup.html",
            _followup_context(report, consent_error=exc.message),
            status=400,
        )
    return redirect(f"{reverse('report_followup')}#consent")


@require_POST
def followup_forget(request: HttpRequest) -> HttpResponse:
    request.session.pop(FOLLOWUP_KEY, None)
    return redirect("report_followup")


# --- casework --------------------------------------------------------------------------------


def _sign_in_first(request: HttpRequest, step: str) -> HttpResponse:
    """Send the user to a sign-in step (login, MFA), coming back to this page after."""
    return redirect(f"{reverse(step)}?next={request.path}")


def _second_factor_step(user: Any) -> str:
    """The MFA page a staff user still needs: verify a device, or set one up first."""
    return "accounts:mfa_verify" if has_confirmed_totp(user) else "accounts:mfa_setup"


def case_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in, holding a case role, and past the second factor; else login, MFA or 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return _sign_in_first(request, "accounts:login")
        if has_staff_role(user) and not is_verified(user):
            return _sign_in_first(request, _second_factor_step(user))
        if not has_case_role(user):
            raise Http404()
        return view(request, *args, **kwargs)

    return wrapper


@case_staff_required
def case_queue(request: HttpRequest) -> HttpResponse:
    g = request.GET
    filters = queue_filters_from(g)
    page = Paginator(selectors.case_queue(request.user, filters), 25).get_page(g.get("page"))
    marks = case_selectors.flags_for_reports(r.pk for r in page.object_list)
    for r in page.object_list:
        r.case_marks = marks.get(r.pk)  # type: ignore[attr-defined]
    audit_append(
        action="queue.view",
        object_type="queue",
        object_id="-",
        actor=request.user,
        data={"page": page.number, "shown": len(page.object_list)},
    )
    query = g.copy()
    query.pop("page", None)
    template = (
        "reports/_queue_rows.html" if request.headers.get("HX-Request") else "reports/queue.html"
    )
    return render(
        request,
        template,
        {
            "page": page,
            "filters": filters,
            "tx": tx,
            "query": query.urlencode(),
            "may_export_personal": exports.may_export_personal_data(request.user),
            "open_tasks": case_selectors.open_tasks_count(request.user),
        },
    )


@case_staff_required
def case_queue_csv(request: HttpRequest) -> HttpResponse:
    """The filtered queue as CSV: same filters, same reports as the queue page, every page."""
    include_personal = request.GET.get("personal") == "1"
    try:
        export = exports.queue_csv(
            user=request.user,
            filters=queue_filters_from(request.GET),
            include_personal=include_personal,
        )
    except DomainError as exc:
        return render(request, "error.html", {"message": exc.message}, status=exc.status)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="homesafe-queue-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _ledger_context(report: Any, audience: str) -> dict[str, Any]:
    entries = selectors.police_ledger(report)
    return {
        "police": [selectors.police_response_view(e, audience=audience) for e in entries],
        "hours_to_police_contact": selectors.hours_to_police_contact(report, entries),
        "police_benchmark_hours": tx.POLICE_CONTACT_BENCHMARK_HOURS,
        "ledger_tx": tx,
    }


def _case_context(request: HttpRequest, report: Any, **extra: Any) -> dict[str, Any]:
    return {
        "report": report,
        "tx": tx,
        "cell": geo.cell_str(report.h3_cell) if report.h3_cell is not None else "",
        "codes": {dim: report.codes_for(dim) for dim in tx.MULTI_DIMENSIONS},
        **_ledger_context(report, selectors.FULL),
        "police_form_action": reverse("case_police", args=[report.pk]),
        "messages_list": selectors.report_messages(report),
        "notes": list(selectors.report_notes(report)),
        "caseworkers": selectors.organisation_caseworkers(report.organisation_id),
        **extra,
    }


@case_staff_required
def case_detail(request: HttpRequest, report_id: str) -> HttpResponse:
    try:
        report = access_report(request.user, report_id)
    except NotFound:
        raise Http404()
    return render(request, "reports/case.html", _case_context(request, report))


def _case_action(action: Callable[[HttpRequest, Any], None]) -> Callable[..., HttpResponse]:
    @case_staff_required
    @require_POST
    @wraps(action)
    def view(request: HttpRequest, report_id: str) -> HttpResponse:
        try:
            report = access_report(request.user, report_id, purpose=action.__name__)
        except NotFound:
            raise Http404()
        try:
            action(request, report)
        except LedgerInvalid as exc:
            return render(
                request,
                "reports/case.html",
                _case_context(
                    request, report, police_errors=exc.errors, police_values=request.POST
                ),
                status=400,
            )
        except DomainError as exc:
            return render(
                request,
                "reports/case.html",
                _case_context(request, report, error=exc.message),
                status=400,
            )
        return redirect("case_detail", report_id=report.pk)

    return view


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise DomainError(_("Choose someone from the list."), field="assignee_id")


@_case_action
def update(request: HttpRequest, report: Any) -> None:
    status = request.POST.get("status") or None
    priority = request.POST.get("priority") or None
    if status and status not in tx.codes(tx.STATUSES):
        raise DomainError(_("Unknown status."), field="status")
    if priority and priority not in tx.codes(tx.PRIORITIES):
        raise DomainError(_("Unknown priority."), field="priority")
    services.report_update(
        report=report,
        user=request.user,  # type: ignore[arg-type]
        status=status,
        priority=priority,
        assignee_id=_int_or_none(request.POST.get("assignee_id")),
    )


@_case_action
def note(request: HttpRequest, report: Any) -> None:
    body = request.POST.get("body", "")
    if len(body) > 20000:
        raise DomainError(_("The note is too long."), field="body")
    services.case_note_add(report=report, user=request.user, body=body)  # type: ignore[arg-type]


@_case_action
def reply(request: HttpRequest, report: Any) -> None:
    body = request.POST.get("body", "")
    if len(body) > 20000:
        raise DomainError(_("The message is too long."), field="body")
    services.mailbox_post_by_caseworker(report=report, user=request.user, body=body)  # type: ignore[arg-type]


class LedgerInvalid(DomainError):
    """A ledger form that could not be accepted, with messages per field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("Some answers could not be accepted."), field="police")
        self.errors = errors


def _police_entry_from(request: HttpRequest) -> Any:
    entry, errors = validate_police_post(request.POST)
    if entry is None:
        raise LedgerInvalid(errors)
    if entry.is_empty():
        raise LedgerInvalid({"police": [_("Fill in at least one answer first.")]})
    return entry


def _add_to_ledger(request: HttpRequest, report: Any, entered_by: str, author: Any) -> None:
    entry = _police_entry_from(request)
    try:
        services.police_response_add(
            report=report, entry=entry, entered_by=entered_by, author=author
        )
    except DomainError as exc:
        raise LedgerInvalid({exc.field or "police": [exc.message]})


@_case_action
def police(request: HttpRequest, report: Any) -> None:
    """A caseworker appends a row to the police-response ledger."""
    _add_to_ledger(request, report, "caseworker", request.user)


def _pdf_response(pdf: bytes, report: Any) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="case-file-{report.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@case_staff_required
def case_pdf(request: HttpRequest, report_id: str) -> HttpResponse:
    """The case file for a police referral, as the reporter's consent allows (none: refused)."""
    try:
        report = access_report(request.user, report_id, purpose="export")
    except NotFound:
        raise Http404()
    try:
        pdf = exports.case_file_pdf(report=report, user=request.user, via="casework")
    except DomainError as exc:
        return render(request, "error.html", {"message": exc.message}, status=exc.status)
    return _pdf_response(pdf, report)


# --- the reporter adds to the ledger --------------------------------------------------------------


@require_POST
def followup_police(request: HttpRequest) -> HttpResponse:
    report = _followup_report(request)
    if report is None:
        return redirect("report_followup")
    try:
        _add_to_ledger(request, report, "reporter", None)
    except LedgerInvalid as exc:
        return render(
            request,
            "reports/followup.html",
            _followup_context(report, police_errors=exc.errors, police_values=request.POST),
            status=400,
        )
    return redirect(f"{reverse('report_followup')}#police")


# --- police liaison -------------------------------------------------------------------------------


def liaison_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in, a police liaison, and past the second factor; else login, MFA or 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return _sign_in_first(request, "accounts:login")
        if not is_police_liaison(user):
            raise Http404()
        if not is_verified(user):
            return _sign_in_first(request, _second_factor_step(user))
        return view(request, *args, **kwargs)

    return wrapper


@liaison_required
def liaison_list(request: HttpRequest) -> HttpResponse:
    """Reports shared with police by consent, identifiable or anonymised; the view is audited."""
    page = Paginator(selectors.liaison_reports(request.user), 25).get_page(request.GET.get("page"))
    items = [selectors.liaison_item(r) for r in page.object_list]
    audit_append(
        action="police.list_view",
        object_type="queue",
        object_id="police",
        actor=request.user,
        data={"page": page.number, "shown": [i["id"] for i in items]},
    )
    return render(request, "reports/liaison_list.html", {"page": page, "items": items, "tx": tx})


def _liaison_context(report: Any, **extra: Any) -> dict[str, Any]:
    view = selectors.police_view(report)
    return {
        "report": report,
        "view": view,
        "police": view["police_responses"],
        "hours_to_police_contact": view["hours_to_police_contact"],
        "police_benchmark_hours": tx.POLICE_CONTACT_BENCHMARK_HOURS,
        "police_form_action": reverse("police_update", args=[report.pk]),
        "tx": tx,
        **extra,
    }


@liaison_required
def liaison_detail(request: HttpRequest, report_id: str) -> HttpResponse:
    try:
        report = access_report_as_liaison(request.user, report_id)
    except NotFound:
        raise Http404()
    return render(request, "reports/liaison_detail.html", _liaison_context(report))


@liaison_required
@require_POST
def liaison_update(request: HttpRequest, report_id: str) -> HttpResponse:
    """A police-side update (reference number, investigation status, ...) to the ledger."""
    try:
        report = access_report_as_liaison(request.user, report_id, purpose="update")
    except NotFound:
        raise Http404()
    try:
        _add_to_ledger(request, report, "police", request.user)
    except LedgerInvalid as exc:
        return render(
            request,
            "reports/liaison_detail.html",
            _liaison_context(report, police_errors=exc.errors, police_values=request.POST),
            status=400,
        )
    return redirect("police_detail", report_id=report.pk)


@liaison_required
def liaison_pdf(request: HttpRequest, report_id: str) -> HttpResponse:
    try:
        report = access_report_as_liaison(request.user, report_id, purpose="export")
    except NotFound:
        raise Http404()
    pdf = exports.case_file_pdf(report=report, user=request.user, via="police_liaison")
    return _pdf_response(pdf, report)
