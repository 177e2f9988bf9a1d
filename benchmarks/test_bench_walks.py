"""Walk-home hot paths at city scale, each measured next to a baseline in the same run.

Run: .venv/bin/python -m pytest benchmarks --benchmark-only -q
The ratios go into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.db import connection, transaction

from homesafe.common import geo

COURTENAY = geo.Point(-41.2935, 174.7815)
REGION_CENTRE = (-41.29, 174.78)
REGION_HALF_M = 15_000.0  # a 30 km x 30 km box: the city, the harbour, the Hutt, Porirua
CBD = (-41.2870, 174.7770)  # between Lambton Quay and Courtenay Place
CBD_SIGMA_M = 1_200.0
# Share of the volunteers clustered around the CBD: none (spread over the region), or a third
# (nightlife and work pull them into the centre; ~2,000 on duty within 2 km of Courtenay).
LAYOUTS = {"citywide": 0.0, "downtown": 0.3}
VOLUNTEERS = 100_000
ON_DUTY = 10_000
RADIUS_M = 2_000
LIMIT = 10
M_PER_DEG_LAT = 111_320.0


@pytest.fixture(autouse=True)
def _no_live_pushes(monkeypatch: Any) -> None:
    """Pushes are another layer's business (and a no-op without listeners)."""
    monkeypatch.setattr("homesafe.walks.events._publish", lambda group, message: None)


