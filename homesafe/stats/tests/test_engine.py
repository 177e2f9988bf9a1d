"""The release engine's privacy guarantee, tested as properties over random data and filters.

Guarantee: every published count is a multiple of k, so no published value, and no sum or
difference of published values (within a release, between two filters, or between two
releases that differ by any set of reports), lies in 1..k-1.
"""

from __future__ import annotations

import itertools

import h3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homesafe.common import geo
from homesafe.reports import taxonomy as tx
from homesafe.stats import engine
from homesafe.stats.engine import PoliceFact, ReleaseSpec, ReportFact, WalkFact

MONTHS = tuple(f"2025-{m:02d}" for m in range(1, 13))
BIAS = tx.codes(tx.BIAS_MOTIVATIONS)[:6]
INCIDENTS = tx.codes(tx.INCIDENT_TYPES)[:6]
VENUES = tx.codes(tx.VENUE_TYPES)[:4]
# A handful of res-9 cells in central Wellington, some sharing parents, some not.
CENTRE = h3.latlng_to_cell(-41.2935, 174.7815, 9)
CELLS = [geo.cell_int(geo.Point(*h3.cell_to_latlng(c)), 9) for c in h3.grid_disk(CENTRE, 6)][::7]

police_facts = st.one_of(
    st.none(),
    st.builds(
        PoliceFact,
        contacted=st.booleans(),
        attended=st.booleans(),
        refused=st.booleans(),
        hate_crime=st.booleans(),
        apology=st.booleans(),
        contact_hours=st.one_of(st.none(), st.floats(0, 200)),
    ),
)
report_facts = st.builds(
    ReportFact,
    key=st.uuids().map(str),
    month=st.sampled_from(MONTHS),
    cell=st.one_of(st.none(), st.sampled_from(CELLS)),
    venue_type=st.sampled_from(["", *VENUES]),
    bias=st.lists(st.sampled_from(BIAS), unique=True, max_size=4).map(lambda v: tuple(sorted(v))),
    incident_type=st.lists(st.sampled_from(INCIDENTS), unique=True, max_size=4).map(
        lambda v: tuple(sorted(v))
    ),
    police=police_facts,
)
walk_facts = st.builds(
    WalkFact,
    month=st.sampled_from(MONTHS),
    completed_safely=st.booleans(),
    unanswered=st.booleans(),
    overdue_alert=st.booleans(),
    accept_minutes=st.one_of(st.none(), st.floats(0, 60)),
)
ks = st.integers(min_value=2, max_value=10)
month_sets = st.lists(st.sampled_from(MONTHS), unique=True, min_size=1)
filters = st.tuples(st.sampled_from(["total", "bias", "incident_type", "venue_type"]), month_sets)


def _release(reports, walks, k, months=MONTHS, resolution=8):  # type: ignore[no-untyped-def]
    spec = ReleaseSpec(months=months, k=k, resolution=resolution)
    return engine.build_release(spec, reports, walks).as_json()


def _flat(payload):  # type: ignore[no-untyped-def]
    """Every published count keyed by where it sits, map regions keyed by their cells."""
    out: dict[tuple, int] = {}
    for table in ("series", "quarterly", "totals"):
        for dim, rows in payload[table].items():
            for row, cols in rows.items():
                for col, value in cols.items():
                    out[(table, dim, row, col)] = value
    for region in payload["map"]:
        out[("map", tuple(region["cells"]))] = region["value"]
    return out


def _never_small(value: int, k: int) -> bool:
    return not 1 <= abs(value) <= k - 1


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(report_facts, max_size=80), st.lists(walk_facts, max_size=30), ks)
def test_it_publishes_no_value_between_1_and_k_minus_1(reports, walks, k) -> None:
    payload = _release(reports, walks, k)
    values = engine.published_values(payload)
    assert values, "the fixed partition always has cells"
    assert all(_never_small(v, k) for v in values)
    assert all(v % k == 0 for v in values)
    # Sums of any published values (e.g. a total minus its visible parts) stay clear too.
    for a, b in itertools.combinations(values[:60], 2):
        assert _never_small(a - b, k) and _never_small(a + b, k)


@FAST
@given(st.lists(report_facts, max_size=80), ks, filters, filters)
def test_it_keeps_two_filters_from_differencing_to_a_small_value(reports, k, f1, f2) -> None:
    payload = _release(reports, [], k)
    one = engine.filter_release(payload, dimension=f1[0], months=f1[1])
    two = engine.filter_release(payload, dimension=f2[0], months=f2[1])
    for value in [*one.values(), *two.values()]:
        assert _never_small(value, k)
    for code in set(one) & set(two):
        assert _never_small(one[code] - two[code], k)
    # Released yearly and whole-period totals are filters too.
    for period in ("all", "2025"):
        for value in engine.period_totals(payload, dimension=f1[0], period=period).values():
            assert _never_small(value, k)
    # A filter can only add released cells: it matches the released monthly values exactly.
    for code, value in one.items():
        assert value == sum(payload["series"][f1[0]][code][m] for m in set(f1[1]))


