"""Finding the nearest on-duty volunteers: H3 discs as index range scans, exact ranking in Python.

Presence is indexed by (organisation, duty state, res-10 cell), and distances are to that
~100 m cell's centre, which is all an offer needs before someone accepts. H3 numbers the res-10
descendants of any coarser cell as one block of integers, so "every cell whose centre is within
reach" becomes a few `cell_r10 BETWEEN lo AND hi` range scans of that index: cells wholly
within reach are taken whole at the coarsest resolution that fits, and only those that straddle
the edge are split, down to a resolution a few times finer than the reach.

A search reads a disc, then rings around it, until at least `limit` volunteers are within the
part read or it spans the whole radius. Everything within the part read is seen, so the nearest
`limit` of them are the nearest overall. The first disc's size comes from the density the
previous search around the same neighbourhood found (volunteers crowd the city centre on a
Friday night and are sparse in the suburbs at 4 a.m.), so one round trip is usual either way.
Each process keeps what it learns per res-7 neighbourhood for a few minutes; a search with
nothing learnt starts with a fixed disc. What is learnt only ever changes the speed: every
round's answer is exact.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import h3.api.basic_int as h3
from django.db import connections, router
from django.utils import timezone

from homesafe.common import geo
from homesafe.walks.models import DutyState, VolunteerProfile, VolunteerStatus

# How many volunteers the first disc aims to hold, as a multiple of the limit (plus those
# excluded): twice the limit leaves room for chance without reading many more rows than needed.
FIRST_DISC_SHARE = 2
# Without anything learnt nearby: a disc that holds the limit in a crowded centre and costs
# little where it does not (a suburb takes a second round). Measured on PostgreSQL in
# benchmarks/test_bench_walks.py: 150 m beat 250 m in the city centre (one query either way,
# reading under half the rows and fewer ranges) and a little in the suburbs (a cheaper first
# query before the second).
COLD_REACH_M = 150.0
# A disc much smaller than a res-10 cell (edges ~75 m) finds no one more precisely.
MIN_REACH_M = 100.0
# What a search learns about a neighbourhood (a res-7 cell, ~5 km2) is trusted this long:
# people go on and off duty over an evening.
LEARNT_FOR = dt.timedelta(minutes=10)
LEARNT_NEIGHBOURHOODS = 4096
# Straddling cells are split down to cells about this many times smaller than the reach: finer
# means fewer rows beyond the reach, coarser means fewer cells to compute and fewer range scans.
CELLS_PER_REACH = 2.5
# Two range scans become one when the H3 ids between them would add about this many rows:
# fewer, longer range scans help PostgreSQL most (tuned on the benchmark: 8 beat 0, 24 and 64).
GAP_ROWS = 8.0
# Widen straight to the full radius when it is expected to hold at most this many times the
# rows the disc aims for: one more round trip costs more than those rows.
JUMP_SHARE = 4.0
# Every res-10 descendant's centre lies within this share of its ancestor's circumradius from
# the ancestor's centre (measured worst cases, pentagons included: 0.67 at res 9, 0.90 at res 8,
# 1.01 at res 7, 1.05 at res 3 to 6; homesafe/walks/tests/test_matching_nearest.py checks it).
# The ring walk in `_Around.ranges` also needs at least 1.0 at its starting resolution.
DESCENDANT_REACH = {9: 0.75, 8: 1.0, 7: 1.1}
DESCENDANT_REACH_COARSE = 1.15
_FLOAT_MARGIN_M = 1.0

_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT
_BASE_SHIFT = 45
_R10_SHIFT = 15  # digits 11 to 15 (bits 0 to 14) are unused (all ones) at resolution 10
# The largest res-10 digits (6) below a cell of resolution 10 - n, as bits.
_MAX_DIGITS = [sum(6 << (3 * j) for j in range(n)) << _R10_SHIFT for n in range(11)]
_R10_AREA_M2 = h3.average_hexagon_area(10, "m^2")
_EDGE_M = {res: h3.average_hexagon_edge_length(res, "m") for res in range(11)}

# (database alias, organisation, res-7 cell) -> (volunteers per m2 seen, when).
_learnt: dict[tuple[str, int, int], tuple[float, dt.datetime]] = {}


@dataclass(frozen=True)
class Candidate:
    profile_id: uuid.UUID
    user_id: int
    distance_m: int


def forget() -> None:
    """Drop every learnt density (benchmarks measure a search from nothing learnt)."""
    _learnt.clear()


@lru_cache(maxsize=65536)
def _geometry(cell: int) -> tuple[float, float, float, float]:
    """A cell's centre (as `_centre`) and how far from it its res-10 descendants' centres can
    be (m). The H3 grid never changes."""
    resolution = h3.get_resolution(cell)
    if resolution >= 10:
        return (*_centre(cell), 0.0)
    lat, lng = h3.cell_to_latlng(cell)
    circumradius = max(
        h3.great_circle_distance((lat, lng), vertex, "m") for vertex in h3.cell_to_boundary(cell)
    )
    share = DESCENDANT_REACH.get(resolution, DESCENDANT_REACH_COARSE)
    return (*_centre(cell), share * circumradius + _FLOAT_MARGIN_M)


@lru_cache(maxsize=131072)
def _centre(cell: int) -> tuple[float, float, float]:
    """A cell's centre in radians, and the cosine of its latitude."""
    lat, lng = h3.cell_to_latlng(cell)
    return math.radians(lat), math.radians(lng), math.cos(math.radians(lat))


