"""The release engine: from facts about consented reports and walks to a set of published counts.

Pure functions with no database access, so the privacy guarantee can be tested on random data.

The guarantee (see docs in homesafe/stats/README.md):
  * Counts are only ever computed over a FIXED partition decided before looking at the data:
    calendar month (or quarter, or the whole release period) x one code of one dimension, and
    H3 cells at the organisation's published resolution, coarsened to parent cells.
  * Every published count is a multiple of k: below k it is published as 0 ("fewer than k"),
    otherwise rounded to the nearest multiple of k. Any sum or difference of published counts,
    within one release, between two releases or between two filter choices, is therefore
    also a multiple of k and never lies in 1..k-1. A single report added or withdrawn moves a
    published count by 0 or by k, never by 1.
  * Filters only select and add released cells (`filter_release`); they never go back to the
    data, so no filter can carve out a subset that was not in the partition.
  * Optional differential privacy: every count of the partition gets discrete Laplace noise
    from OpenDP before rounding (post-processing keeps the epsilon guarantee).
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import h3

from homesafe.common import geo

# The dimensions of the public trend tables, in display order.
DIMENSIONS = ("bias", "incident_type", "venue_type")
# Police-response counters, one per report; "answered" is the denominator of the shares.
POLICE_COUNTERS = ("answered", "contacted", "attended", "refused", "hate_crime", "apology")
WALK_COUNTERS = ("requested", "completed_safely", "unanswered", "overdue_alerts")
# In DP releases a report counts for at most this many codes of one multi-select dimension.
DP_MAX_CODES = 3
# How far map cells are coarsened (parent resolutions) before anything is suppressed.
COARSEN_LEVELS = 2


@dataclass(frozen=True)
class PoliceFact:
    contacted: bool = False
    attended: bool = False
    refused: bool = False
    hate_crime: bool = False
    apology: bool = False
    contact_hours: float | None = None


@dataclass(frozen=True)
class ReportFact:
    """What one consented report contributes: no narrative, no exact place, no identity."""

    key: str  # a stable pseudonymous key (used only to pick codes when bounding DP contributions)
    month: str  # "YYYY-MM"
    cell: int | None = None  # H3 cell (resolution 9, signed 64-bit) or None when withheld
    venue_type: str = ""
    bias: tuple[str, ...] = ()
    incident_type: tuple[str, ...] = ()
    police: PoliceFact | None = None


@dataclass(frozen=True)
class WalkFact:
    month: str
    completed_safely: bool = False
    unanswered: bool = False
    overdue_alert: bool = False
    accept_minutes: float | None = None


@dataclass(frozen=True)
class ReleaseSpec:
    """The fixed partition of one release, decided before the data is read."""

    months: tuple[str, ...]
    k: int = 5
    resolution: int = 8
    epsilon: float | None = None  # None: no differential privacy
    map_area: tuple[str, ...] = ()  # res-5 H3 cells: the fixed map domain of DP releases

    @property
    def quarters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(quarter_of(m) for m in self.months))


@dataclass
class Release:
    """Published values only. Every count in `series`, `quarterly`, `totals` and `map` is a
    multiple of k."""

    spec: ReleaseSpec
    # dimension -> row -> month / quarter / period ("all" or a year) -> count
    series: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    quarterly: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    totals: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    map: list[dict[str, Any]] = field(default_factory=list)  # {"cells": [...], "res", "value"}
    medians: dict[str, float | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "k": self.spec.k,
            "months": list(self.spec.months),
            "quarters": list(self.spec.quarters),
            "resolution": self.spec.resolution,
            "epsilon": self.spec.epsilon,
            "series": self.series,
            "quarterly": self.quarterly,
            "totals": self.totals,
            "map": self.map,
            "medians": self.medians,
        }


def quarter_of(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}-Q{(int(mon) - 1) // 3 + 1}"


def publish_count(value: float, k: int) -> int:
    """A count as published: 0 below k, else the nearest multiple of k (halves round up)."""
    if value < k:
        return 0
    return int(k * int(value / k + 0.5))


def published_values(payload: Mapping[str, Any]) -> list[int]:
    """Every count in a release payload (what the tests check)."""
    out: list[int] = []
    for table in ("series", "quarterly", "totals"):
        for rows in payload.get(table, {}).values():
            for cols in rows.values():
                out.extend(cols.values())
    out.extend(region["value"] for region in payload.get("map", []))
    return [int(v) for v in out]


# --- counting over the partition -------------------------------------------------------------


def _bounded(codes: Sequence[str], key: str, limit: int | None) -> Sequence[str]:
    """At most `limit` codes, picked by a hash of (report, code) so no code is favoured."""
    if limit is None or len(codes) <= limit:
        return codes
    ranked = sorted(codes, key=lambda c: hashlib.sha256(f"{key}:{c}".encode()).digest())
    return sorted(ranked[:limit])


def _raw_counts(
    spec: ReleaseSpec,
    reports: Iterable[ReportFact],
    walks: Iterable[WalkFact],
    cell_counts: Mapping[int, int] | None = None,
) -> dict[tuple[str, ...], float]:
    """True counts per (dimension, row, month) and per map cell; absent keys are zero.
    `cell_counts` (stored cell -> consented reports of the period), when given, replaces
    counting the facts' cells one by one."""
    limit = DP_MAX_CODES if spec.epsilon is not None else None
    months = set(spec.months)
    counts: Counter[tuple[str, ...]] = Counter()
    for r in reports:
        if r.month not in months:
            continue
        counts[("total", "all", r.month)] += 1
        if r.venue_type:
            counts[("venue_type", r.venue_type, r.month)] += 1
        for dim in ("bias", "incident_type"):
            for code in _bounded(getattr(r, dim), r.key, limit):
                counts[(dim, code, r.month)] += 1
        if r.police is not None:
            counts[("police", "answered", r.month)] += 1
            for counter in POLICE_COUNTERS[1:]:
                if getattr(r.police, counter):
                    counts[("police", counter, r.month)] += 1
        if r.cell is not None and cell_counts is None:
            counts[("cell", str(_parent(r.cell, spec.resolution)))] += 1
    for cell, n in (cell_counts or {}).items():
        counts[("cell", str(_parent(cell, spec.resolution)))] += n
    for w in walks:
        if w.month not in months:
            continue
        counts[("walks", "requested", w.month)] += 1
        for counter, flag in (
            ("completed_safely", w.completed_safely),
            ("unanswered", w.unanswered),
            ("overdue_alerts", w.overdue_alert),
        ):
            if flag:
                counts[("walks", counter, w.month)] += 1
    return dict(counts)


