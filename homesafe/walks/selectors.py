"""Reads for walk pages, the API and live pushes."""

from __future__ import annotations

from typing import Any

import h3

from homesafe.common import geo
from homesafe.walks.models import (
    OfferState,
    SafeVenue,
    SavedPlace,
    VolunteerApproval,
    VolunteerProfile,
    VolunteerStatus,
    Walk,
    WalkFeedback,
    WalkOffer,
    WalkSettings,
    WalkState,
    WalkWatch,
)


def walk_public_state(walk: Walk) -> dict[str, Any]:
    """What everyone following a walk may see: no addresses, no exact points."""
    escort = walk.escort
    return {
        "id": str(walk.pk),
        "state": walk.state,
        "kind": walk.kind,
        "party_size": walk.party_size,
        "escort": None
        if escort is None
        else {
            "first_name": escort.first_name,
            "organisation": walk.organisation.name,
            "has_photo": bool(escort.photo),
        },
        "arrival_deadline": walk.arrival_deadline.isoformat() if walk.arrival_deadline else None,
        "overdue": walk.overdue_prompted_at is not None,
        "escalated": walk.escalated_at is not None,
        "sos": walk.sos_at is not None,
        "no_volunteer": walk.no_volunteer_at is not None,
        "handover_confirmed": walk.handover_confirmed_at is not None,
        "end_reason": walk.end_reason,
        "emergency_number": walk.organisation.emergency_number,
    }


def offer_view(offer: WalkOffer) -> dict[str, Any]:
    """An offer as the volunteer sees it before accepting: pickup rounded to about 100 m."""
    walk = offer.walk
    lat, lng = h3.cell_to_latlng(geo.cell_str(walk.pickup_cell))
    return {
        "id": str(offer.pk),
        "walk_id": str(walk.pk),
        "state": offer.state,
        "distance_m": offer.distance_m,
        "party_size": walk.party_size,
        "walk_distance_m": walk.distance_m,
        "pickup": {"lat": round(lat, 5), "lng": round(lng, 5), "precision_m": 100},
        "created_at": offer.created_at.isoformat(),
    }


def pending_offers(profile: VolunteerProfile) -> list[dict[str, Any]]:
    offers = (
        WalkOffer.objects.filter(
            volunteer=profile, state=OfferState.PENDING, walk__state=WalkState.SEARCHING
        )
        .select_related("walk")
        .order_by("-created_at")
    )
    return [offer_view(o) for o in offers]


def active_walk_for(user: Any) -> Walk | None:
    """The walk this person is on now, as requester or as escort."""
    if not getattr(user, "is_authenticated", False):
        return None
    mine = Walk.objects.filter(requester=user, state__in=[WalkState.SEARCHING, WalkState.ACTIVE])
    walk = mine.select_related("organisation", "escort").first()
    if walk is None:
        walk = (
            Walk.objects.filter(escort__user=user, state=WalkState.ACTIVE)
            .select_related("organisation", "escort")
            .first()
        )
    return walk


def safe_venues_near(walk: Walk, limit: int = 5) -> list[dict[str, Any]]:
    start = walk.start or {}
    if not start:
        return []
    point = geo.Point(start["lat"], start["lng"])
    cells = [h3.str_to_int(c) for c in h3.grid_disk(geo.cell_str(walk.start_cell_r7), 2)]
    venues: list[dict[str, Any]] = []
    for venue in SafeVenue.objects.filter(organisation_id=walk.organisation_id, cell_r7__in=cells):
        distance = geo.haversine_m(point, geo.Point(venue.lat, venue.lng))
        venues.append(
            {
                "name": venue.name,
                "address": venue.address,
                "hours": venue.hours,
                "phone": venue.phone,
                "lat": venue.lat,
                "lng": venue.lng,
                "distance_m": round(distance),
            }
        )
    venues.sort(key=lambda v: v["distance_m"])
    return venues[:limit]