@FAST
@given(
    st.lists(report_facts, max_size=80),
    st.lists(report_facts, min_size=1, max_size=3),
    st.lists(walk_facts, max_size=20),
    ks,
)
def test_it_keeps_two_releases_from_differencing_to_a_small_value(
    reports, changed, walks, k
) -> None:
    """Release 2 differs from release 1 by a few reports (new ones, or revoked consent)."""
    before = _flat(_release(reports + changed, walks, k))
    after = _flat(_release(reports, walks, k))
    for key in set(before) | set(after):
        assert _never_small(before.get(key, 0) - after.get(key, 0), k), key
    # And one report alone moves any count by 0 or exactly k: never by 1.
    single = _flat(_release(reports + changed[:1], walks, k))
    for key in set(single) | set(after):
        if key[0] != "map":
            assert abs(single.get(key, 0) - after.get(key, 0)) in (0, k), key


@FAST
@given(st.lists(report_facts, max_size=120), ks)
def test_it_coarsens_map_cells_into_a_partition_before_suppressing(reports, k) -> None:
    payload = _release(reports, [], k)
    seen: set[str] = set()
    for region in payload["map"]:
        assert region["value"] >= k and region["value"] % k == 0
        assert not seen & set(region["cells"]), "regions never overlap"
        seen |= set(region["cells"])
        assert all(h3.get_resolution(c) == 8 for c in region["cells"])
    # Every report in a published cell is counted somewhere; suppressed ones stay hidden.
    per_cell: dict[str, int] = {}
    for r in reports:
        if r.cell is not None:
            parent = h3.cell_to_parent(geo.cell_str(r.cell), 8)
            per_cell[parent] = per_cell.get(parent, 0) + 1
    for cell, n in per_cell.items():
        if n >= k:
            assert any(region["cells"] == [cell] for region in payload["map"])


def test_it_gathers_small_cells_into_their_parent_area() -> None:
    centre = h3.latlng_to_cell(-41.2935, 174.7815, 8)
    siblings = [c for c in h3.cell_to_children(h3.cell_to_parent(centre, 7), 8)][:3]
    reports = [
        ReportFact(
            key=f"r{i}",
            month="2025-03",
            cell=geo.cell_int(geo.Point(*h3.cell_to_latlng(siblings[i % 3])), 9),
        )
        for i in range(6)  # 2 per cell: each below k=5, together 6
    ]
    payload = _release(reports, [], 5)
    assert len(payload["map"]) == 1
    (region,) = payload["map"]
    assert region["res"] == 7 and region["value"] == 5
    # Drawn as the whole parent area: the three cells holding reports cannot be told apart.
    assert len(region["cells"]) == 7


def test_it_rounds_to_multiples_of_k() -> None:
    assert [engine.publish_count(v, 5) for v in (0, 1, 4, 5, 7, 8, 12, 13)] == [
        0,
        0,
        0,
        5,
        5,
        10,
        10,
        15,
    ]


def test_it_withholds_medians_of_small_groups() -> None:
    reports = [
        ReportFact(key=str(i), month="2025-01", police=PoliceFact(contact_hours=float(i)))
        for i in range(9)
    ]
    assert _release(reports, [], 5)["medians"]["police_contact_hours"] is None
    reports.append(ReportFact(key="x", month="2025-01", police=PoliceFact(contact_hours=30.0)))
    # Median of 0..8 and 30 is 4.5, rounded to whole hours.
    assert _release(reports, [], 5)["medians"]["police_contact_hours"] == 4.0


def test_it_adds_noise_in_dp_releases() -> None:
    reports = [
        ReportFact(key=str(i), month=MONTHS[i % 12], bias=("gay",), venue_type="street")
        for i in range(600)
    ]
    exact = _flat(_release(reports, [], 5))
    spec = ReleaseSpec(months=MONTHS, k=5, epsilon=0.5)
    noisy_runs = [_flat(engine.build_release(spec, reports, []).as_json()) for _ in range(2)]
    for noisy in noisy_runs:
        assert all(v % 5 == 0 for v in noisy.values())
        assert sum(1 for key in exact if noisy.get(key) != exact[key]) > 10
    # Fresh noise per release: two releases over the same data differ.
    assert noisy_runs[0] != noisy_runs[1]
    assert spec.epsilon is not None