def _parent(cell: int, resolution: int) -> str:
    name = geo.cell_str(cell)
    if h3.get_resolution(name) <= resolution:
        return name
    return str(h3.cell_to_parent(name, resolution))


def partition_rows() -> dict[str, list[str]]:
    """Every row of every table, from the taxonomy: fixed before any data is read, so whether
    a row exists never tells anything."""
    from homesafe.reports import taxonomy as tx

    return {
        "total": ["all"],
        "bias": tx.codes(tx.BIAS_MOTIVATIONS),
        "incident_type": tx.codes(tx.INCIDENT_TYPES),
        "venue_type": tx.codes(tx.VENUE_TYPES),
        "police": list(POLICE_COUNTERS),
        "walks": list(WALK_COUNTERS),
    }


def _domain(spec: ReleaseSpec, *, with_cells: bool) -> list[tuple[str, ...]]:
    """The fixed partition at its finest: (dimension, row, month) and, for DP releases, every
    map cell under the organisation's map area."""
    keys: list[tuple[str, ...]] = [
        (dim, row, month)
        for dim, rows in partition_rows().items()
        for row in rows
        for month in spec.months
    ]
    for area in spec.map_area if with_cells else ():
        keys += [("cell", str(c)) for c in h3.cell_to_children(area, spec.resolution)]
    return keys


def dp_sensitivity() -> int:
    """How many counts of the partition one report (or one walk) can change, each by 1."""
    per_report = (
        1 + 1 + 2 * DP_MAX_CODES + len(POLICE_COUNTERS) + 1
    )  # total, venue, codes, police, map
    return max(per_report, len(WALK_COUNTERS))


