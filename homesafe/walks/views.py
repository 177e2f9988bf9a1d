"""Walk-home pages: ask for a walk and follow it live, volunteer, a trusted contact's private
link, trusted contacts and saved places, and the staff page that vets volunteers.

Thin: parse, call one service / selector / access checkpoint, render. Actions are plain form
posts answered with a redirect (errors travel as messages), so every button works without
JavaScript; walk.js and volunteer.js add the live parts on top.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from homesafe.accounts import services as account_services
from homesafe.accounts.selectors import has_case_role
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports.access import is_verified
from homesafe.reports.views import case_staff_required
from homesafe.walks import forms, selectors, services
from homesafe.walks.access import (
    WATCH_SESSION_KEY,
    access_offer,
    access_volunteer_for_staff,
    access_volunteer_profile,
    access_walk,
    access_walk_by_token,
)
from homesafe.walks.api import organisation_for
from homesafe.walks.models import DutyState, VolunteerStatus, Walk, WalkState

PARTY_SIZES = range(1, 11)
# volunteer.js puts each live offer's id in place of this in the offer template's form actions.
OFFER_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
STATUS_LABELS = {
    VolunteerStatus.APPLIED: _lazy("Applied: waiting for approval"),
    VolunteerStatus.APPROVED: _lazy("Approved"),
    VolunteerStatus.PAUSED: _lazy("Paused"),
    VolunteerStatus.SUSPENDED: _lazy("Suspended"),
    VolunteerStatus.REJECTED: _lazy("Not accepted"),
}
RATING_CHOICES = [
    (5, _lazy("Great")),
    (4, _lazy("Good")),
    (3, _lazy("OK")),
    (2, _lazy("Not good")),
    (1, _lazy("Bad")),
]
DUTY_LABELS = {
    DutyState.ON_DUTY: _lazy("On duty"),
    DutyState.ON_BREAK: _lazy("On a break"),
    DutyState.OFF_DUTY: _lazy("Off duty"),
    DutyState.ON_WALK: _lazy("On a walk"),
}


def _map_context() -> dict[str, Any]:
    # Straight-line metres per minute: the services' walking pace over their route factor.
    pace = services.WALKING_SPEED_M_PER_MIN / services.ROUTE_FACTOR
    return {"map_tiles": settings.MAP_TILE_URL, "pace_m_per_min": f"{pace:.1f}"}


# --- asking for a walk -----------------------------------------------------------------------


@login_required
def walk_request(request: HttpRequest) -> HttpResponse:
    """ "Walk me home": where I am, where I'm going, how many of us. Posting it asks now."""
    current = selectors.active_walk_for(request.user)
    if current is not None:
        return redirect("walks:live", walk_id=current.pk)
    places = selectors.saved_places_of(request.user)
    errors: forms.Errors = {}
    if request.method == "POST":
        data, slug, errors = forms.parse_walk_request(request.POST, places)
        if data is not None:
            try:
                walk = services.walk_request(
                    user=request.user,  # type: ignore[arg-type]
                    organisation=organisation_for(request.user, slug),
                    data=data,
                )
            except DomainError as exc:
                errors = {exc.field or "general": [exc.message]}
            else:
                return redirect("walks:live", walk_id=walk.pk)
    values = request.POST if request.method == "POST" else None
    # The first saved place (usually home) is chosen already: one tap at 2 a.m.
    chosen = values.get("destination") if values is not None else None
    return render(
        request,
        "walks/request.html",
        {
            "place_choices": [(f"place:{p.pk}", p.label) for p in places],
            "organisations": selectors.member_organisations(request.user),
            "has_contacts": bool(selectors.trusted_contacts_of(request.user)),
            "values": values,
            "chosen_destination": chosen or (f"place:{places[0].pk}" if places else "pin"),
            "party_sizes": PARTY_SIZES,
            "errors": errors,
            **_map_context(),
        },
        status=400 if errors else 200,
    )


# --- following a walk ------------------------------------------------------------------------


def _walk_or_404(request: HttpRequest, walk_id: object) -> tuple[Walk, str]:
    try:
        return access_walk(request.user, walk_id)
    except NotFound:
        raise Http404()