def _r10_range(cell: int) -> tuple[int, int]:
    """The first and last res-10 ids below `cell`: every valid id between them is below it."""
    resolution = (cell >> _RES_SHIFT) & 0xF
    free = ((1 << (3 * (10 - resolution))) - 1) << _R10_SHIFT
    first = ((cell & ~_RES_MASK) | (10 << _RES_SHIFT)) & ~free
    return first, first | _MAX_DIGITS[10 - resolution]


def _r10_ordinal(r10: int) -> int:
    """A res-10 id's rank among all res-10 ids (base cell, then ten base-7 digits): how many
    cells lie between two ids."""
    ordinal = (r10 >> _BASE_SHIFT) & 0x7F
    for shift in range(42, _R10_SHIFT - 1, -3):
        ordinal = ordinal * 7 + ((r10 >> shift) & 7)
    return ordinal


class _Around:
    """Great-circle distances from one point, and the H3 ranges that cover a ring around it."""

    def __init__(self, point: geo.Point) -> None:
        self.point = point
        self.lat = math.radians(point.lat)
        self.lng = math.radians(point.lng)
        self.cos_lat = math.cos(self.lat)

    def distance(self, lat: float, lng: float, cos_lat: float) -> float:
        h = (
            math.sin((lat - self.lat) / 2) ** 2
            + self.cos_lat * cos_lat * math.sin((lng - self.lng) / 2) ** 2
        )
        return 2 * geo.EARTH_RADIUS_M * math.asin(math.sqrt(h))

    def ranges(self, inner: float, outer: float, rows_per_cell: float) -> list[tuple[int, int]]:
        """Ranges of res-10 ids holding every res-10 cell whose centre is more than `inner` and
        at most `outer` from the point (and some nearby cells: callers check distances).
        `rows_per_cell` (expected volunteers per res-10 cell) decides which ranges to join."""
        finest = next(
            (res for res in range(10, 0, -1) if _EDGE_M[res] * CELLS_PER_REACH >= outer), 0
        )
        # Ring by ring outwards at a coarse resolution: a ring with no cell within reach ends
        # the walk, as the disc is connected and every ring between it and the centre is crossed
        # (this needs each cell's bound to be at least its circumradius).
        start = max(0, finest - 2)
        origin = h3.latlng_to_cell(self.point.lat, self.point.lng, start)
        todo: list[int] = []
        k = 0
        while True:
            ring = [origin] if k == 0 else h3.grid_ring(origin, k)
            reached = False
            for cell in ring:
                lat, lng, cos_lat, bound = _geometry(cell)
                if self.distance(lat, lng, cos_lat) - bound <= outer:
                    reached = True
                    todo.append(cell)
            if not reached:
                break
            k += 1
        kept: list[tuple[int, int]] = []
        while todo:
            cell = todo.pop()
            lat, lng, cos_lat, bound = _geometry(cell)
            d = self.distance(lat, lng, cos_lat)
            if d - bound > outer or d + bound <= inner:
                continue  # no descendant in the ring
            if (d + bound <= outer and d - bound > inner) or h3.get_resolution(cell) >= finest:
                kept.append(_r10_range(cell))
            else:
                todo.extend(h3.cell_to_children(cell))
        if not kept:
            return []
        kept.sort()
        widest_gap = GAP_ROWS / rows_per_cell if rows_per_cell > 0 else 0.0
        joined = [kept[0]]
        last = _r10_ordinal(kept[0][1])
        for first, final in kept[1:]:
            if _r10_ordinal(first) - last - 1 <= widest_gap:
                joined[-1] = (joined[-1][0], final)
            else:
                joined.append((first, final))
            last = _r10_ordinal(final)
        return joined


