"""Geography: H3 cells (stored as integers) and the reporter's chosen location precision."""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3

STATS_RESOLUTION = 9
EARTH_RADIUS_M = 6_371_008.8

# Precision code -> the H3 resolution whose cell centre replaces the exact point.
# None for "exact" keeps the point as given; "withhold" keeps no point at all.
PRECISION_RESOLUTION: dict[str, int | None] = {
    "exact": None,
    "about_100m": 10,  # cells ~0.015 km2, centre within ~75 m of the point
    "neighbourhood": 7,  # ~5 km2
    "city": 5,  # ~250 km2
}


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


def valid_point(lat: float, lng: float) -> bool:
    return (
        math.isfinite(lat)
        and math.isfinite(lng)
        and -90.0 <= lat <= 90.0
        and -180.0 <= lng <= 180.0
    )


def apply_precision(point: Point, precision: str) -> Point | None:
    """The point as precise as the reporter allowed, or None when they withheld it."""
    if precision == "withhold":
        return None
    resolution = PRECISION_RESOLUTION[precision]
    if resolution is None:
        return Point(round(point.lat, 6), round(point.lng, 6))
    lat, lng = h3.cell_to_latlng(h3.latlng_to_cell(point.lat, point.lng, resolution))
    return Point(round(lat, 6), round(lng, 6))


def cell_int(point: Point, resolution: int = STATS_RESOLUTION) -> int:
    """The H3 cell of a point as a signed 64-bit integer (fits BigIntegerField)."""
    value = h3.str_to_int(h3.latlng_to_cell(point.lat, point.lng, resolution))
    return value - (1 << 64) if value >= (1 << 63) else value


def cell_str(value: int) -> str:
    return h3.int_to_str(value + (1 << 64) if value < 0 else value)


def haversine_m(a: Point, b: Point) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng - a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
