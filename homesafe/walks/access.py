"""The access checkpoints for walks, offers and watch links (STYLE.md §2).

A walk is visible to its requester, its escort and, through a live token, a trusted contact.
Anyone else gets NotFound, whether or not the walk exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from homesafe.common.errors import NotFound
from homesafe.walks.models import VolunteerProfile, Walk, WalkOffer, WalkState, WalkWatch
from homesafe.walks.services import watch_token_hash


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound()


def access_walk(user: Any, walk_id: object) -> tuple[Walk, str]:
    """The walk and the caller's role in it ("requester" or "escort")."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    walk = (
        Walk.objects.select_related("organisation", "escort", "requester")
        .filter(pk=_uuid(walk_id))
        .first()
    )
    if walk is None:
        raise NotFound()
    if walk.requester_id == user.pk:
        return walk, "requester"
    if walk.escort is not None and walk.escort.user_id == user.pk:
        return walk, "escort"
    raise NotFound()


def access_walk_by_token(token: str) -> tuple[Walk, WalkWatch]:
    """A trusted contact's link: works while the walk is on and the link is not revoked."""
    if not token or len(token) > 64:
        raise NotFound()
    watch = (
        WalkWatch.objects.select_related("walk", "walk__organisation", "walk__escort")
        .filter(token_hash=watch_token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if watch is None or watch.walk.state not in (WalkState.SEARCHING, WalkState.ACTIVE):
        raise NotFound()
    return watch.walk, watch


# A trusted contact who opened their link has the walk and watch ids in their session, so the
# WebSocket and the escort's photo find the walk without the token appearing anywhere else.
WATCH_SESSION_KEY = "homesafe_watch"


def access_watch_by_session(session: Any, walk_id: object = None) -> WalkWatch:
    """The live watch this browser session opened (for `walk_id`, when given)."""
    held = session.get(WATCH_SESSION_KEY) if session is not None else None
    if not held or (walk_id is not None and str(held.get("walk")) != str(walk_id)):
        raise NotFound()
    watch = (
        WalkWatch.objects.filter(
            pk=_uuid(held.get("watch")),
            walk_id=_uuid(held.get("walk")),
            revoked_at__isnull=True,
            walk__state__in=[WalkState.SEARCHING, WalkState.ACTIVE],
        )
        .select_related("walk", "walk__escort")
        .first()
    )
    if watch is None:
        raise NotFound()
    return watch


def access_offer(user: Any, offer_id: object) -> tuple[WalkOffer, VolunteerProfile]:
    """An offer, only for the volunteer it was made to."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    offer = (
        WalkOffer.objects.select_related("walk", "walk__organisation", "volunteer")
        .filter(pk=_uuid(offer_id), volunteer__user=user)
        .first()
    )
    if offer is None:
        raise NotFound()
    return offer, offer.volunteer


def access_volunteer_profile(user: Any, organisation_id: int | None = None) -> VolunteerProfile:
    """The caller's own volunteer profile (in one organisation, or their only one)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    profiles = VolunteerProfile.objects.filter(user=user).select_related("organisation", "user")
    if organisation_id is not None:
        profiles = profiles.filter(organisation_id=organisation_id)
    profile = profiles.order_by("applied_at").first()
    if profile is None:
        raise NotFound()
    return profile


def access_volunteer_for_staff(user: Any, profile_id: object) -> VolunteerProfile:
    """A volunteer application, for verified staff of its organisation."""
    from homesafe.reports.access import case_organisation_ids

    profile = (
        VolunteerProfile.objects.select_related("organisation", "user")
        .filter(pk=_uuid(profile_id), organisation_id__in=case_organisation_ids(user))
        .first()
    )
    if profile is None:
        raise NotFound()
    return profile
