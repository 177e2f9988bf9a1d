"""Statistics pages: the public release page, the staff dashboard, the police-meeting pack.

Thin: parse, call one selector or service, render."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from homesafe.accounts.models import Membership, Organisation, Role
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports import taxonomy as tx
from homesafe.reports.access import case_organisation_ids
from homesafe.reports.views import case_staff_required
from homesafe.stats import dashboard as dash
from homesafe.stats import figures, selectors, services
from homesafe.stats.access import access_case_summary

PUBLIC_CACHE_SECONDS = 24 * 3600


def public_index(request: HttpRequest) -> HttpResponse:
    orgs = selectors.publishing_organisations()
    if len(orgs) == 1:
        return redirect("stats:public", org_slug=orgs[0].slug)
    return render(request, "stats/index.html", {"organisations": orgs})


def _public_choice(request: HttpRequest, payload: dict[str, Any]) -> tuple[str, str]:
    """The two public filters; each picks released cells, nothing else."""
    dimension = request.GET.get("dimension", "bias")
    period = request.GET.get("period", "all")
    if dimension not in figures.DIMENSION_CHOICES:
        raise DomainError(_("Choose what to break the figures down by from the list."))
    if period not in dict(figures.periods(payload)):
        raise DomainError(_("Choose the whole period or one of the years listed."))
    return dimension, period


def public_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The latest release of an organisation: no login; cached per release and filter.

    A cache hit costs two cache reads and no query: which release is current is cached too,
    and publishing a release drops that pointer."""
    dimension = request.GET.get("dimension", "bias")
    period = request.GET.get("period", "all")
    cacheable = dimension in figures.DIMENSION_CHOICES and (
        period == "all" or (len(period) == 4 and period.isdigit())
    )
    variant = f"{get_language()}:{dimension}:{period}"
    if cacheable:
        number = services.public_current_number(org_slug)
        if number is not None:
            html = cache.get(services.public_page_key(org_slug, number, variant))
            if html is not None:
                return HttpResponse(html)
    organisation = get_object_or_404(Organisation, slug=org_slug)
    release = selectors.latest_release(organisation)
    if release is None:
        raise Http404()
    try:
        dimension, period = _public_choice(request, release.payload)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    context = {
        "organisation": organisation,
        "release": release,
        "fig": figures.release_figures(release.payload, dimension=dimension, period=period),
        "dimensions": [(c, str(t)) for c, (t, _ch) in figures.DIMENSION_CHOICES.items()],
        "periods": figures.periods(release.payload),
        "period": period,
        "map_tiles": settings.MAP_TILE_URL,
        # The cached page is the same for everyone: rendered as for a visitor.
        "QUICK_EXIT_URL": settings.QUICK_EXIT_URL,
    }
    html = render_to_string("stats/public.html", context, request=None)
    cache.set(
        services.public_page_key(org_slug, release.number, variant), html, PUBLIC_CACHE_SECONDS
    )
    services.public_current_set(org_slug, release.number, PUBLIC_CACHE_SECONDS)
    return HttpResponse(html)


def public_csv(request: HttpRequest, org_slug: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=org_slug)
    release = selectors.latest_release(organisation)
    if release is None:
        raise Http404()
    return _csv_response(figures.csv_rows(release.payload), f"{org_slug}-release-{release.number}")


def _csv_response(rows: list[list[str]], name: str) -> HttpResponse:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# --- the organisation's dashboard -------------------------------------------------------------


def _staff_organisation(request: HttpRequest) -> Organisation:
    ids = case_organisation_ids(request.user)
    wanted = request.GET.get("org") or request.POST.get("org")
    qs = Organisation.objects.filter(pk__in=ids).order_by("name")
    found = qs.filter(slug=wanted).first() if wanted else qs.first()
    if found is None:
        raise Http404()
    return found


def _is_org_admin(user: Any, organisation: Organisation) -> bool:
    return Membership.objects.filter(
        user=user, organisation=organisation, role=Role.ORG_ADMIN
    ).exists()


def _admin_organisation(request: HttpRequest) -> Organisation:
    """The chosen organisation, if the caller is its admin; otherwise a 404."""
    organisation = _staff_organisation(request)
    if not _is_org_admin(request.user, organisation):
        raise Http404()
    return organisation


def _refused(
    request: HttpRequest, organisation: Organisation, exc: DomainError, status: int
) -> HttpResponse:
    return HttpResponse(
        render_to_string(
            "stats/refused.html",
            {"message": exc.message, "organisation": organisation},
            request=request,
        ),
        status=status,
    )


@case_staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Exact, weekly, street-level figures for the caller's organisation, with filters."""
    organisation = _staff_organisation(request)
    filters, errors = dash.parse_filters(request.GET, organisation)
    if errors:
        return render(
            request,
            "stats/dashboard.html",
            {"organisation": organisation, "errors": errors, "tx": tx},
            status=400,
        )
    context = dash.dashboard_context(request.user, organisation, filters)
    audit_append(
        action="stats.dashboard_view",
        object_type="organisation",
        object_id=organisation.pk,
        actor=request.user,
        organisation_id=organisation.pk,
    )
    release = selectors.latest_release(organisation)
    context.update(
        {
            "organisation": organisation,
            "tx": tx,
            "release": release,
            "is_admin": _is_org_admin(request.user, organisation),
            "settings_row": selectors.stats_settings(organisation),
            "budget_spent": services.budget_spent(organisation, timezone.now().year),
            "pending": selectors.pending_summaries(organisation),
            "map_tiles": settings.MAP_TILE_URL,
            "pack_months": release.payload["months"] if release else [],
        }
    )
    return render(request, "stats/dashboard.html", context)


