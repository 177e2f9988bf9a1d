"""Walk home services: matching, first-accept-wins, deadlines, escalation, retention."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from homesafe.audit.services import audit_verify
from homesafe.common.errors import DomainError
from homesafe.notify.models import Notification
from homesafe.walks import services
from homesafe.walks.models import (
    DutyState,
    OfferState,
    VolunteerProfile,
    VolunteerStatus,
    Walk,
    WalkOffer,
    WalkPosition,
    WalkState,
    WalkWatch,
)
from homesafe.walks.tests.conftest import COURTENAY, request_walk

pytestmark = pytest.mark.django_db


def test_it_offers_the_walk_to_the_nearest_five_on_duty(world: Any) -> None:
    near = [world.volunteer(f"v{i}@example.org", north_m=100 * i, east_m=0) for i in range(1, 8)]
    world.volunteer("far@example.org", north_m=3500, east_m=0)
    world.volunteer("off@example.org", north_m=50, east_m=0, on_duty=False)
    walk = request_walk(world)
    offered = list(WalkOffer.objects.filter(walk=walk).order_by("distance_m"))
    assert [o.volunteer_id for o in offered] == [p.pk for p in near[:5]]
    assert all(abs(o.distance_m - 100 * (i + 1)) < 120 for i, o in enumerate(offered))
    assert walk.state == WalkState.SEARCHING and walk.due_kind == "widen"


def test_it_never_offers_to_paused_suspended_or_unverified_volunteers(world: Any) -> None:
    paused = world.volunteer("paused@example.org", north_m=100, east_m=0)
    services.volunteer_set_status(profile=paused, actor=world.admin, status="paused")
    ok = world.volunteer("ok@example.org", north_m=200, east_m=0)
    walk = request_walk(world)
    assert list(WalkOffer.objects.filter(walk=walk).values_list("volunteer_id", flat=True)) == [
        ok.pk
    ]


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_walk_to_exactly_one_of_ten_accepting_at_once(world: Any) -> None:
    for i in range(10):
        world.volunteer(f"v{i}@example.org", north_m=50 + 10 * i, east_m=0)
    rules = services.walk_settings(world.org)
    rules.offers_per_round = 10
    rules.save()
    walk = request_walk(world)
    offers = list(WalkOffer.objects.filter(walk=walk).select_related("volunteer"))
    assert len(offers) == 10
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def accept(offer: WalkOffer) -> None:
        try:
            barrier.wait()
            services.walk_accept(offer=offer, profile=offer.volunteer)
            outcomes.append("won")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(o,)) for o in offers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_taken"] * 9 + ["won"]
    walk.refresh_from_db()
    assert walk.state == WalkState.ACTIVE and walk.escort is not None
    states = list(WalkOffer.objects.filter(walk=walk).values_list("state", flat=True))
    assert states.count(OfferState.ACCEPTED) == 1 and states.count(OfferState.WITHDRAWN) == 9
    assert VolunteerProfile.objects.get(pk=walk.escort_id).duty_state == DutyState.ON_WALK


def test_it_sends_each_trusted_contact_a_private_link_on_accept(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    links = Notification.objects.filter(walk_id=walk.pk, kind="walk_watch_link")
    assert sorted(n.recipient for n in links) == ["flatmate@example.org", "sister@example.org"]
    assert WalkWatch.objects.filter(walk=walk).count() == 2
    assert all("/w/" in (n.body or "") for n in links)


def test_it_widens_then_tells_oncall_when_nobody_accepts(world: Any) -> None:
    walk = request_walk(world)
    assert WalkOffer.objects.filter(walk=walk).count() == 0
    assert walk.due_at is not None
    later = walk.due_at + dt.timedelta(seconds=1)
    world.volunteer("mid@example.org", north_m=2600, east_m=0)
    assert services.handle_one_due_walk(later) is True
    walk.refresh_from_db()
    assert walk.search_radius_m == 3000 and walk.no_volunteer_at is not None
    assert WalkOffer.objects.filter(walk=walk).count() == 1
    oncall = Notification.objects.get(walk_id=walk.pk, kind="oncall_no_volunteer")
    assert oncall.recipient == "oncall@example.org"
    assert services.handle_one_due_walk(later) is False  # next widening is not due yet


def test_it_prompts_then_escalates_an_overdue_walk(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    walk = services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    services.walk_position(walk=walk, user=world.member, location={"lat": -41.296, "lng": 174.779})
    deadline = walk.arrival_deadline
    assert deadline is not None
    assert services.handle_one_due_walk(deadline - dt.timedelta(seconds=1)) is False
    assert services.handle_one_due_walk(deadline + dt.timedelta(seconds=1)) is True
    walk.refresh_from_db()
    assert walk.overdue_prompted_at is not None and walk.due_kind == "escalate"
    assert not Notification.objects.filter(kind="walk_overdue").exists()
    assert walk.due_at is not None
    assert services.handle_one_due_walk(walk.due_at + dt.timedelta(seconds=1)) is True
    alerts = Notification.objects.filter(walk_id=walk.pk, kind="walk_overdue")
    assert sorted(a.recipient for a in alerts) == [
        "flatmate@example.org",
        "oncall@example.org",
        "sister@example.org",
    ]
    assert all("-41.29600" in (a.body or "") for a in alerts)  # last known position
    walk.refresh_from_db()
    assert walk.escalated_at is not None and walk.due_at is None
    assert audit_verify().ok


def test_it_alerts_everyone_at_once_on_sos(world: Any) -> None:
    walk = request_walk(world, kind="watched")
    services.walk_sos(walk=walk, user=world.member)
    services.walk_sos(walk=walk, user=world.member)  # pressed twice: still one alert each
    alerts = Notification.objects.filter(walk_id=walk.pk, kind="walk_sos")
    assert alerts.count() == 3


def test_it_ends_the_walk_on_check_in_and_closes_the_links(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    walk = services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    walk = services.walk_checkin(walk=walk, user=world.member)
    assert walk.state == WalkState.ENDED and walk.end_reason == "home_safe"
    assert walk.due_at is None
    assert not WalkWatch.objects.filter(walk=walk, revoked_at__isnull=True).exists()
    assert VolunteerProfile.objects.get(pk=volunteer.pk).duty_state == DutyState.ON_DUTY
    with pytest.raises(DomainError):
        services.walk_checkin(walk=walk, user=world.member)
    walk = services.walk_confirm_handover(walk=walk, profile=volunteer)
    assert walk.handover_confirmed_at is not None


def test_it_suspends_an_escort_reported_after_a_walk(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    walk = services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    services.walk_checkin(walk=walk, user=world.member)
    services.walk_feedback(
        walk=walk, user=world.member, rating=1, comment="He followed me in", something_happened=True
    )
    volunteer.refresh_from_db()
    assert volunteer.status == VolunteerStatus.SUSPENDED
    assert volunteer.duty_state == DutyState.OFF_DUTY
    walk2 = request_walk(world)
    assert not WalkOffer.objects.filter(walk=walk2, volunteer=volunteer).exists()


def test_it_purges_trails_a_day_after_the_walk(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    walk = request_walk(world)
    walk = services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    for i in range(5):
        services.walk_position(
            walk=walk,
            user=world.member,
            location={"lat": COURTENAY[0] - i * 0.0005, "lng": COURTENAY[1]},
        )
    walk = services.walk_checkin(walk=walk, user=world.member)
    assert services.handle_one_retention(timezone.now()) is False
    assert walk.ended_at is not None
    assert services.handle_one_retention(walk.ended_at + dt.timedelta(hours=24, seconds=1))
    walk.refresh_from_db()
    assert WalkPosition.objects.filter(walk=walk).count() == 0
    assert walk.start is None and walk.destination is None and walk.requester_last is None
    assert walk.start_cell_r7 and walk.end_cell_r7 and walk.end_reason == "home_safe"


def test_it_needs_two_different_staff_to_approve_a_volunteer(world: Any) -> None:
    from homesafe.accounts.models import User

    applicant = User.objects.create_user(email="new@example.org", password="a long pw 44")
    profile = services.volunteer_apply(user=applicant, organisation=world.org, first_name="Ari")
    with pytest.raises(DomainError):
        services.volunteer_approve(profile=profile, approver=applicant)
    profile = services.volunteer_approve(profile=profile, approver=world.caseworker)
    assert profile.status == VolunteerStatus.APPLIED
    with pytest.raises(DomainError):
        services.volunteer_approve(profile=profile, approver=world.caseworker)
    profile = services.volunteer_approve(profile=profile, approver=world.admin)
    assert profile.status == VolunteerStatus.APPROVED
    with pytest.raises(DomainError) as exc:
        services.volunteer_duty(profile=profile, state="on_duty", second_factor_verified=True)
    assert exc.value.code == "mfa_required"


def test_it_allows_single_approval_for_a_small_organisation(world: Any) -> None:
    from homesafe.accounts.models import User

    rules = services.walk_settings(world.org)
    rules.approvals_required = 1
    rules.save()
    applicant = User.objects.create_user(email="new@example.org", password="a long pw 44")
    profile = services.volunteer_apply(user=applicant, organisation=world.org, first_name="Ari")
    assert services.volunteer_approve(profile=profile, approver=world.admin).status == "approved"


@pytest.mark.parametrize(
    ("start", "message"),
    [({"lat": 91, "lng": 0}, "not on Earth"), ({"lat": "x"}, "latitude and a longitude")],
)
def test_it_refuses_bad_walk_requests_and_saves_nothing(
    world: Any, start: Any, message: str
) -> None:
    from homesafe.walks.services import WalkRequestIn

    with pytest.raises(DomainError) as exc:
        services.walk_request(
            user=world.member,
            organisation=world.org,
            data=WalkRequestIn(start=start, destination={"lat": -41.3, "lng": 174.77}),
        )
    assert message in exc.value.message
    assert Walk.objects.count() == 0


def test_it_refuses_a_second_walk_while_one_is_going(world: Any) -> None:
    request_walk(world)
    with pytest.raises(DomainError) as exc:
        request_walk(world)
    assert exc.value.code == "walk_in_progress"
    assert Walk.objects.count() == 1


def test_a_walk_that_fails_to_escalate_does_not_hold_up_the_others(
    world: Any, monkeypatch: Any
) -> None:
    first = request_walk(world, kind="watched")
    Walk.objects.filter(pk=first.pk).update(requester=world.caseworker)  # a second requester
    second = request_walk(world, kind="watched")
    now = timezone.now()
    Walk.objects.filter(pk=first.pk).update(
        due_at=now - dt.timedelta(seconds=2), due_kind="escalate"
    )
    Walk.objects.filter(pk=second.pk).update(
        due_at=now - dt.timedelta(seconds=1), due_kind="escalate"
    )
    real = services._alert_messages

    def broken_for_first(walk: Walk, **kwargs: Any) -> Any:
        if walk.pk == first.pk:
            raise RuntimeError("a bad row")
        return real(walk, **kwargs)

    monkeypatch.setattr(services, "_alert_messages", broken_for_first)
    with pytest.raises(RuntimeError):
        services.handle_one_due_walk(now)  # the oldest fails...
    # ...and the next one, claimed in the same batch, is still handled.
    assert Notification.objects.filter(walk_id=second.pk, kind="walk_overdue").count() == 3
    assert Walk.objects.get(pk=second.pk).escalated_at is not None
    assert Walk.objects.get(pk=first.pk).escalated_at is None
    assert services.handle_one_due_walk(now) is False  # the failed one waits out its lease
    monkeypatch.setattr(services, "_alert_messages", real)
    later = now + services.CLAIM_LEASE + dt.timedelta(seconds=1)
    assert services.handle_one_due_walk(later) is True  # the failed one comes back
    # That walk's requester has no contacts of their own: only the on-call caseworker.
    assert Notification.objects.filter(walk_id=first.pk, kind="walk_overdue").count() == 1
