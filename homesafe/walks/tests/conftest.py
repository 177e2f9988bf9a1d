"""Walk personas: a member with trusted contacts, an on-call caseworker and volunteers on duty
around Courtenay Place."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from homesafe.common import geo

# The real-worker fixture of the notify tests, for the walk escalation tests here.
from homesafe.notify.tests.test_worker import workers  # noqa: F401
from homesafe.walks.models import DueKind, Walk, WalkKind, WalkState

COURTENAY = (-41.2935, 174.7815)
HOME = (-41.2990, 174.7760)  # a flat up Aro Valley way, ~800 m


def offset(lat: float, lng: float, north_m: float, east_m: float) -> dict[str, float]:
    dlat = north_m / 111_320.0
    dlng = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return {"lat": lat + dlat, "lng": lng + dlng}


@dataclass
class WalkWorld:
    org: Any
    member: Any
    contacts: list[Any]
    caseworker: Any
    admin: Any
    volunteers: list[Any] = field(default_factory=list)

    def volunteer(self, email: str, *, north_m: float, east_m: float, on_duty: bool = True) -> Any:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from homesafe.accounts.models import Role, User
        from homesafe.accounts.services import membership_grant
        from homesafe.walks import services
        from homesafe.walks.models import VolunteerProfile, VolunteerStatus

        user = User.objects.create_user(email=email, password="a long test password")
        membership_grant(user=user, organisation=self.org, role=Role.VOLUNTEER)
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        profile = VolunteerProfile.objects.create(
            user=user,
            organisation=self.org,
            first_name=email.split("@")[0].title(),
            status=VolunteerStatus.APPROVED,
        )
        if on_duty:
            services.volunteer_duty(profile=profile, state="on_duty", second_factor_verified=True)
            services.volunteer_position(
                profile=profile, location=offset(*COURTENAY, north_m, east_m)
            )
        self.volunteers.append(profile)
        return profile


@pytest.fixture
def world(db: Any) -> WalkWorld:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from homesafe.accounts.models import Organisation, Role, User
    from homesafe.accounts.services import membership_grant, trusted_contact_add
    from homesafe.walks.services import walk_settings

    org = Organisation.objects.create(name="Rainbow Wellington", slug="rainbow")
    member = User.objects.create_user(
        email="member@example.org", password="a long password 1", display_name="Rua"
    )
    membership_grant(user=member, organisation=org, role=Role.MEMBER)
    contacts = [
        trusted_contact_add(owner=member, name="Flatmate", email="flatmate@example.org"),
        trusted_contact_add(owner=member, name="Sister", email="sister@example.org"),
    ]
    caseworker = User.objects.create_user(email="oncall@example.org", password="a long pw 22")
    membership_grant(user=caseworker, organisation=org, role=Role.CASEWORKER)
    TOTPDevice.objects.create(user=caseworker, name="phone", confirmed=True)
    admin = User.objects.create_user(email="admin@example.org", password="a long pw 33")
    membership_grant(user=admin, organisation=org, role=Role.ORG_ADMIN)
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    rules = walk_settings(org)
    rules.oncall = caseworker
    rules.save()
    return WalkWorld(org=org, member=member, contacts=contacts, caseworker=caseworker, admin=admin)


def request_walk(world: WalkWorld, **overrides: Any) -> Any:
    from homesafe.walks import services

    data = services.WalkRequestIn(
        start={"lat": COURTENAY[0], "lng": COURTENAY[1]},
        destination={"lat": HOME[0], "lng": HOME[1]},
        **overrides,
    )
    return services.walk_request(user=world.member, organisation=world.org, data=data)


def due_walks(
    world: Any, count: int, *, kind: str = DueKind.ESCALATE, ago_s: float = 1
) -> list[Walk]:
    """Active watched walks whose next deadline (`kind`) passed `ago_s` seconds ago, the
    oldest first."""
    now = timezone.now()
    start = geo.Point(*COURTENAY)
    walks = []
    for i in range(count):
        walk = Walk(
            id=uuid.uuid4(),
            organisation=world.org,
            requester=world.member,
            kind=WalkKind.WATCHED,
            state=WalkState.ACTIVE,
            distance_m=900,
            start={"lat": start.lat, "lng": start.lng},
            destination={"lat": HOME[0], "lng": HOME[1]},
            requester_last={"lat": -41.2950, "lng": 174.7790, "at": now.isoformat()},
            pickup_cell=geo.cell_int(start, 10),
            start_cell_r7=geo.cell_int(start, 7),
            end_cell_r7=geo.cell_int(geo.Point(*HOME), 7),
            started_at=now - dt.timedelta(minutes=40),
            arrival_deadline=now - dt.timedelta(minutes=6),
            overdue_prompted_at=now - dt.timedelta(minutes=6) if kind == DueKind.ESCALATE else None,
            due_at=now - dt.timedelta(seconds=ago_s, milliseconds=count - i),
            due_kind=kind,
        )
        walk.save(force_insert=True)  # one by one: encrypted fields are bound to each row
        walks.append(walk)
    return walks
