"""Walk-home endpoints: asking for a walk, volunteering, live positions, check-in and SOS.
All need a logged-in session; object access goes through homesafe/walks/access.py."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status
from ninja.security import django_auth

from homesafe.accounts.models import Membership, Organisation
from homesafe.common.errors import DomainError, NotFound
from homesafe.reports.access import is_verified
from homesafe.reports.schemas import LocationIn
from homesafe.walks import selectors, services
from homesafe.walks.access import (
    access_offer,
    access_volunteer_for_staff,
    access_volunteer_profile,
    access_walk,
    access_walk_by_token,
)
from homesafe.walks.models import VolunteerProfile
from homesafe.walks.schemas import (
    ApplyIn,
    DutyIn,
    FeedbackIn,
    VolunteerStatusIn,
    WalkRequestSchema,
    WatchTokenIn,
)

walk_router = Router(tags=["walks"], auth=django_auth)
volunteer_router = Router(tags=["volunteers"], auth=django_auth)
watch_router = Router(tags=["trusted contacts"])


def organisation_for(user: Any, slug: str | None) -> Organisation:
    """The organisation a member walks with: the one named, else their first membership."""
    memberships = Membership.objects.filter(user=user).select_related("organisation")
    if slug:
        memberships = memberships.filter(organisation__slug=slug)
    found = memberships.order_by("organisation_id").first()
    if found is None:
        raise DomainError("Join an organisation to ask for walks.", code="no_organisation")
    return found.organisation


def _view(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, role = access_walk(request.user, walk_id)
    return selectors.participant_view(walk, role)


@walk_router.post("", response={201: dict}, summary="Ask for a walk home now")
def request_walk(request: HttpRequest, payload: WalkRequestSchema) -> Status[dict[str, Any]]:
    org = organisation_for(request.user, payload.organisation)
    walk = services.walk_request(
        user=request.user,  # type: ignore[arg-type]
        organisation=org,
        data=services.WalkRequestIn(
            start=payload.start.model_dump(),
            destination=payload.destination.model_dump(),
            party_size=payload.party_size,
            note=payload.note,
            destination_label=payload.destination_label,
            kind=payload.kind,
        ),
    )
    return Status(201, selectors.participant_view(walk, "requester"))


@walk_router.get("/current", response=dict, summary="The walk I am on now")
def current_walk(request: HttpRequest) -> dict[str, Any]:
    walk = selectors.active_walk_for(request.user)
    if walk is None:
        raise NotFound("You are not on a walk.")
    role = "requester" if walk.requester_id == request.user.pk else "escort"
    return selectors.participant_view(walk, role)


@walk_router.get("/{walk_id}", response=dict, summary="A walk I am on")
def get_walk(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    return _view(request, walk_id)


@walk_router.post("/{walk_id}/position", response=dict, summary="My live position")
def post_position(request: HttpRequest, walk_id: str, payload: LocationIn) -> dict[str, Any]:
    walk, role = access_walk(request.user, walk_id)
    if role == "escort":
        services.volunteer_position(profile=walk.escort, location=payload.model_dump())  # type: ignore[arg-type]
    else:
        services.walk_position(walk=walk, user=request.user, location=payload.model_dump())  # type: ignore[arg-type]
    return {"ok": True}


@walk_router.post("/{walk_id}/checkin", response=dict, summary="I'm home safe")
def checkin(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, _role = access_walk(request.user, walk_id)
    walk = services.walk_checkin(walk=walk, user=request.user)  # type: ignore[arg-type]
    return selectors.walk_public_state(walk)


@walk_router.post("/{walk_id}/cancel", response=dict, summary="Cancel my walk request")
def cancel(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, _role = access_walk(request.user, walk_id)
    walk = services.walk_cancel(walk=walk, user=request.user)  # type: ignore[arg-type]
    return selectors.walk_public_state(walk)


@walk_router.post("/{walk_id}/sos", response=dict, summary="SOS: alert my contacts now")
def sos(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, _role = access_walk(request.user, walk_id)
    walk = services.walk_sos(walk=walk, user=request.user)  # type: ignore[arg-type]
    return selectors.walk_public_state(walk)


@walk_router.post("/{walk_id}/watched", response=dict, summary="Walk on with contacts watching")
def make_watched(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, _role = access_walk(request.user, walk_id)
    walk = services.walk_make_watched(walk=walk, user=request.user)  # type: ignore[arg-type]
    return selectors.walk_public_state(walk)


@walk_router.post(
    "/{walk_id}/watchers/{watch_id}/revoke",
    response=dict,
    summary="Stop sharing this walk with one trusted contact",
)
def revoke_watch(request: HttpRequest, walk_id: str, watch_id: str) -> dict[str, Any]:
    walk, _role = access_walk(request.user, walk_id)
    try:
        watch_uuid = uuid.UUID(watch_id)
    except ValueError:
        raise NotFound()
    services.watch_revoke(walk=walk, user=request.user, watch_id=watch_uuid)  # type: ignore[arg-type]
    return {"watchers": selectors.watchers_of(walk)}


@walk_router.post("/{walk_id}/handover", response=dict, summary="Escort confirms the hand-over")
def handover(request: HttpRequest, walk_id: str) -> dict[str, Any]:
    walk, role = access_walk(request.user, walk_id)
    if role != "escort" or walk.escort is None:
        raise NotFound()
    walk = services.walk_confirm_handover(walk=walk, profile=walk.escort)
    return selectors.walk_public_state(walk)


@walk_router.post("/{walk_id}/feedback", response={201: dict}, summary="Feedback after a walk")
def feedback(request: HttpRequest, walk_id: str, payload: FeedbackIn) -> Status[dict[str, Any]]:
    walk, _role = access_walk(request.user, walk_id)
    services.walk_feedback(
        walk=walk,
        user=request.user,  # type: ignore[arg-type]
        rating=payload.rating,
        comment=payload.comment,
        something_happened=payload.something_happened,
    )
    body: dict[str, Any] = {"ok": True}
    if payload.something_happened:
        body["report_url"] = f"/report/?walk={walk.pk}"
    return Status(201, body)


# --- volunteers ---------------------------------------------------------------------------------


def _profile_out(profile: VolunteerProfile) -> dict[str, Any]:
    return {
        "id": str(profile.pk),
        "organisation": profile.organisation.slug,
        "first_name": profile.first_name,
        "status": profile.status,
        "duty_state": profile.duty_state,
        "approvals": profile.approvals.count(),
    }


@volunteer_router.post("/apply", response={201: dict}, summary="Apply to volunteer")
def apply(request: HttpRequest, payload: ApplyIn) -> Status[dict[str, Any]]:
    org = organisation_for(request.user, payload.organisation)
    profile = services.volunteer_apply(
        user=request.user,  # type: ignore[arg-type]
        organisation=org,
        first_name=payload.first_name,
    )
    return Status(201, _profile_out(profile))


@volunteer_router.get("/me", response=dict, summary="My volunteer standing and duty state")
def me(request: HttpRequest) -> dict[str, Any]:
    return _profile_out(access_volunteer_profile(request.user))


@volunteer_router.post("/duty", response=dict, summary="Go on duty, off duty or on a break")
def duty(request: HttpRequest, payload: DutyIn) -> dict[str, Any]:
    profile = services.volunteer_duty(
        profile=access_volunteer_profile(request.user),
        state=payload.state,
        second_factor_verified=is_verified(request.user),
    )
    return _profile_out(profile)


@volunteer_router.post("/position", response=dict, summary="My position while on duty")
def volunteer_position(request: HttpRequest, payload: LocationIn) -> dict[str, Any]:
    services.volunteer_position(
        profile=access_volunteer_profile(request.user), location=payload.model_dump()
    )
    return {"ok": True}


@volunteer_router.get("/offers", response=list[dict], summary="Walk offers waiting for me")
def offers(request: HttpRequest) -> list[dict[str, Any]]:
    return selectors.pending_offers(access_volunteer_profile(request.user))


@volunteer_router.post("/offers/{offer_id}/accept", response=dict, summary="Accept a walk")
def accept(request: HttpRequest, offer_id: str) -> dict[str, Any]:
    offer, profile = access_offer(request.user, offer_id)
    walk = services.walk_accept(offer=offer, profile=profile)
    return selectors.participant_view(walk, "escort")


@volunteer_router.post("/offers/{offer_id}/decline", response=dict, summary="Decline a walk")
def decline(request: HttpRequest, offer_id: str) -> dict[str, Any]:
    offer, profile = access_offer(request.user, offer_id)
    services.walk_decline(offer=offer, profile=profile)
    return {"ok": True}


@volunteer_router.post("/{profile_id}/approve", response=dict, summary="Approve an applicant")
def approve(request: HttpRequest, profile_id: str) -> dict[str, Any]:
    profile = access_volunteer_for_staff(request.user, profile_id)
    return _profile_out(services.volunteer_approve(profile=profile, approver=request.user))  # type: ignore[arg-type]


@volunteer_router.post("/{profile_id}/status", response=dict, summary="Pause or suspend")
def set_status(request: HttpRequest, profile_id: str, payload: VolunteerStatusIn) -> dict[str, Any]:
    profile = access_volunteer_for_staff(request.user, profile_id)
    profile = services.volunteer_set_status(
        profile=profile,
        actor=request.user,  # type: ignore[arg-type]
        status=payload.status,
        reason=payload.reason,
    )
    return _profile_out(profile)


# --- trusted contacts (no account) -----------------------------------------------------------


@watch_router.post("", response=dict, summary="Follow a walk with a private link's token")
def watch(request: HttpRequest, payload: WatchTokenIn) -> dict[str, Any]:
    walk, _watch = access_walk_by_token(payload.token)
    return selectors.participant_view(walk, "watcher")