@case_staff_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """An org admin publishes the next release (with DP if the organisation turned it on)."""
    organisation = _admin_organisation(request)
    raw = request.POST.get("epsilon", "").strip()
    try:
        epsilon: Any = "settings"
        if raw:
            try:
                epsilon = float(raw)
            except ValueError:
                raise DomainError(_("Epsilon must be a number."), field="epsilon")
        release = services.release_publish(
            organisation=organisation,
            actor=request.user,  # type: ignore[arg-type]
            epsilon=epsilon,
        )
    except DomainError as exc:
        return _refused(request, organisation, exc, exc.status)
    messages.success(request, _("Release %(n)s is published.") % {"n": release.number})
    return redirect(f"{reverse('stats:dashboard')}?org={organisation.slug}")


def _number(raw: str, kind: type, field: str) -> Any:
    try:
        return kind(raw.strip()) if raw.strip() else None
    except ValueError:
        raise DomainError(_("Enter a number."), field=field)


@case_staff_required
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    """An org admin sets the threshold k, the map resolution and differential privacy."""
    organisation = _admin_organisation(request)
    post = request.POST
    try:
        services.stats_settings_update(
            organisation=organisation,
            actor=request.user,  # type: ignore[arg-type]
            k=_number(post.get("k", ""), int, "k"),
            map_resolution=_number(post.get("map_resolution", ""), int, "map_resolution"),
            release_epsilon=_number(post.get("release_epsilon", ""), float, "release_epsilon"),
            yearly_epsilon_budget=_number(
                post.get("yearly_epsilon_budget", ""), float, "yearly_epsilon_budget"
            ),
        )
    except DomainError as exc:
        return _refused(request, organisation, exc, 400)
    messages.success(request, _("Publication settings saved; they apply to the next release."))
    return redirect(f"{reverse('stats:dashboard')}?org={organisation.slug}")


@case_staff_required
def summaries(request: HttpRequest) -> HttpResponse:
    """Caseworkers write anonymised case summaries; another staff member approves them."""
    organisation = _staff_organisation(request)
    error = None
    status = 200
    if request.method == "POST":
        try:
            services.case_summary_write(
                organisation=organisation,
                author=request.user,  # type: ignore[arg-type]
                month=request.POST.get("month", ""),
                title=request.POST.get("title", ""),
                summary=request.POST.get("summary", ""),
            )
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            messages.success(request, _("Saved. Someone else must approve it for release."))
            return redirect(f"{reverse('stats:summaries')}?org={organisation.slug}")
    return render(
        request,
        "stats/summaries.html",
        {
            "organisation": organisation,
            "pending": selectors.pending_summaries(organisation),
            "error": error,
            "values": request.POST if request.method == "POST" else {},
        },
        status=status,
    )


@case_staff_required
@require_POST
def approve(request: HttpRequest, summary_id: str) -> HttpResponse:
    try:
        summary = access_case_summary(request.user, summary_id)
    except NotFound:
        raise Http404()
    try:
        services.case_summary_approve(summary=summary, approver=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Approved for the police-meeting pack."))
    return redirect(f"{reverse('stats:summaries')}?org={summary.organisation.slug}")


def _pack_input(request: HttpRequest, organisation: Organisation) -> tuple[Any, str]:
    months, area, error = dash.parse_pack(request.GET, organisation)
    if error:
        raise DomainError(error)
    return dash.pack_release(organisation, months, area), area


@case_staff_required
def pack_pdf(request: HttpRequest) -> HttpResponse:
    """The police-meeting briefing as a PDF, under the public suppression rules."""
    from homesafe.stats import pdf

    organisation = _staff_organisation(request)
    try:
        payload, area = _pack_input(request, organisation)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    summaries_list = selectors.approved_summaries(organisation, tuple(payload["months"]))
    body = pdf.briefing_pdf(organisation, payload, summaries_list, area=area)
    audit_append(
        action="stats.pack_pdf",
        object_type="organisation",
        object_id=organisation.pk,
        actor=request.user,
        organisation_id=organisation.pk,
        data={"from": payload["months"][0], "to": payload["months"][-1], "area": area},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{organisation.slug}-briefing.pdf"'
    return response


@case_staff_required
def pack_csv(request: HttpRequest) -> HttpResponse:
    organisation = _staff_organisation(request)
    try:
        payload, _area = _pack_input(request, organisation)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    audit_append(
        action="stats.pack_csv",
        object_type="organisation",
        object_id=organisation.pk,
        actor=request.user,
        organisation_id=organisation.pk,
    )
    return _csv_response(figures.csv_rows(payload), f"{organisation.slug}-briefing")