def _local_time(walk: Walk, moment: Any) -> str:
    if moment is None:
        return ""
    zone = zoneinfo.ZoneInfo(walk.organisation.timezone)
    return timezone.localtime(moment, zone).strftime("%H:%M")


@login_required
def walk_live(request: HttpRequest, walk_id: str) -> HttpResponse:
    """The live walk for the person walking and for their escort."""
    walk, role = _walk_or_404(request, walk_id)
    view = selectors.participant_view(walk, role)
    ended = walk.state in (WalkState.ENDED, WalkState.CANCELLED)
    return render(
        request,
        "walks/live.html",
        {
            "walk": walk,
            "role": role,
            "view": view,
            "deadline": _local_time(walk, walk.arrival_deadline),
            "ended": ended,
            "feedback_given": ended and selectors.feedback_given(walk, request.user),
            "rating_choices": RATING_CHOICES,
            "has_contacts": role == "requester"
            and bool(selectors.trusted_contacts_of(request.user)),
            **_map_context(),
        },
    )


def _walk_action(
    action: Callable[[HttpRequest, Walk, str], HttpResponse | None],
) -> Callable[..., HttpResponse]:
    """A button on the live page: access check, one service call, back to the page."""

    @login_required
    @require_POST
    @wraps(action)
    def view(request: HttpRequest, walk_id: str) -> HttpResponse:
        walk, role = _walk_or_404(request, walk_id)
        try:
            response = action(request, walk, role)
        except DomainError as exc:
            messages.error(request, exc.message)
            response = None
        return response or redirect("walks:live", walk_id=walk.pk)

    return view


@_walk_action
def walk_checkin(request: HttpRequest, walk: Walk, role: str) -> None:
    services.walk_checkin(walk=walk, user=request.user)  # type: ignore[arg-type]


@_walk_action
def walk_unshare(request: HttpRequest, walk: Walk, role: str) -> None:
    """Stop sharing the walk with one trusted contact: their link stops working at once."""
    try:
        watch_id = uuid.UUID(request.POST.get("watch_id", ""))
    except ValueError:
        raise DomainError(_("Choose whom to stop sharing with."), code="invalid")
    services.watch_revoke(walk=walk, user=request.user, watch_id=watch_id)  # type: ignore[arg-type]
    messages.success(request, _("They can no longer follow this walk."))


@_walk_action
def walk_sos(request: HttpRequest, walk: Walk, role: str) -> None:
    services.walk_sos(walk=walk, user=request.user)  # type: ignore[arg-type]