@lru_cache(maxsize=256)
def _select(alias: str, ranges: int) -> str:
    """The query for this many ranges, written once per database. Plain SQL because the ORM's
    per-query and per-row work was most of the cost (profiled)."""
    q = connections[alias].ops.quote_name
    col = {f.name: q(f.column) for f in VolunteerProfile._meta.concrete_fields if f.column}
    r10 = col["cell_r10"]
    # Only quoted identifiers are formatted in; every value is a parameter.
    return (
        f"SELECT {r10}, {col['id']}, {col['user']} FROM {q(VolunteerProfile._meta.db_table)} "  # noqa: S608
        f"WHERE {col['organisation']} = %s AND {col['duty_state']} = %s AND {col['status']} = %s "
        f"AND ({' OR '.join([f'{r10} BETWEEN %s AND %s'] * ranges)})"
    )


def _fetch(
    alias: str, organisation_id: int, ranges: list[tuple[int, int]]
) -> list[tuple[int, object, int]]:
    """(cell_r10, profile id, user id) of approved on-duty volunteers in these ranges, as the
    driver returns them: only the winners get converted."""
    params: list[Any] = [organisation_id, DutyState.ON_DUTY, VolunteerStatus.APPROVED]
    for first, final in ranges:
        params += (first, final)
    with connections[alias].cursor() as cursor:
        cursor.execute(_select(alias, len(ranges)), params)
        return cursor.fetchall()


def _learnt_density(key: tuple[str, int, int], now: dt.datetime) -> float | None:
    found = _learnt.get(key)
    if found is None or now - found[1] > LEARNT_FOR:
        return None
    return found[0]


def _learn(key: tuple[str, int, int], density: float, now: dt.datetime) -> None:
    if len(_learnt) >= LEARNT_NEIGHBOURHOODS and key not in _learnt:
        _learnt.clear()  # rare, and forgetting costs at most a second round each
    _learnt[key] = (density, now)


def nearest_volunteers(
    *,
    organisation_id: int,
    point: geo.Point,
    radius_m: float,
    limit: int,
    exclude_profile_ids: frozenset[object] = frozenset(),
) -> list[Candidate]:
    """The nearest approved, on-duty volunteers within the radius, closest first."""
    if limit <= 0 or radius_m < 0:
        return []
    around = _Around(point)
    to_uuid = VolunteerProfile._meta.pk.to_python
    now = timezone.now()
    alias = router.db_for_read(VolunteerProfile)
    key = (alias, organisation_id, h3.latlng_to_cell(point.lat, point.lng, 7))
    want = FIRST_DISC_SHARE * limit + len(exclude_profile_ids)
    density = _learnt_density(key, now)
    if density is None:
        reach = min(radius_m, COLD_REACH_M)
        density = want / (math.pi * reach * reach) if reach > 0 else 0.0
    elif density > 0:
        reach = min(radius_m, max(MIN_REACH_M, math.sqrt(want / (math.pi * density))))
    else:
        reach = radius_m
    inner = -1.0
    within: list[tuple[float, object, int]] = []
    seen = 0  # volunteers within reach, excluded ones included (for the density)
    while True:
        distances: dict[int, float] = {}
        ranges = around.ranges(inner, reach, density * _R10_AREA_M2)
        for cell, profile_id, user_id in _fetch(alias, organisation_id, ranges) if ranges else ():
            distance = distances.get(cell)
            if distance is None:
                distance = distances[cell] = around.distance(*_centre(cell))
            if inner < distance <= reach:
                seen += 1
                if not exclude_profile_ids or to_uuid(profile_id) not in exclude_profile_ids:
                    within.append((distance, profile_id, user_id))
        if len(within) >= limit or reach >= radius_m:
            break
        # Too few this close: widen the disc to where, at the density seen so far, the first
        # disc's aim would be met (at least half as far again), or to the radius if that is
        # cheap anyway. The next round reads only the new ring.
        density = max(seen, 1) / (math.pi * reach * reach)
        if density * math.pi * radius_m * radius_m <= JUMP_SHARE * want:
            grown = radius_m
        else:
            grown = max(1.5 * reach, math.sqrt(want / (math.pi * density)))
        inner, reach = reach, min(radius_m, grown)
    _learn(key, seen / (math.pi * reach * reach) if reach > 0 else 0.0, now)
    # Equally near (one cell) keep the order the index returned them in.
    nearest = heapq.nsmallest(limit, within, key=lambda w: w[0])
    return [Candidate(to_uuid(pid), uid, round(distance)) for distance, pid, uid in nearest]
