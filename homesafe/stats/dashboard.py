"""The staff dashboard's figures (exact, weekly, street level) and the pack's input."""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import h3
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import Organisation
from homesafe.common import geo
from homesafe.reports import taxonomy as tx
from homesafe.reports.access import case_organisation_ids
from homesafe.reports.models import ReportCode
from homesafe.stats import charts, engine, figures, selectors

# The pack's areas: H3 resolution 6 (about 36 km2), named by their code.
PACK_AREA_RESOLUTION = 6


@dataclass(frozen=True)
class DashboardFilters:
    date_from: dt.date
    date_to: dt.date  # inclusive
    bias: str | None = None
    incident_type: str | None = None
    venue_type: str | None = None


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def parse_filters(
    query: Mapping[str, str], organisation: Organisation
) -> tuple[DashboardFilters, dict[str, str]]:
    """Filters from the query string; bad values are errors (a 400), not silently dropped."""
    errors: dict[str, str] = {}
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.timezone)).date()
    try:
        date_to = _date(query.get("date_to")) or today
        date_from = _date(query.get("date_from")) or (date_to - dt.timedelta(days=365))
    except ValueError:
        errors["date"] = _("Dates must look like 2025-03-31.")
        date_from, date_to = today - dt.timedelta(days=365), today
    if date_from > date_to or (date_to - date_from).days > 3 * 366:
        errors["date"] = _("Choose a period of at most three years, start before end.")
    chosen: dict[str, str | None] = {}
    for name, choices in (
        ("bias", tx.BIAS_MOTIVATIONS),
        ("incident_type", tx.INCIDENT_TYPES),
        ("venue_type", tx.VENUE_TYPES),
    ):
        value = query.get(name) or None
        if value is not None and value not in tx.codes(choices):
            errors[name] = _("Unknown choice.")
        chosen[name] = value
    return DashboardFilters(date_from=date_from, date_to=date_to, **chosen), errors


def queue_url(filters: DashboardFilters, **extra: str) -> str:
    """The triage queue, filtered the same way (its own filter names)."""
    params = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "bias": filters.bias or "",
        "incident_type": filters.incident_type or "",
        **extra,
    }
    return f"{reverse('case_queue')}?{urlencode({k: v for k, v in params.items() if v})}"