@_walk_action
def walk_cancel(request: HttpRequest, walk: Walk, role: str) -> HttpResponse:
    services.walk_cancel(walk=walk, user=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Your walk request is cancelled."))
    return redirect("walks:request")


@_walk_action
def walk_watched(request: HttpRequest, walk: Walk, role: str) -> None:
    services.walk_make_watched(walk=walk, user=request.user)  # type: ignore[arg-type]


@_walk_action
def walk_handover(request: HttpRequest, walk: Walk, role: str) -> None:
    if role != "escort" or walk.escort is None:
        raise DomainError(_("Only the escort confirms the hand-over."), code="forbidden")
    services.walk_confirm_handover(walk=walk, profile=walk.escort)


@_walk_action
def walk_feedback(request: HttpRequest, walk: Walk, role: str) -> HttpResponse | None:
    rating_text = request.POST.get("rating", "")
    try:
        rating = int(rating_text) if rating_text else None
    except ValueError:
        raise DomainError(_("A rating is from 1 to 5."), field="rating")
    something_happened = request.POST.get("something_happened") == "1"
    services.walk_feedback(
        walk=walk,
        user=request.user,  # type: ignore[arg-type]
        rating=rating,
        comment=request.POST.get("comment", "")[:5001],
        something_happened=something_happened,
    )
    if something_happened:
        # The report form opens prefilled with the walk's time and place.
        return redirect(f"{reverse('report_form')}?walk={walk.pk}")
    messages.success(request, _("Thank you for your feedback."))
    return None


# --- a trusted contact's private link --------------------------------------------------------


def watch(request: HttpRequest, token: str) -> HttpResponse:
    """A trusted contact follows the walk, no account needed. The token stays in this one URL:
    the page sends no referrer, and its live updates re-read this same address (or the
    WebSocket, which finds the walk through the session instead of the token)."""
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        walk, watch_link = access_walk_by_token(token)
    except NotFound:
        if wants_json:
            response: HttpResponse = JsonResponse(
                {"error": "not_found", "message": _("This walk has ended.")}, status=404
            )
        else:
            response = render(request, "walks/watch_ended.html", status=404)
    else:
        request.session[WATCH_SESSION_KEY] = {"walk": str(walk.pk), "watch": str(watch_link.pk)}
        view = selectors.participant_view(walk, "watcher")
        if wants_json:
            response = JsonResponse(view)
        else:
            response = render(
                request,
                "walks/watch.html",
                {
                    "walk": walk,
                    "role": "watcher",
                    "view": view,
                    "deadline": _local_time(walk, walk.arrival_deadline),
                    **_map_context(),
                },
            )
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- volunteering ----------------------------------------------------------------------------


@login_required
def volunteer(request: HttpRequest) -> HttpResponse:
    """Apply, see one's standing, go on and off duty, and answer live walk offers."""
    return _volunteer_page(request)


def _volunteer_page(
    request: HttpRequest, *, errors: forms.Errors | None = None, status: int = 200
) -> HttpResponse:
    profiles = selectors.volunteer_profiles_of(request.user)
    organisations = selectors.member_organisations(request.user)
    applied = {p.organisation_id for p in profiles if p.status != VolunteerStatus.REJECTED}
    # The live offers list follows the profile the API serves (the first one applied for).
    primary = profiles[0] if profiles else None
    # Only on duty does the page share the phone's position and list offers; not on a break.
    on_duty = primary is not None and primary.duty_state == DutyState.ON_DUTY
    return render(
        request,
        "walks/volunteer.html",
        {
            "profiles": profiles,
            "primary": primary,
            "on_duty": on_duty,
            "offers": selectors.pending_offers(primary) if on_duty and primary else [],
            "current_walk": selectors.active_walk_for(request.user),
            "can_apply_to": [o for o in organisations if o.pk not in applied],
            "placeholder_id": OFFER_PLACEHOLDER,
            "is_staff": has_case_role(request.user),
            "status_labels": STATUS_LABELS,
            "duty_labels": DUTY_LABELS,
            "values": request.POST if errors else None,
            "errors": errors or {},
            **_map_context(),
        },
        status=status,
    )


@login_required
@require_POST
def volunteer_apply(request: HttpRequest) -> HttpResponse:
    try:
        services.volunteer_apply(
            user=request.user,  # type: ignore[arg-type]
            organisation=organisation_for(request.user, request.POST.get("organisation") or None),
            first_name=request.POST.get("first_name", "")[:200],
        )
    except DomainError as exc:
        return _volunteer_page(request, errors={exc.field or "general": [exc.message]}, status=400)
    messages.success(request, _("Thank you! Staff will look at your application."))
    return redirect("walks:volunteer")


def _organisation_id(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("organisation_id", ""))
    except ValueError:
        return None


@login_required
@require_POST
def volunteer_duty(request: HttpRequest) -> HttpResponse:
    try:
        profile = access_volunteer_profile(request.user, _organisation_id(request))
        services.volunteer_duty(
            profile=profile,
            state=request.POST.get("state", ""),
            second_factor_verified=is_verified(request.user),
        )
    except NotFound:
        raise Http404()
    except DomainError as exc:
        if exc.code == "mfa_verify_required":
            return redirect(f"{reverse('accounts:mfa_verify')}?next={reverse('walks:volunteer')}")
        messages.error(request, exc.message)
    return redirect("walks:volunteer")


@login_required
@require_POST
def offer_accept(request: HttpRequest, offer_id: str) -> HttpResponse:
    try:
        offer, profile = access_offer(request.user, offer_id)
    except NotFound:
        raise Http404()
    try:
        walk = services.walk_accept(offer=offer, profile=profile)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("walks:volunteer")
    return redirect("walks:live", walk_id=walk.pk)


@login_required
@require_POST
def offer_decline(request: HttpRequest, offer_id: str) -> HttpResponse:
    try:
        offer, profile = access_offer(request.user, offer_id)
    except NotFound:
        raise Http404()
    try:
        services.walk_decline(offer=offer, profile=profile)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("walks:volunteer")


# --- trusted contacts and saved places -------------------------------------------------------


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    """The people told when a walk goes wrong, and sent a private link to follow it."""
    errors: forms.Errors = {}
    if request.method == "POST":
        try:
            account_services.trusted_contact_add(
                owner=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", "")[:200],
                email=request.POST.get("email", "")[:320],
            )
        except DomainError as exc:
            errors = {exc.field or "general": [exc.message]}
        else:
            messages.success(request, _("Contact added."))
            return redirect("walks:contacts")
    return render(
        request,
        "walks/contacts.html",
        {
            "contacts": selectors.trusted_contacts_of(request.user),
            "values": request.POST if errors else None,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def contact_remove(request: HttpRequest, contact_id: str) -> HttpResponse:
    try:
        account_services.trusted_contact_remove(owner=request.user, contact_id=contact_id)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Contact removed."))
    return redirect("walks:contacts")


@login_required
def places(request: HttpRequest) -> HttpResponse:
    """Saved destinations (home, a friend's place), picked with one tap when asking for a walk."""
    errors: forms.Errors = {}
    if request.method == "POST":
        location = forms.parse_location(request.POST)
        try:
            if location is None:
                raise DomainError(_("Put a pin on the map for this place."), field="location")
            services.saved_place_add(
                owner=request.user,  # type: ignore[arg-type]
                label=request.POST.get("label", "")[:200],
                location=location,
            )
        except DomainError as exc:
            errors = {exc.field or "general": [exc.message]}
        else:
            messages.success(request, _("Place saved."))
            return redirect("walks:places")
    return render(
        request,
        "walks/places.html",
        {
            "places": selectors.saved_places_of(request.user),
            "values": request.POST if errors else None,
            "errors": errors,
            **_map_context(),
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def place_remove(request: HttpRequest, place_id: str) -> HttpResponse:
    try:
        services.saved_place_remove(owner=request.user, place_id=place_id)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Place removed."))
    return redirect("walks:places")


# --- staff: vetting volunteers ---------------------------------------------------------------


@case_staff_required
def staff_volunteers(request: HttpRequest) -> HttpResponse:
    """Applications waiting for approval and the standing of every volunteer."""
    return render(
        request,
        "walks/staff_volunteers.html",
        {"rows": selectors.volunteers_for_staff(request.user), "status_labels": STATUS_LABELS},
    )


def _staff_action(
    action: Callable[[HttpRequest, Any], str],
) -> Callable[..., HttpResponse]:
    @case_staff_required
    @require_POST
    @wraps(action)
    def view(request: HttpRequest, profile_id: str) -> HttpResponse:
        try:
            profile = access_volunteer_for_staff(request.user, profile_id)
        except NotFound:
            raise Http404()
        try:
            messages.success(request, action(request, profile))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("walks:staff_volunteers")

    return view


@_staff_action
def staff_approve(request: HttpRequest, profile: Any) -> str:
    profile = services.volunteer_approve(profile=profile, approver=request.user)  # type: ignore[arg-type]
    if profile.status == VolunteerStatus.APPROVED:
        return _("%(name)s is approved and can now go on duty.") % {"name": profile.first_name}
    return _("Your approval is recorded. Another staff member needs to approve too.")


@_staff_action
def staff_status(request: HttpRequest, profile: Any) -> str:
    profile = services.volunteer_set_status(
        profile=profile,
        actor=request.user,  # type: ignore[arg-type]
        status=request.POST.get("status", ""),
        reason=request.POST.get("reason", "")[:40],
    )
    return _("%(name)s is now: %(status)s.") % {
        "name": profile.first_name,
        "status": STATUS_LABELS.get(profile.status, profile.status),
    }
