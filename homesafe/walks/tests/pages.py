"""Set-up shared by the walk page tests: Wellington places, an on-duty volunteer, watch tokens."""

from __future__ import annotations

import re
from typing import Any

COURTENAY_PLACE = {"lat": -41.2935, "lng": 174.7815}
# About 300 m north-west of Courtenay Place, on Wakefield Street.
NEARBY = {"lat": -41.2910, "lng": 174.7800}
# Home for the member: Oriental Bay, about 1 km away.
ORIENTAL_BAY = {"lat": -41.2905, "lng": 174.7905}

TOKEN_IN_LINK = re.compile(r"/w/([A-Za-z0-9_-]{10,64})/")


def on_duty_volunteer(
    user: Any,
    organisation: Any,
    approvers: list[Any],
    *,
    first_name: str = "Sam",
    at: dict[str, float] = NEARBY,
) -> Any:
    """An approved volunteer with a confirmed second factor, on duty at `at`."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from homesafe.walks import services

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    profile = services.volunteer_apply(user=user, organisation=organisation, first_name=first_name)
    for approver in approvers:
        profile = services.volunteer_approve(profile=profile, approver=approver)
    assert profile.status == "approved"
    profile = services.volunteer_duty(profile=profile, state="on_duty", second_factor_verified=True)
    services.volunteer_position(profile=profile, location=at)
    profile.refresh_from_db()
    return profile


def watch_token(walk: Any) -> str:
    """A trusted contact's token, read out of the email that carries the private link."""
    from homesafe.notify.models import Notification

    for notification in Notification.objects.filter(walk_id=walk.pk, kind="walk_watch_link"):
        match = TOKEN_IN_LINK.search(notification.body or "")
        if match:
            return match.group(1)
    raise AssertionError("no watch link was sent for this walk")