def participant_view(walk: Walk, role: str) -> dict[str, Any]:
    """The full view for the requester or the escort (and trusted contacts, role "watcher")."""
    view = walk_public_state(walk)
    view["requester_last"] = walk.requester_last
    view["escort_last"] = walk.escort_last
    if role in ("requester", "escort"):
        view["destination"] = walk.destination
        view["destination_label"] = walk.destination_label
        view["start"] = walk.start
    if role == "escort":
        view["note"] = walk.note
    if role == "requester" and walk.no_volunteer_at and walk.state == WalkState.SEARCHING:
        view["safe_venues"] = safe_venues_near(walk)
    if role == "requester":
        view["watchers"] = watchers_of(walk)
    return view


def watchers_of(walk: Walk) -> list[dict[str, Any]]:
    """The trusted contacts holding a link to this walk, for the person walking."""
    watches = WalkWatch.objects.filter(walk=walk).select_related("contact").order_by("created_at")
    return [
        {"id": str(w.pk), "name": w.contact.name if w.contact else "", "live": w.revoked_at is None}
        for w in watches
    ]


# --- reads for the walk-home web pages ---------------------------------------------------------


def member_organisations(user: Any) -> list[Any]:
    """The organisations a person belongs to in any role, by name (for the pickers)."""
    from homesafe.accounts.models import Organisation

    if not getattr(user, "is_authenticated", False):
        return []
    return list(Organisation.objects.filter(memberships__user=user).distinct().order_by("name"))


def saved_places_of(user: Any) -> list[SavedPlace]:
    """A member's saved destinations, oldest first (their first one is usually home)."""
    return list(SavedPlace.objects.filter(owner=user).order_by("created_at"))


def trusted_contacts_of(user: Any) -> list[Any]:
    from homesafe.accounts.models import TrustedContact

    return list(TrustedContact.objects.filter(owner=user).order_by("created_at"))


def volunteer_profiles_of(user: Any) -> list[VolunteerProfile]:
    """Someone's standing as an escort, one profile per organisation."""
    return list(
        VolunteerProfile.objects.filter(user=user)
        .select_related("organisation")
        .order_by("applied_at")
    )


def feedback_given(walk: Walk, user: Any) -> bool:
    return WalkFeedback.objects.filter(walk=walk, author=user).exists()


def volunteers_for_staff(user: Any) -> list[dict[str, Any]]:
    """Applications and volunteers of the organisations whose staff this verified user is,
    with approvals so far, how many are needed, and what this user may still do."""
    from django.db.models import Count, Exists, OuterRef

    from homesafe.accounts.models import Membership, Role
    from homesafe.reports.access import case_organisation_ids

    org_ids = case_organisation_ids(user)
    if not org_ids:
        return []
    admin_of = set(
        Membership.objects.filter(
            user=user, organisation_id__in=org_ids, role=Role.ORG_ADMIN
        ).values_list("organisation_id", flat=True)
    )
    needed = dict(
        WalkSettings.objects.filter(organisation_id__in=org_ids).values_list(
            "organisation_id", "approvals_required"
        )
    )
    default_needed = WalkSettings._meta.get_field("approvals_required").get_default()
    profiles = (
        VolunteerProfile.objects.filter(organisation_id__in=org_ids)
        .exclude(status=VolunteerStatus.REJECTED)
        .select_related("organisation", "user")
        .annotate(
            approval_count=Count("approvals"),
            approved_by_me=Exists(
                VolunteerApproval.objects.filter(profile=OuterRef("pk"), approver=user)
            ),
        )
        .order_by("organisation__name", "status", "applied_at")
    )
    return [
        {
            "profile": p,
            "approvals": p.approval_count,  # type: ignore[attr-defined]
            "needed": needed.get(p.organisation_id, default_needed),
            "approved_by_me": p.approved_by_me,  # type: ignore[attr-defined]
            "is_self": p.user_id == user.pk,
            "can_admin": p.organisation_id in admin_of,
        }
        for p in profiles
    ]


def photo_bytes(profile: VolunteerProfile) -> bytes | None:
    """The escort's photo as JPEG bytes (already re-encoded when it was uploaded)."""
    import base64

    return base64.b64decode(profile.photo) if profile.photo else None
