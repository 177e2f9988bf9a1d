"""Finding the nearest on-duty volunteers: H3 cells narrow the rows in SQL, exact ranking in Python.

Presence is indexed by (organisation, duty state, resolution-7 cell), and each row also carries
its ~100 m resolution-10 cell; distances are to that cell's centre, which is all an offer needs
before someone accepts. H3 numbers the descendants of a cell contiguously, so the res-8 or res-9
"tile" a res-10 cell belongs to is an integer prefix of it: SQL keeps only rows whose tile can
be within reach, and Python ranks the few survivors. The search starts at a third of the
radius and widens only while fewer than `limit` volunteers are within reach, so a crowded city
centre on a Friday night does not mean ranking thousands of rows.
"""

from __future__ import annotations

import heapq
import math
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import h3.api.basic_int as h3
from django.db import connections, router

from homesafe.common import geo
from homesafe.walks.models import DutyState, VolunteerProfile, VolunteerStatus

# A third of the radius is a ninth of its area: one round where volunteers are sparse, a few
# hundred rows to rank where they crowd (measured in benchmarks/test_bench_walks.py).
FIRST_REACH_SHARE = 1 / 3
# A volunteer's exact point is within this of their res-10 cell centre (res-10 cells reach at
# most ~84 m from their centre anywhere on Earth), so this much beyond the reach decides which
# res-7 cells (the cells of the exact points) can hold someone within reach.
R10_REACH_M = 100.0
# Descendants of a cell lie within ~0.9 (res 8) and ~0.7 (res 9) of its circumradius from its
# centre (measured); 1.0 plus this margin keeps every tile that can matter.
TILE_MARGIN_M = 20.0
# The coarsest tile still finer than the reach: res 9 (~0.1 km2), res 8 (~0.7 km2), else the
# res-7 cells alone.
TILE_RESOLUTION_FOR_REACH = ((700.0, 9), (1600.0, 8))
_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT


@dataclass(frozen=True)
class Candidate:
    profile_id: uuid.UUID
    user_id: int
    distance_m: int


@lru_cache(maxsize=65536)
def _geometry(cell: int) -> tuple[float, float, float]:
    """A cell's centre (radians) and circumradius (m). The H3 grid never changes."""
    lat, lng = h3.cell_to_latlng(cell)
    circumradius = max(
        h3.great_circle_distance((lat, lng), vertex, "m") for vertex in h3.cell_to_boundary(cell)
    )
    return math.radians(lat), math.radians(lng), circumradius


def _tile_key(cell: int, resolution: int) -> int:
    """The integer prefix shared by every res-10 descendant of `cell` (and no other cell)."""
    as_res10 = (cell & ~_RES_MASK) | (10 << _RES_SHIFT)
    return as_res10 >> ((15 - resolution) * 3)


class _Around:
    """Great-circle distances from one point, to cell centres."""

    def __init__(self, point: geo.Point) -> None:
        self.point = point
        self.lat = math.radians(point.lat)
        self.lng = math.radians(point.lng)
        self.cos_lat = math.cos(self.lat)

    def to_centre(self, cell: int) -> float:
        lat, lng, _ = _geometry(cell)
        h = (
            math.sin((lat - self.lat) / 2) ** 2
            + self.cos_lat * math.cos(lat) * math.sin((lng - self.lng) / 2) ** 2
        )
        return 2 * geo.EARTH_RADIUS_M * math.asin(math.sqrt(h))

    def cells(self, resolution: int, reach: float) -> list[int]:
        """Cells of this resolution that come within `reach` of the point (or whose
        descendants can). Ring by ring outwards: a ring with none ends the search, as the
        disk is connected and every ring between it and the centre is crossed."""
        origin = h3.latlng_to_cell(self.point.lat, self.point.lng, resolution)
        found: list[int] = []
        k = 0
        while True:
            ring = [origin] if k == 0 else h3.grid_ring(origin, k)
            near = [c for c in ring if self.to_centre(c) - _geometry(c)[2] <= reach]
            if not near:
                return found
            found.extend(near)
            k += 1


def _fetch(
    organisation_id: int, r7_cells: list[int], tiles: list[int], tile_resolution: int
) -> list[tuple[int, object, int]]:
    """(cell_r10, profile id, user id) of approved on-duty volunteers in these cells, as the
    driver returns them: only the winners get converted. Plain SQL because the ORM's per-query
    and per-row work was most of the cost (profiled)."""
    connection = connections[router.db_for_read(VolunteerProfile)]
    q = connection.ops.quote_name
    col = {f.name: q(f.column) for f in VolunteerProfile._meta.concrete_fields if f.column}
    r10 = col["cell_r10"]
    # Only quoted identifiers and integers are formatted in; every value is a parameter.
    sql = (
        f"SELECT {r10}, {col['id']}, {col['user']} FROM {q(VolunteerProfile._meta.db_table)} "  # noqa: S608
        f"WHERE {col['organisation']} = %s AND {col['duty_state']} = %s AND {col['status']} = %s "
        f"AND {col['cell_r7']} IN ({', '.join(['%s'] * len(r7_cells))}) AND {r10} IS NOT NULL"
    )
    params: list[Any] = [organisation_id, DutyState.ON_DUTY, VolunteerStatus.APPROVED, *r7_cells]
    if tiles:
        divisor = 1 << ((15 - tile_resolution) * 3)
        sql += f" AND {r10} / {divisor} IN ({', '.join(['%s'] * len(tiles))})"
        params += tiles
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def nearest_volunteers(
    *,
    organisation_id: int,
    point: geo.Point,
    radius_m: float,
    limit: int,
    exclude_profile_ids: frozenset[object] = frozenset(),
) -> list[Candidate]:
    """The nearest approved, on-duty volunteers within the radius, closest first."""
    if limit <= 0:
        return []
    around = _Around(point)
    to_uuid = VolunteerProfile._meta.pk.to_python
    reach = radius_m * FIRST_REACH_SHARE
    distances: dict[int, float] = {}
    while True:
        r7_cells = around.cells(7, reach + R10_REACH_M)
        tile_resolution = next((res for most, res in TILE_RESOLUTION_FOR_REACH if reach <= most), 0)
        tiles = (
            [
                _tile_key(c, tile_resolution)
                for c in around.cells(tile_resolution, reach + TILE_MARGIN_M)
            ]
            if tile_resolution
            else []
        )
        within: list[tuple[float, object, int]] = []
        for cell, profile_id, user_id in _fetch(organisation_id, r7_cells, tiles, tile_resolution):
            distance = distances.get(cell)
            if distance is None:
                distance = distances[cell] = around.to_centre(cell)
            if distance <= reach:
                within.append((distance, profile_id, user_id))
        if exclude_profile_ids:
            within = [w for w in within if to_uuid(w[1]) not in exclude_profile_ids]
        if len(within) >= limit or reach >= radius_m:
            break
        # Too few this close: widen to where, at the density seen so far, about twice the
        # limit would be (and at least double, so a quiet area takes few rounds).
        grow = math.sqrt(2.0 * limit / max(len(within), 1))
        reach = min(radius_m, reach * max(2.0, grow))
    nearest = heapq.nsmallest(limit, within, key=lambda w: w[0])
    return [Candidate(to_uuid(pid), uid, round(distance)) for distance, pid, uid in nearest]