def dashboard_context(user: Any, organisation: Organisation, f: DashboardFilters) -> dict[str, Any]:
    """Exact figures over the reports the caller's queue shows (case staff only)."""
    reports = selectors.staff_reports(case_organisation_ids(user), organisation)
    if f.venue_type:
        reports = reports.filter(venue_type=f.venue_type)
    for dimension, code in (("bias", f.bias), ("incident_type", f.incident_type)):
        if code:
            reports = reports.filter(
                id__in=ReportCode.objects.filter(dimension=dimension, code=code).values("report_id")
            )
    end = f.date_to + dt.timedelta(days=1)
    facts = selectors.dashboard_facts(reports, organisation, f.date_from, end)
    weekly = selectors.weekly_counts(reports, f.date_from, end)
    weekly_points = [(w["week"].strftime("%d %b"), w["value"]) for w in weekly]
    dims: dict[str, Counter[str]] = {
        "bias": Counter(),
        "incident_type": Counter(),
        "venue_type": Counter(),
    }
    cells: Counter[str] = Counter()
    police_counts: Counter[str] = Counter()
    hours: list[float] = []
    for fact in facts:
        dims["bias"].update(fact.bias)
        dims["incident_type"].update(fact.incident_type)
        if fact.venue_type:
            dims["venue_type"][fact.venue_type] += 1
        if fact.cell is not None:
            cells[geo.cell_str(fact.cell)] += 1
        if fact.police is not None:
            police_counts["answered"] += 1
            for counter in engine.POLICE_COUNTERS[1:]:
                police_counts[counter] += int(getattr(fact.police, counter))
            if fact.police.contact_hours is not None:
                hours.append(fact.police.contact_hours)
    tables = []
    for dim, (lazy_title, choices) in figures.DIMENSION_CHOICES.items():
        title = str(lazy_title)
        labels = dict((c, str(lab)) for c, lab in choices)
        rows = [
            {
                "code": code,
                "label": labels.get(code, code),
                "value": n,
                # The queue filters by bias and incident type; venue has no queue filter.
                "queue": queue_url(f, **{dim: code}) if dim != "venue_type" else None,
            }
            for code, n in dims[dim].most_common()
        ]
        bars = [(str(r["label"]), int(r["value"] or 0)) for r in rows]
        tables.append(
            {
                "id": f"dash-{dim}",
                "title": title,
                "rows": rows,
                "svg": charts.bar_chart(f"dash-{dim}", title, bars[:12]),
                "reading": charts.reading_of_bars(bars, _("reports")),
            }
        )
    answered = police_counts["answered"]
    police_rows = [
        {
            "label": str(label),
            "count": police_counts[code],
            "share": engine.share(police_counts[code], answered),
        }
        for code, label in figures.POLICE_LABELS.items()
    ]
    street = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": h3.cells_to_geo([cell]),
                "properties": {"value": n, "label": f"{n}"},
            }
            for cell, n in cells.items()
        ],
    }
    areas: Counter[str] = Counter()
    for cell, n in cells.items():
        areas[str(h3.cell_to_parent(cell, PACK_AREA_RESOLUTION))] += n
    return {
        "pack_areas": [
            (code, _("Area %(i)s (%(n)s reports in this selection)") % {"i": i, "n": n})
            for i, (code, n) in enumerate(areas.most_common(), start=1)
        ],
        "filters": f,
        "total": len(facts),
        "weekly": weekly_points,
        "weekly_svg": charts.column_chart("dash-weekly", _("Reports per week"), weekly_points),
        "weekly_reading": charts.reading_of_trend(weekly_points, None, _("reports")),
        "tables": tables,
        "police_answered": answered,
        "police_rows": police_rows,
        "police_svg": charts.bar_chart(
            "dash-police",
            _("Police response (%)"),
            [(str(r["label"]), int(r["share"] or 0)) for r in police_rows],
            unit="%",
        ),
        "median_hours": round(statistics.median(hours), 1) if hours else None,
        "street_map": street,
        "queue_all": queue_url(f),
    }


def parse_pack(
    query: Mapping[str, str], organisation: Organisation
) -> tuple[tuple[str, ...], str, str | None]:
    """The pack's period (whole months) and area (an H3 cell of resolution 5 to 7, or all)."""
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    today = timezone.now().astimezone(tz).date()
    default = selectors.months_before(today, 6)
    first, last = query.get("from") or default[0], query.get("to") or default[-1]
    all_months = selectors.months_before(today, 120)
    if first not in all_months or last not in all_months or first > last:
        return (), "", _("Choose whole months (YYYY-MM) before this month, start before end.")
    months = tuple(m for m in all_months if first <= m <= last)
    area = query.get("area", "")
    if area and not (h3.is_valid_cell(area) and 5 <= h3.get_resolution(area) <= 7):
        return (), "", _("The area must be a map area code from the dashboard.")
    return months, area, None


def pack_release(organisation: Organisation, months: tuple[str, ...], area: str) -> dict[str, Any]:
    """The pack's figures: the public release engine over the chosen months and area."""
    row = selectors.stats_settings(organisation)
    spec = engine.ReleaseSpec(months=months, k=row.k, resolution=row.map_resolution)
    facts = selectors.release_report_facts(organisation, spec)
    if area:
        res = h3.get_resolution(area)
        facts = [
            f
            for f in facts
            if f.cell is not None and h3.cell_to_parent(geo.cell_str(f.cell), res) == area
        ]
    start, end = selectors.month_bounds(months)
    walks = [] if area else selectors.walk_facts(organisation, start, end)
    return engine.build_release(spec, facts, walks).as_json()