def region_points(count: int, seed: int, cbd_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions over the region box, a share of them clustered around the CBD."""
    rng = np.random.default_rng(seed)
    cos_lat = math.cos(math.radians(REGION_CENTRE[0]))
    dense = int(count * cbd_share)
    north = np.concatenate(
        [
            rng.normal(0, CBD_SIGMA_M, dense),
            rng.uniform(-REGION_HALF_M, REGION_HALF_M, count - dense),
        ]
    )
    east = np.concatenate(
        [
            rng.normal(0, CBD_SIGMA_M, dense),
            rng.uniform(-REGION_HALF_M, REGION_HALF_M, count - dense),
        ]
    )
    origin = np.array([CBD[0]] * dense + [REGION_CENTRE[0]] * (count - dense))
    origin_lng = np.array([CBD[1]] * dense + [REGION_CENTRE[1]] * (count - dense))
    order = rng.permutation(count)
    lat = origin + north / M_PER_DEG_LAT
    lng = origin_lng + east / (M_PER_DEG_LAT * cos_lat)
    return lat[order], lng[order]


# --- 1. nearest on-duty volunteers ---------------------------------------------------------------


@dataclass
class Volunteers:
    organisation_id: int
    profile_ids: np.ndarray  # object array of UUIDs, one per registered volunteer
    lat_rad: np.ndarray  # ~100 m cell centres, the distance offers are ranked by
    lng_rad: np.ndarray
    on_duty: np.ndarray

    def brute_force(self, point: geo.Point, radius_m: float, limit: int) -> list[tuple[Any, float]]:
        """Haversine to every registered volunteer, then the nearest on-duty ones in range."""
        lat0, lng0 = math.radians(point.lat), math.radians(point.lng)
        h = (
            np.sin((self.lat_rad - lat0) / 2) ** 2
            + math.cos(lat0) * np.cos(self.lat_rad) * np.sin((self.lng_rad - lng0) / 2) ** 2
        )
        distance = 2 * geo.EARTH_RADIUS_M * np.arcsin(np.sqrt(h))
        inside = np.flatnonzero((distance <= radius_m) & self.on_duty)
        if len(inside) > limit:
            inside = inside[np.argpartition(distance[inside], limit - 1)[:limit]]
        inside = inside[np.argsort(distance[inside], kind="stable")]
        return [(self.profile_ids[i], float(distance[i])) for i in inside]

    def distance_of(self, profile_id: Any, point: geo.Point) -> float:
        i = self.index[profile_id]
        return geo.haversine_m(
            point, geo.Point(math.degrees(self.lat_rad[i]), math.degrees(self.lng_rad[i]))
        )

    def __post_init__(self) -> None:
        self.index = {pid: i for i, pid in enumerate(self.profile_ids)}


def build_users() -> list[int]:
    from homesafe.accounts.models import User

    users = User.objects.bulk_create(
        [User(email=f"v{i}@bench.example.org", password="!") for i in range(VOLUNTEERS)],
        batch_size=5000,
    )
    return [u.pk for u in users]


def build_volunteers(layout: str, user_ids: list[int]) -> Volunteers:
    """100,000 approved volunteers of one organisation, 10,000 of them on duty, in bulk."""
    import h3

    from homesafe.accounts.models import Organisation
    from homesafe.walks.models import DutyState, VolunteerProfile, VolunteerStatus

    org = Organisation.objects.create(name=f"Walks {layout}", slug=f"bench-{layout}")
    lat, lng = region_points(VOLUNTEERS, seed=7, cbd_share=LAYOUTS[layout])
    on_duty = np.zeros(VOLUNTEERS, dtype=bool)
    on_duty[np.random.default_rng(8).choice(VOLUNTEERS, ON_DUTY, replace=False)] = True
    profiles = []
    centre_lat = np.empty(VOLUNTEERS)
    centre_lng = np.empty(VOLUNTEERS)
    for i, user_id in enumerate(user_ids):
        point = geo.Point(float(lat[i]), float(lng[i]))
        r10 = geo.cell_int(point, 10)
        centre_lat[i], centre_lng[i] = h3.cell_to_latlng(geo.cell_str(r10))
        profiles.append(
            VolunteerProfile(
                id=uuid.uuid4(),
                user_id=user_id,
                organisation_id=org.pk,
                first_name="Sam",
                status=VolunteerStatus.APPROVED,
                duty_state=DutyState.ON_DUTY if on_duty[i] else DutyState.OFF_DUTY,
                cell_r10=r10,
                cell_r7=geo.cell_int(point, 7),
            )
        )
    VolunteerProfile.objects.bulk_create(profiles, batch_size=5000)
    return Volunteers(
        organisation_id=org.pk,
        profile_ids=np.array([p.id for p in profiles], dtype=object),
        lat_rad=np.radians(centre_lat),
        lng_rad=np.radians(centre_lng),
        on_duty=on_duty,
    )


@pytest.mark.django_db
class TestNearestVolunteers:
    """Both layouts share the users and are built once per class, then rolled back."""

    @pytest.fixture(scope="class")
    @classmethod
    def volunteers(
        cls, django_db_setup: Any, django_db_blocker: Any
    ) -> Iterator[dict[str, Volunteers]]:
        with django_db_blocker.unblock(), transaction.atomic():
            user_ids = build_users()
            built = {layout: build_volunteers(layout, user_ids) for layout in LAYOUTS}
            analyze("walks_volunteerprofile")
            yield built
            transaction.set_rollback(True)

    @pytest.mark.parametrize("layout", list(LAYOUTS))
    def test_bench_brute_force_nearest(
        self, benchmark: Any, volunteers: dict[str, Volunteers], layout: str
    ) -> None:
        """Baseline: numpy haversine over all 100,000 registered volunteers, in memory."""
        benchmark.group = f"nearest 10 of 10,000 on duty ({layout})"
        found = benchmark(volunteers[layout].brute_force, COURTENAY, RADIUS_M, LIMIT)
        assert len(found) == LIMIT

    @pytest.mark.parametrize("layout", list(LAYOUTS))
    def test_bench_nearest_volunteers(
        self, benchmark: Any, volunteers: dict[str, Volunteers], layout: str
    ) -> None:
        """Target: matching.nearest_volunteers within 2 km of Courtenay Place, once a search
        there has taught it how crowded the neighbourhood is (as any busy night does)."""
        from homesafe.walks.matching import nearest_volunteers

        benchmark.group = f"nearest 10 of 10,000 on duty ({layout})"
        data = volunteers[layout]
        search = {
            "organisation_id": data.organisation_id,
            "point": COURTENAY,
            "radius_m": RADIUS_M,
            "limit": LIMIT,
        }
        nearest_volunteers(**search)
        found = benchmark(nearest_volunteers, **search)
        assert_true_nearest(data, found)

    @pytest.mark.parametrize("layout", list(LAYOUTS))
    def test_bench_nearest_volunteers_cold(
        self, benchmark: Any, volunteers: dict[str, Volunteers], layout: str
    ) -> None:
        """For the record: the same search with nothing learnt about the neighbourhood (a
        process's first search there, or the first in a while): its first disc's
        radius is matching.COLD_REACH_M, whatever the crowd."""
        from homesafe.walks import matching

        benchmark.group = f"nearest 10 of 10,000 on duty ({layout})"
        data = volunteers[layout]
        found = benchmark.pedantic(
            matching.nearest_volunteers,
            kwargs={
                "organisation_id": data.organisation_id,
                "point": COURTENAY,
                "radius_m": RADIUS_M,
                "limit": LIMIT,
            },
            setup=matching.forget,
            rounds=300,
            warmup_rounds=3,
        )
        assert_true_nearest(data, found)


def assert_true_nearest(data: Volunteers, found: list[Any]) -> None:
    expected = data.brute_force(COURTENAY, RADIUS_M, LIMIT)
    # Two volunteers in one ~100 m cell are equally near, so either may be the tenth: the
    # distances, and everyone strictly nearer than the tenth, must agree.
    assert [c.distance_m for c in found] == [round(d) for _pid, d in expected]
    assert len({c.profile_id for c in found}) == LIMIT
    for candidate in found:
        assert data.on_duty[data.index[candidate.profile_id]]
        assert round(data.distance_of(candidate.profile_id, COURTENAY)) == candidate.distance_m
    tenth = round(expected[-1][1])
    assert {pid for pid, d in expected if round(d) < tenth} <= {c.profile_id for c in found}


def analyze(table: str) -> None:
    """Fresh planner statistics, as autovacuum (PostgreSQL) or a nightly ANALYZE would keep."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


# --- 2. the overdue loop -------------------------------------------------------------------------

ACTIVE = 100_000
COMING_DUE = 1_000
DUE_WINDOW_S = 5.0
LEAD_S = 5.0  # time to insert the walks coming due before the first of them is
MEMBERS = 1_000


@dataclass
class LoopWorld:
    organisation: Any
    member_ids: list[int]


def build_loop_world() -> LoopWorld:
    """An organisation with an on-call caseworker and 1,000 members, each with two trusted
    contacts, so every escalation writes three alert rows."""
    from homesafe.accounts.models import Organisation, TrustedContact, User
    from homesafe.walks.services import walk_settings

    org = Organisation.objects.create(name="Wellington Walks", slug="bench-loop")
    oncall = User.objects.create(email="oncall@bench.example.org", password="!")
    rules = walk_settings(org)
    rules.oncall = oncall
    rules.save()
    members = User.objects.bulk_create(
        [
            User(email=f"m{i}@bench.example.org", password="!", display_name=f"Member {i}")
            for i in range(MEMBERS)
        ],
        batch_size=5000,
    )
    TrustedContact.objects.bulk_create(
        [
            TrustedContact(id=uuid.uuid4(), owner_id=m.pk, name=name, email=f"{name}.{m.pk}@x.org")
            for m in members
            for name in ("flatmate", "sister")
        ],
        batch_size=5000,
    )
    return LoopWorld(organisation=org, member_ids=[m.pk for m in members])


def active_walks(
    world: LoopWorld, count: int, due: list[Any] | None = None, *, first: int = 0
) -> list[Any]:
    """Active watched walks in bulk. Without `due`, their arrival deadlines are 10 to 60
    minutes away; with it, each escalates at its given time (the overdue prompt went unanswered)."""
    import datetime as dt

    from django.utils import timezone

    from homesafe.walks.models import DueKind, Walk, WalkKind, WalkState

    now = timezone.now()
    pickup = geo.cell_int(COURTENAY, 10)
    start_r7 = geo.cell_int(COURTENAY, 7)
    end_r7 = geo.cell_int(geo.Point(-41.2990, 174.7760), 7)
    walks = []
    for i in range(count):
        deadline = now + dt.timedelta(minutes=10 + (i % 50))
        walk = Walk(
            id=uuid.uuid4(),
            organisation=world.organisation,
            # Who asked does not matter to the loop until a walk is due: walks not coming due
            # share the members (the one-walk-each rule is enforced when a walk is requested).
            requester_id=world.member_ids[(first + i) % len(world.member_ids)],
            kind=WalkKind.WATCHED,
            state=WalkState.ACTIVE,
            pickup_cell=pickup,
            start_cell_r7=start_r7,
            end_cell_r7=end_r7,
            distance_m=900,
            created_at=now,
            started_at=now,
            arrival_deadline=deadline,
            due_at=deadline,
            due_kind=DueKind.OVERDUE_PROMPT,
        )
        if due is not None:
            # Past the arrival deadline, prompted, unanswered: escalation comes due after
            # the grace period (5 minutes by default).
            walk.arrival_deadline = walk.overdue_prompted_at = due[i] - dt.timedelta(minutes=5)
            walk.due_at, walk.due_kind = due[i], DueKind.ESCALATE
            walk.requester_last = {"lat": -41.2950, "lng": 174.7790, "at": now.isoformat()}
        walks.append(walk)
    return Walk.objects.bulk_create(walks, batch_size=2000)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


@pytest.mark.django_db
def test_bench_due_scan_1k_active(benchmark: Any) -> None:
    """Baseline: the deadline loop's step when nothing is due, over 1,000 active walks."""
    from homesafe.walks.services import handle_one_due_walk

    benchmark.group = "deadline loop: a step with nothing due"
    active_walks(build_loop_world(), 1_000)
    analyze("walks_walk")
    assert benchmark(handle_one_due_walk) is False


@pytest.mark.django_db(transaction=True)
def test_bench_overdue_loop_100k_active(benchmark: Any, capsys: Any) -> None:
    """Target: 100,000 active walks, 1,000 of them escalating within five seconds. The real
    loop runs in its own threads; every alert row must exist within the poll interval plus
    one second of its deadline. Then the step with nothing due is timed over all 100,000."""
    import dataclasses
    import datetime as dt
    import threading

    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone

    from homesafe.common.loops import registered_loops, run_loop
    from homesafe.notify.models import Notification
    from homesafe.walks.models import Walk
    from homesafe.walks.services import handle_one_due_walk

    benchmark.group = "deadline loop: a step with nothing due"
    world = build_loop_world()
    active_walks(world, ACTIVE - COMING_DUE, first=COMING_DUE)
    analyze("walks_walk")

    step_seconds: list[float] = []

    def timed_step() -> bool:
        started = time.perf_counter()
        busy = handle_one_due_walk()
        if busy:
            step_seconds.append(time.perf_counter() - started)
        return busy

    loop = dataclasses.replace(registered_loops()["walk-deadlines"], step=timed_step)
    assert loop.idle_seconds == settings.WALK_POLL_SECONDS
    stop = threading.Event()
    threads = [threading.Thread(target=run_loop, args=(loop, stop)) for _ in range(loop.threads)]
    for thread in threads:
        thread.start()
    try:
        first_deadline = timezone.now() + dt.timedelta(seconds=LEAD_S)
        deadlines = [
            first_deadline + dt.timedelta(seconds=DUE_WINDOW_S * i / COMING_DUE)
            for i in range(COMING_DUE)
        ]
        due = active_walks(world, COMING_DUE, deadlines)
        assert timezone.now() < first_deadline, "building the due walks took too long"
        give_up = time.monotonic() + LEAD_S + DUE_WINDOW_S + 60
        due_ids = [w.pk for w in due]
        while time.monotonic() < give_up:
            if Walk.objects.filter(pk__in=due_ids, escalated_at__isnull=False).count() == len(due):
                break
            time.sleep(0.25)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    first_alert = dict(
        Notification.objects.filter(kind="walk_overdue", walk_id__in=due_ids)
        .values("walk_id")
        .annotate(first=Min("created_at"))
        .values_list("walk_id", "first")
    )
    assert len(first_alert) == COMING_DUE, "some overdue walks were never escalated"
    assert Notification.objects.filter(kind="walk_overdue").count() == 3 * COMING_DUE
    lags = [(first_alert[w.pk] - w.due_at).total_seconds() for w in due]
    allowed = settings.WALK_POLL_SECONDS + 1.0

    # What one escalation costs: a backlog of as many walks, all already due, drained by the
    # step itself in this thread. (The loop's busy time above is no measure of it: a step
    # handles whatever has come due since the last one, so a fast loop takes smaller batches
    # and stays busy through the whole window anyway.)
    backlog = active_walks(world, COMING_DUE, [timezone.now()] * COMING_DUE)
    started = time.perf_counter()
    while handle_one_due_walk():
        pass
    drain_s = time.perf_counter() - started
    escalated = Walk.objects.filter(pk__in=[w.pk for w in backlog], escalated_at__isnull=False)
    assert escalated.count() == COMING_DUE

    figures = {
        "lag_p50_s": percentile(lags, 0.5),
        "lag_p99_s": percentile(lags, 0.99),
        "lag_max_s": max(lags),
        "escalation_ms": drain_s / COMING_DUE * 1e3,
        "escalations_per_s": COMING_DUE / drain_s,
        "steps": len(step_seconds),
        "step_p50_ms": percentile(step_seconds, 0.5) * 1e3,
        "step_p99_ms": percentile(step_seconds, 0.99) * 1e3,
    }
    benchmark.extra_info.update(figures)
    with capsys.disabled():
        print(
            f"\n[overdue loop: {COMING_DUE} escalations over {DUE_WINDOW_S:g} s among "
            f"{ACTIVE:,} active walks, {loop.threads} thread(s), poll {loop.idle_seconds:g} s: "
            f"alert lag p50 {figures['lag_p50_s']:.3f} s, p99 {figures['lag_p99_s']:.3f} s, "
            f"max {figures['lag_max_s']:.3f} s (allowed {allowed:g} s), in {len(step_seconds)} "
            f"steps of {figures['step_p50_ms']:.1f} ms (p50), {figures['step_p99_ms']:.1f} ms "
            f"(p99); a backlog of {COMING_DUE} drains at {figures['escalation_ms']:.2f} ms per "
            f"escalation ({figures['escalations_per_s']:.0f} a second)]"
        )

    # Timed before the lag verdict, so the scan's ratio is measured either way.
    assert benchmark(handle_one_due_walk) is False
    assert max(lags) <= allowed, "an alert row came later than the poll interval plus 1 s"
