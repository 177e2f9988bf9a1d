"""What the walk pillar pushes live, and to which group. Called from services only; every
push goes out after the transaction commits (STYLE.md §3). Pushes are best-effort: pages
re-read the walk's state when they (re)connect, and alerts travel as notification rows."""

from __future__ import annotations

from typing import Any

from homesafe.walks.models import VolunteerProfile, Walk, WalkOffer


def walk_group(walk_id: object) -> str:
    return f"walk.{walk_id}"


def watch_group(watch_id: object) -> str:
    """One trusted contact's link: how a revocation reaches exactly their open sockets."""
    return f"watch.{watch_id}"


WATCH_REVOKED = "watch.revoked"


def watch_revoked(watch_id: object) -> None:
    _publish(watch_group(watch_id), {"type": WATCH_REVOKED})


def volunteer_group(profile_id: object) -> str:
    return f"volunteer.{profile_id}"


def _publish(group: str, message: dict[str, Any]) -> None:
    from homesafe.realtime.events import publish_on_commit

    publish_on_commit(group, message)


def walk_state(walk: Walk) -> None:
    from homesafe.walks.selectors import walk_public_state

    _publish(walk_group(walk.pk), {"type": "walk.state", "walk": walk_public_state(walk)})


def offer_created(offer: WalkOffer) -> None:
    from homesafe.walks.selectors import offer_view

    _publish(volunteer_group(offer.volunteer_id), {"type": "offer.new", "offer": offer_view(offer)})


def offer_withdrawn(offer: WalkOffer) -> None:
    _publish(
        volunteer_group(offer.volunteer_id), {"type": "offer.withdrawn", "offer_id": str(offer.pk)}
    )


def volunteer_state(profile: VolunteerProfile) -> None:
    _publish(
        volunteer_group(profile.pk), {"type": "volunteer.state", "duty_state": profile.duty_state}
    )


def position(walk: Walk, role: str, point: dict[str, Any]) -> None:
    _publish(walk_group(walk.pk), {"type": "walk.position", "role": role, "point": point})


def overdue_prompt(walk: Walk) -> None:
    _publish(walk_group(walk.pk), {"type": "walk.overdue_prompt"})


def no_volunteer(walk: Walk) -> None:
    _publish(walk_group(walk.pk), {"type": "walk.no_volunteer"})
