"""Evidence pages: the public drop-box page, and the caseworker's drop-box and file actions.
Thin: parse, call one access check or service, render. The JSON upload API lives in api.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import segno
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from homesafe.common.errors import DomainError, NotFound
from homesafe.evidence import responses, services
from homesafe.evidence.access import access_dropbox, access_dropbox_by_token, access_item
from homesafe.evidence.models import EvidenceItem, ViewingCopy
from homesafe.evidence.templatetags.evidence_ui import uploader_context
from homesafe.reports.access import access_report
from homesafe.reports.views import case_staff_required

# Lifetimes a caseworker may give a drop-box link, in hours.
DROPBOX_HOURS: dict[int, Any] = {24: _lazy("24 hours"), 72: _lazy("3 days"), 168: _lazy("7 days")}
LABEL_MAX = 100


def _private(response: HttpResponseBase) -> HttpResponseBase:
    # The drop-box token is in the path: no Referer may carry it to another site, and
    # Django's request logger must not write the path of a refused token.
    response["Referrer-Policy"] = "no-referrer"
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def dropbox_page(request: HttpRequest, token: str) -> HttpResponseBase:
    """The page a drop-box link opens: no account, the uploader, what happens to the files."""
    if request.method not in ("GET", "HEAD"):
        # Not require_GET: its refusal would be logged with the path, token and all.
        return _private(HttpResponseNotAllowed(["GET", "HEAD"]))
    try:
        box = access_dropbox_by_token(token)
    except NotFound:
        return _private(render(request, "evidence/dropbox_gone.html", status=404))
    context = {
        "box": box,
        "organisation": box.report.organisation,
        # The tab's storage knows this drop box by its row id, never by its token.
        **uploader_context({"dropbox": token}, f"dropbox-{box.pk}"),
    }
    return _private(render(request, "evidence/dropbox.html", context))


def _staff_report(request: HttpRequest, report_id: str, purpose: str) -> Any:
    try:
        return access_report(request.user, report_id, purpose=purpose)
    except NotFound:
        raise Http404()


@case_staff_required
@require_POST
def dropbox_create(request: HttpRequest, report_id: str) -> HttpResponse:
    """Make a drop-box link for a report; the link and its QR code are shown this once."""
    report = _staff_report(request, report_id, "dropbox_create")
    try:
        hours = int(request.POST.get("hours", ""))
    except ValueError:
        hours = 0
    label = request.POST.get("label", "").strip()
    error = None
    if hours not in DROPBOX_HOURS:
        error = _("Choose how long the link should work.")
    elif len(label) > LABEL_MAX or any(ord(c) < 32 for c in label):
        error = _("Keep the label to one line of at most %(n)d characters.") % {"n": LABEL_MAX}
    if error is None:
        try:
            box, token = services.dropbox_create(
                report=report, user=request.user, expires_in=timedelta(hours=hours), label=label
            )
        except DomainError as exc:
            error = exc.message
    if error is not None:
        return render(
            request, "evidence/dropbox_error.html", {"report": report, "error": error}, status=400
        )
    link = request.build_absolute_uri(reverse("evidence:dropbox", args=[token]))
    qr_svg = segno.make(link, error="m").svg_inline(scale=5, border=2, omitsize=True)
    response = render(
        request,
        "evidence/dropbox_created.html",
        {"report": report, "box": box, "link": link, "qr_svg": qr_svg},
        status=201,
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@case_staff_required
@require_POST
def dropbox_close(request: HttpRequest, report_id: str, dropbox_id: str) -> HttpResponse:
    """Close a drop-box link now: its page and any upload still running through it stop."""
    report = _staff_report(request, report_id, "dropbox_close")
    try:
        box = access_dropbox(request, dropbox_id)
    except NotFound:
        raise Http404()
    if box.report_id != report.pk:
        raise Http404()
    services.dropbox_close(dropbox=box, user=request.user)
    return redirect(f"{reverse('case_detail', args=[report.pk])}#evidence")


@case_staff_required
@require_GET
def item_view(request: HttpRequest, report_id: str, item_id: str) -> Any:
    """The metadata-stripped viewing copy, inline (the checkpoint records the custody entry)."""
    item = _staff_item(request, report_id, item_id, purpose="viewing_copy")
    if item.viewing_status != ViewingCopy.READY:
        raise Http404()
    return responses.viewing_copy_response(item, request)


@case_staff_required
@require_GET
def item_download(request: HttpRequest, report_id: str, item_id: str) -> Any:
    """The original, byte for byte, as a download (the checkpoint records the custody entry)."""
    item = _staff_item(request, report_id, item_id, purpose="download")
    return responses.original_response(item, request)


def _staff_item(request: HttpRequest, report_id: str, item_id: str, *, purpose: str) -> Any:
    # An item asked for under another report's address is refused before the checkpoint,
    # so the custody trail records only reads that happened.
    try:
        belongs = EvidenceItem.objects.filter(
            pk=uuid.UUID(item_id), report_id=uuid.UUID(report_id)
        ).exists()
    except ValueError:
        belongs = False
    if not belongs:
        raise Http404()
    try:
        return access_item(request, item_id, purpose=purpose)
    except NotFound:
        raise Http404()
