"""The Wellington demo: seeded once per module (seeding is the slow part), rolled back after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import transaction
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe import demo
from homesafe.accounts.models import Membership, Organisation, Role, TrustedContact, User
from homesafe.audit.services import audit_verify
from homesafe.reports.models import Report

pytestmark = pytest.mark.django_db

DEMO_USERS = "@demo.homesafe.nz"


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """Seed once inside a transaction that is rolled back when the module is done.

    Each test's own transaction nests inside it (as with TestCase.setUpTestData), so tests
    see the seeded data, may change it freely, and leave nothing behind for other modules.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield demo.seed()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _counts() -> dict[str, int]:
    org = Organisation.objects.get(slug=demo.DEMO_ORG_SLUG)
    roles = Membership.objects.filter(organisation=org)
    return {
        "orgs": Organisation.objects.filter(slug=demo.DEMO_ORG_SLUG).count(),
        "users": User.objects.filter(email__endswith=DEMO_USERS).count(),
        "admins": roles.filter(role=Role.ORG_ADMIN).count(),
        "caseworkers": roles.filter(role=Role.CASEWORKER).count(),
        "members": roles.filter(role=Role.MEMBER).count(),
        "volunteers": roles.filter(role=Role.VOLUNTEER).count(),
        "contacts": TrustedContact.objects.filter(owner__email__endswith=DEMO_USERS).count(),
        "authenticators": TOTPDevice.objects.filter(
            user__email__endswith=DEMO_USERS, confirmed=True
        ).count(),
        "reports": Report.objects.filter(organisation=org).count(),
        "all_reports": Report.objects.count(),
    }


def test_it_seeds_a_walk_home_world(seeded: str) -> None:
    from homesafe.walks.matching import nearest_volunteers
    from homesafe.walks.models import SafeVenue, SavedPlace, VolunteerProfile, WalkSettings

    org = Organisation.objects.get(slug=demo.DEMO_ORG_SLUG)
    assert VolunteerProfile.objects.filter(organisation=org, status="approved").count() == 20
    assert WalkSettings.objects.get(organisation=org).oncall is not None
    assert SafeVenue.objects.filter(organisation=org).count() >= 3
    assert SavedPlace.objects.filter(owner__email__startswith="member@").count() == 2
    from homesafe.common import geo

    near = nearest_volunteers(organisation_id=org.pk, point=geo.Point(*demo.COURTENAY_PLACE),
                              radius_m=2000, limit=5)
    assert len(near) == demo.ON_DUTY_VOLUNTEERS
    assert demo.demo_otp("volunteer01@demo.homesafe.nz").isdigit()


def test_it_seeds_the_demo_organisation(seeded: str) -> None:
    org = Organisation.objects.get(slug=demo.DEMO_ORG_SLUG)
    assert (org.name, org.timezone, org.emergency_number) == (
        "Rainbow Wellington", "Pacific/Auckland", "111"
    )
    counts = _counts()
    assert counts["orgs"] == 1
    assert counts["admins"] == 1
    assert counts["caseworkers"] == 2
    assert counts["members"] == 1
    assert counts["volunteers"] == 20
    assert counts["users"] == 25
    assert counts["authenticators"] == 24  # staff and volunteers (DESIGN.md rule 4)
    assert counts["reports"] >= 200
    assert counts["all_reports"] == counts["reports"]

    member = User.objects.get(email="member@demo.homesafe.nz")
    contacts = list(TrustedContact.objects.filter(owner=member))
    assert len(contacts) == 2
    assert all(str(c.email).endswith("@example.org") for c in contacts)
    for _role, email in demo.demo_logins():
        assert User.objects.get(email=email).check_password(demo.DEMO_PASSWORD)
    assert "Rainbow Wellington" in seeded


def test_it_makes_the_reports_look_like_wellington_nights(seeded: str) -> None:
    reports = list(Report.objects.all())
    assert all(r.occurred_on is not None for r in reports)
    # Friday and Saturday nights, 21:00 to 03:00 (after midnight belongs to the night before).
    weekend_nights = [
        r for r in reports
        if r.occurred_on is not None and r.occurred_time is not None
        and ((r.occurred_time.hour >= 21 and r.occurred_on.weekday() in (4, 5))
             or (r.occurred_time.hour < 3 and r.occurred_on.weekday() in (5, 6)))
    ]
    assert len(weekend_nights) > len(reports) / 2
    assert 0.7 < sum(r.consent_statistics for r in reports) / len(reports) < 0.9
    assert {r.status for r in reports} >= {"new", "in_support", "closed"}
    assert {r.assignee.email for r in reports if r.assignee} <= {
        "aroha@demo.homesafe.nz", "sam@demo.homesafe.nz"
    }
    story = [r for r in reports if r.narrative and "walk us home" in r.narrative]
    assert len(story) == 1
    assert story[0].venue_type == "restaurant_takeaway"
    by_reporter = story[0].police_responses.filter(entered_by="reporter").get()
    assert by_reporter.help_requested["escort_home"] == "refused"


def test_it_reseeds_idempotently_and_keeps_the_audit_chain(seeded: str) -> None:
    before = _counts()
    summary = demo.seed()
    assert _counts() == before
    assert "replacing" in summary
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries > 2 * before["reports"]


def test_it_gives_demo_staff_a_working_code(seeded: str) -> None:
    caseworker = User.objects.get(email="aroha@demo.homesafe.nz")
    code = demo.demo_otp(" Aroha@demo.homesafe.nz ")
    assert len(code) == 6 and code.isdigit()
    assert match_token(caseworker, code) is not None


def test_it_refuses_codes_for_other_emails(seeded: str) -> None:
    with pytest.raises(CommandError):
        demo.demo_otp("caseworker@example.org")
    with pytest.raises(CommandError):
        demo.demo_otp("aroha@demo.homesafe.nz.example.org")
    # A demo address without a seeded authenticator has no code either.
    with pytest.raises(CommandError):
        demo.demo_otp("member@demo.homesafe.nz")
