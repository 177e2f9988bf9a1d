"""Nearest on-duty volunteers: the H3 range search against a brute force over every volunteer."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h3.api.basic_int as h3
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homesafe.common import geo
from homesafe.walks import matching
from homesafe.walks.matching import nearest_volunteers
from homesafe.walks.models import DutyState, VolunteerProfile, VolunteerStatus

pytestmark = pytest.mark.django_db

COURTENAY = geo.Point(-41.2935, 174.7815)
M_PER_DEG_LAT = 111_320.0


@pytest.fixture(autouse=True)
def _nothing_learnt() -> Iterator[None]:
    matching.forget()
    yield
    matching.forget()


def moved(point: geo.Point, north_m: float, east_m: float) -> geo.Point:
    return geo.Point(
        point.lat + north_m / M_PER_DEG_LAT,
        point.lng + east_m / (M_PER_DEG_LAT * math.cos(math.radians(point.lat))),
    )


@dataclass
class Registered:
    organisation_id: int
    profiles: list[VolunteerProfile]

    def brute_force(
        self, point: geo.Point, radius_m: float, exclude: frozenset[Any] = frozenset()
    ) -> list[tuple[float, uuid.UUID]]:
        """Every eligible volunteer within the radius, nearest first: distance to the centre
        of their res-10 cell, computed independently of the search."""
        found = []
        for p in self.profiles:
            if (
                p.organisation_id != self.organisation_id
                or p.duty_state != DutyState.ON_DUTY
                or p.status != VolunteerStatus.APPROVED
                or p.cell_r10 is None
                or p.pk in exclude
            ):
                continue
            distance = geo.haversine_m(point, geo.Point(*h3.cell_to_latlng(p.cell_r10)))
            if distance <= radius_m:
                found.append((distance, p.pk))
        return sorted(found)


def register(
    points: list[geo.Point],
    *,
    rng: random.Random | None = None,
    organisation_id: int | None = None,
    prefix: str = "v",
) -> Registered:
    """Volunteers at these points in bulk: all approved and on duty, or (with `rng`) a random
    mix of duty states and statuses, some without a position."""
    from homesafe.accounts.models import Organisation, User

    if organisation_id is None:
        organisation_id = Organisation.objects.create(
            name=f"Walks {uuid.uuid4().hex[:6]}", slug=f"walks-{uuid.uuid4().hex[:8]}"
        ).pk
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{i}.{uuid.uuid4().hex[:6]}@example.org") for i in range(len(points))]
    )
    profiles = []
    for user, point in zip(users, points, strict=True):
        duty, status = DutyState.ON_DUTY, VolunteerStatus.APPROVED
        if rng is not None and rng.random() < 0.35:
            duty = rng.choice(list(DutyState))
        if rng is not None and rng.random() < 0.15:
            status = rng.choice(list(VolunteerStatus))
        placed = rng is None or rng.random() > 0.03
        profiles.append(
            VolunteerProfile(
                id=uuid.uuid4(),
                user=user,
                organisation_id=organisation_id,
                first_name="Sam",
                status=status,
                duty_state=duty,
                cell_r10=geo.cell_int(point, 10) if placed else None,
                cell_r7=geo.cell_int(point, 7) if placed else None,
            )
        )
    VolunteerProfile.objects.bulk_create(profiles)
    return Registered(organisation_id, profiles)


def assert_nearest(
    found: list[matching.Candidate],
    expected: list[tuple[float, uuid.UUID]],
    limit: int,
) -> None:
    """The same distances as the brute force's first `limit`; among volunteers in one cell (equally
    near) either may be the last one in."""
    best = expected[:limit]
    assert len(found) == len(best)
    truth = {pid: d for d, pid in expected}
    assert len({c.profile_id for c in found}) == len(found)
    for candidate, (distance, _pid) in zip(found, best, strict=True):
        assert candidate.profile_id in truth
        assert math.isclose(truth[candidate.profile_id], distance, abs_tol=1e-6)
        assert abs(candidate.distance_m - distance) <= 0.5 + 1e-6
    if best:
        last = best[-1][0]
        nearer = {pid for d, pid in best if d < last - 1e-6}
        assert nearer <= {c.profile_id for c in found}


def test_it_matches_a_brute_force_on_random_volunteers() -> None:
    rng = random.Random(20261129)
    points = []
    for i in range(700):
        if i % 3 == 0:  # a crowd around the centre, the rest over a 12 km square
            points.append(moved(COURTENAY, rng.gauss(0, 350), rng.gauss(0, 350)))
        else:
            points.append(moved(COURTENAY, rng.uniform(-6000, 6000), rng.uniform(-6000, 6000)))
    volunteers = register(points, rng=rng)
    # Another organisation's volunteers stand in the same streets and are never offered.
    register(points[:150], organisation_id=None, prefix="other")
    users = {p.pk: p.user_id for p in volunteers.profiles}
    checked = 0
    for _ in range(40):
        point = moved(COURTENAY, rng.uniform(-4000, 4000), rng.uniform(-4000, 4000))
        if rng.random() < 0.3:
            point = moved(COURTENAY, rng.gauss(0, 200), rng.gauss(0, 200))
        radius = rng.choice([150.0, 400.0, 900.0, 2000.0, 3500.0])
        limit = rng.choice([1, 3, 5, 10, 25])
        expected_all = volunteers.brute_force(point, radius)
        exclude = frozenset(pid for _d, pid in expected_all[: rng.choice([0, 0, 2, 6])])
        expected = [(d, pid) for d, pid in expected_all if pid not in exclude]
        # From nothing learnt, then with what that search learnt, then with a learnt density
        # far too high (a tiny first disc and many rounds) and none at all (the whole radius).
        for learnt in ("cold", "warm", "crowded", "empty"):
            key = (
                "default",
                volunteers.organisation_id,
                h3.latlng_to_cell(point.lat, point.lng, 7),
            )
            if learnt == "cold":
                matching.forget()
            elif learnt in ("crowded", "empty"):
                matching._learnt[key] = (1.0 if learnt == "crowded" else 0.0, timezone.now())
            found = nearest_volunteers(
                organisation_id=volunteers.organisation_id,
                point=point,
                radius_m=radius,
                limit=limit,
                exclude_profile_ids=exclude,
            )
            assert_nearest(found, expected, limit)
            assert all(users[c.profile_id] == c.user_id for c in found)
            checked += len(found)
    assert checked > 500  # the draw reaches into crowded and sparse places alike


def test_it_keeps_a_volunteer_exactly_at_the_radius_and_drops_one_just_beyond() -> None:
    volunteers = register([moved(COURTENAY, 0, 1000), moved(COURTENAY, 40, 40)])
    far, near = volunteers.profiles
    edge = geo.haversine_m(COURTENAY, geo.Point(*h3.cell_to_latlng(far.cell_r10)))
    # Exactly at the radius as the search measures it: "within" includes the edge.
    exactly = matching._Around(COURTENAY).distance(*matching._centre(far.cell_r10))
    assert math.isclose(exactly, edge, abs_tol=1e-6)
    for learnt in ("cold", "warm"):
        if learnt == "cold":
            matching.forget()
        for radius in (exactly, edge + 0.01):
            found = nearest_volunteers(
                organisation_id=volunteers.organisation_id,
                point=COURTENAY,
                radius_m=radius,
                limit=5,
            )
            assert [c.profile_id for c in found] == [near.pk, far.pk]
            assert found[1].distance_m == round(edge)
        found = nearest_volunteers(
            organisation_id=volunteers.organisation_id,
            point=COURTENAY,
            radius_m=edge - 0.01,
            limit=5,
        )
        assert [c.profile_id for c in found] == [near.pk]


def test_it_returns_fewer_than_the_limit_when_fewer_are_near() -> None:
    volunteers = register(
        [moved(COURTENAY, 300, 0), moved(COURTENAY, 0, -700), moved(COURTENAY, 2500, 0)]
    )
    found = nearest_volunteers(
        organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=10
    )
    assert [c.profile_id for c in found] == [p.pk for p in volunteers.profiles[:2]]
    assert (
        nearest_volunteers(
            organisation_id=volunteers.organisation_id,
            point=moved(COURTENAY, -20_000, 0),
            radius_m=2000,
            limit=10,
        )
        == []
    )
    assert (
        nearest_volunteers(
            organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=0
        )
        == []
    )


def test_it_offers_only_approved_volunteers_on_duty_in_the_organisation() -> None:
    spots = [moved(COURTENAY, 30 * i, 0) for i in range(12)]
    volunteers = register(spots)
    ineligible = volunteers.profiles[1:]
    states = [DutyState.OFF_DUTY, DutyState.ON_WALK, DutyState.ON_BREAK]
    statuses = [
        VolunteerStatus.APPLIED,
        VolunteerStatus.PAUSED,
        VolunteerStatus.SUSPENDED,
        VolunteerStatus.REJECTED,
    ]
    for profile, state in zip(ineligible[:3], states, strict=True):
        profile.duty_state = state
    for profile, status in zip(ineligible[3:7], statuses, strict=True):
        profile.status = status
    ineligible[7].cell_r10 = None
    VolunteerProfile.objects.bulk_update(ineligible[:8], ["duty_state", "status", "cell_r10"])
    elsewhere = register(spots)  # another organisation, same streets
    found = nearest_volunteers(
        organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=20
    )
    assert {c.profile_id for c in found} == {volunteers.profiles[0].pk} | {
        p.pk for p in ineligible[8:]
    }
    assert not {c.profile_id for c in found} & {p.pk for p in elsewhere.profiles}


def test_it_skips_volunteers_already_offered_and_finds_the_next_nearest() -> None:
    volunteers = register([moved(COURTENAY, 100 * i, 0) for i in range(1, 9)])
    ids = [p.pk for p in volunteers.profiles]
    found = nearest_volunteers(
        organisation_id=volunteers.organisation_id,
        point=COURTENAY,
        radius_m=2000,
        limit=3,
        exclude_profile_ids=frozenset(ids[:4]),
    )
    assert [c.profile_id for c in found] == ids[4:7]


def test_it_reads_a_crowded_or_sparse_neighbourhood_in_one_query_once_it_has_learnt() -> None:
    rng = random.Random(7)
    crowd = register([moved(COURTENAY, rng.gauss(0, 250), rng.gauss(0, 250)) for _ in range(400)])
    sparse = register(
        [moved(COURTENAY, rng.uniform(-2500, 2500), rng.uniform(-2500, 2500)) for _ in range(60)]
    )
    for volunteers in (crowd, sparse):
        nearest_volunteers(
            organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=10
        )
        with CaptureQueriesContext(connection) as queries:
            found = nearest_volunteers(
                organisation_id=volunteers.organisation_id,
                point=moved(COURTENAY, 60, -40),  # the same res-7 neighbourhood
                radius_m=2000,
                limit=10,
            )
        assert len(found) == 10
        assert len(queries) == 1


def test_a_crowded_neighbourhood_takes_one_query_even_with_nothing_learnt() -> None:
    rng = random.Random(11)
    crowd = register([moved(COURTENAY, rng.gauss(0, 250), rng.gauss(0, 250)) for _ in range(400)])
    with CaptureQueriesContext(connection) as queries:
        found = nearest_volunteers(
            organisation_id=crowd.organisation_id, point=COURTENAY, radius_m=2000, limit=10
        )
    assert len(queries) == 1  # the first disc (matching.COLD_REACH_M) already holds ten
    assert_nearest(found, crowd.brute_force(COURTENAY, 2000), 10)


def test_it_forgets_a_neighbourhood_after_a_while() -> None:
    volunteers = register([moved(COURTENAY, 0, 1500)])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        nearest_volunteers(
            organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=5
        )
        with CaptureQueriesContext(connection) as queries:
            nearest_volunteers(
                organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=5
            )
        assert len(queries) == 1  # learnt: sparse, so straight to the whole radius
    with time_machine.travel(start + matching.LEARNT_FOR + dt.timedelta(seconds=1), tick=False):
        with CaptureQueriesContext(connection) as queries:
            found = nearest_volunteers(
                organisation_id=volunteers.organisation_id, point=COURTENAY, radius_m=2000, limit=5
            )
        assert len(queries) > 1  # from nothing learnt again: a small disc first
        assert [c.profile_id for c in found] == [volunteers.profiles[0].pk]


@pytest.mark.parametrize("resolution", [5, 6, 7, 8, 9])
def test_descendants_stay_within_the_bound_the_search_prunes_with(resolution: int) -> None:
    rng = random.Random(resolution)
    cells = [
        h3.latlng_to_cell(rng.uniform(-70, 70), rng.uniform(-180, 180), resolution)
        for _ in range(3 if resolution < 7 else 25)
    ]
    cells.append(h3.cell_to_center_child(h3.get_pentagons(0)[resolution % 12], resolution))
    cells.append(h3.latlng_to_cell(COURTENAY.lat, COURTENAY.lng, resolution))
    for cell in cells:
        lat, lng, _cos_lat, bound = matching._geometry(cell)
        around = matching._Around(geo.Point(math.degrees(lat), math.degrees(lng)))
        circumradius = max(
            geo.haversine_m(around.point, geo.Point(*v)) for v in h3.cell_to_boundary(cell)
        )
        assert bound >= circumradius or resolution == 9
        for child in h3.cell_to_children(cell, 10):
            assert around.distance(*matching._centre(child)) <= bound


@pytest.mark.parametrize("resolution", [5, 7, 8, 9, 10])
def test_a_cells_res10_descendants_are_one_block_of_ids(resolution: int) -> None:
    cell = h3.latlng_to_cell(COURTENAY.lat, COURTENAY.lng, resolution)
    first, final = matching._r10_range(cell)
    children = h3.cell_to_children(cell, 10)
    assert min(children) == first and max(children) == final
    assert matching._r10_ordinal(final) - matching._r10_ordinal(first) + 1 == len(children)
    for neighbour in h3.grid_ring(cell, 1):
        for child in h3.cell_to_children(neighbour, 10)[:: max(1, 7 ** (10 - resolution) // 50)]:
            assert not first <= child <= final