def _noisy(spec: ReleaseSpec, counts: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """Discrete Laplace noise from OpenDP on every count of the fixed domain."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    assert spec.epsilon is not None and spec.epsilon > 0
    keys = _domain(spec, with_cells=True)
    sensitivity = dp_sensitivity()
    scale = sensitivity / spec.epsilon
    measurement = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
    )
    # OpenDP's own privacy map confirms the release costs no more than the epsilon charged.
    if measurement.map(sensitivity) > spec.epsilon * (1 + 1e-9):
        raise ValueError("noise scale does not meet the epsilon of the release")
    released = measurement([int(counts.get(key, 0)) for key in keys])
    return dict(zip(keys, (float(v) for v in released), strict=True))


# --- the release ----------------------------------------------------------------------------


def build_release(
    spec: ReleaseSpec,
    reports: Sequence[ReportFact],
    walks: Sequence[WalkFact],
    cell_counts: Mapping[int, int] | None = None,
) -> Release:
    """Compute one release over the spec's fixed partition.

    Monthly, quarterly, yearly and whole-period counts are each rounded from the sum of the
    underlying values (the true counts, or in DP releases the noisy monthly counts, so the
    coarser ones cost no extra budget)."""
    k = spec.k
    raw = _raw_counts(spec, reports, walks, cell_counts)
    if spec.epsilon is not None:
        values = _noisy(spec, raw)
    else:
        values = {key: raw.get(key, 0.0) for key in _domain(spec, with_cells=False)}
        values.update({key: v for key, v in raw.items() if key[0] == "cell"})
    release = Release(spec=spec)
    periods = {"all": list(spec.months)}
    for month in spec.months:
        periods.setdefault(month[:4], []).append(month)
    quarters: dict[str, list[str]] = defaultdict(list)
    for month in spec.months:
        quarters[quarter_of(month)].append(month)
    for dim, rows in partition_rows().items():
        release.series[dim], release.quarterly[dim], release.totals[dim] = {}, {}, {}
        for row in rows:
            monthly = {m: values.get((dim, row, m), 0.0) for m in spec.months}
            release.series[dim][row] = {m: publish_count(v, k) for m, v in monthly.items()}
            release.quarterly[dim][row] = {
                q: publish_count(sum(monthly[m] for m in ms), k) for q, ms in quarters.items()
            }
            release.totals[dim][row] = {
                p: publish_count(sum(monthly[m] for m in ms), k) for p, ms in periods.items()
            }
    cells = {key[1]: v for key, v in values.items() if key[0] == "cell"}
    release.map = coarsen_cells(cells, spec.resolution, k)
    release.medians = _medians(spec, reports, walks)
    return release


def coarsen_cells(counts: Mapping[str, float], resolution: int, k: int) -> list[dict[str, Any]]:
    """Publish cells with at least k; gather the rest into their parent (then grandparent)
    area, drawn as the parent's cells not already published; what is still below k is
    suppressed. Every region's value is a multiple of k."""
    regions: list[dict[str, Any]] = []
    taken: set[str] = set()
    leftovers: dict[str, float] = {}
    for cell, value in counts.items():
        if value >= k:
            regions.append({"cells": [cell], "res": resolution, "value": publish_count(value, k)})
            taken.add(cell)
        elif value > 0:
            leftovers[cell] = value
    for level in range(1, COARSEN_LEVELS + 1):
        parent_res = resolution - level
        if parent_res < 0:
            break
        grouped: dict[str, float] = defaultdict(float)
        members: dict[str, list[str]] = defaultdict(list)
        for cell, value in leftovers.items():
            parent = str(h3.cell_to_parent(cell, parent_res))
            grouped[parent] += value
            members[parent].append(cell)
        leftovers = {}
        for parent, value in grouped.items():
            if value >= k:
                # Drawn as every cell of the area not published on its own: which small cells
                # held the reports stays hidden.
                area = [
                    str(c) for c in h3.cell_to_children(parent, resolution) if str(c) not in taken
                ]
                regions.append(
                    {"cells": sorted(area), "res": parent_res, "value": publish_count(value, k)}
                )
                taken.update(area)
            else:
                for cell in members[parent]:
                    leftovers[cell] = counts[cell]
    regions.sort(key=lambda r: (-r["value"], r["cells"][0]))
    return regions


def _median_or_none(values: list[float], k: int, step: float) -> float | None:
    if len(values) < k:
        return None
    return round(statistics.median(values) / step) * step


def _medians(
    spec: ReleaseSpec, reports: Sequence[ReportFact], walks: Sequence[WalkFact]
) -> dict[str, float | None]:
    """Durations (not counts): only over at least 2k answers, coarsely rounded; withheld in
    DP releases, whose epsilon covers the counts only."""
    if spec.epsilon is not None:
        return {"police_contact_hours": None, "accept_minutes": None}
    months = set(spec.months)
    hours = [
        r.police.contact_hours
        for r in reports
        if r.month in months and r.police is not None and r.police.contact_hours is not None
    ]
    minutes = [
        w.accept_minutes for w in walks if w.month in months and w.accept_minutes is not None
    ]
    return {
        "police_contact_hours": _median_or_none(hours, 2 * spec.k, 1.0),
        "accept_minutes": _median_or_none(minutes, 2 * spec.k, 1.0),
    }


# --- what the public filters may do ----------------------------------------------------------


def period_totals(payload: Mapping[str, Any], *, dimension: str, period: str) -> dict[str, int]:
    """Released whole-period or yearly counts of one dimension."""
    return {row: int(cols.get(period, 0)) for row, cols in payload["totals"][dimension].items()}


def filter_release(
    payload: Mapping[str, Any], *, dimension: str, months: Sequence[str]
) -> dict[str, int]:
    """Per-code sums of released monthly cells over the chosen months. Works on the release
    only: a filter can add published cells, never reach the data behind them."""
    chosen = [m for m in payload["months"] if m in set(months)]
    table = payload["series"].get(dimension, {})
    return {code: sum(int(row.get(m, 0)) for m in chosen) for code, row in table.items()}


def share(numerator: int, denominator: int) -> int | None:
    """A whole percentage of two published counts, or None when the base is suppressed."""
    if denominator <= 0:
        return None
    return round(100 * numerator / denominator)
