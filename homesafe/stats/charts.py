"""Server-rendered SVG charts (no JavaScript), map regions as GeoJSON, plain-language readings.

SVGs use presentation attributes only (no style attributes): the CSP allows no inline styles.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from typing import Any

import h3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

BAR_COLOUR = "#5b2a86"
AXIS_COLOUR = "#4a4a55"


def month_label(month: str) -> str:
    year, mon = month.split("-")
    return f"{calendar.month_abbr[int(mon)]} {year}"


def bar_chart(
    chart_id: str, title: str, rows: Sequence[tuple[str, int]], *, unit: str = ""
) -> SafeString:
    """Horizontal bars, the label above each bar: long labels stay whole on a phone."""
    width, row_h = 340, 40
    height = max(1, len(rows)) * row_h + 4
    top = max([v for _l, v in rows] + [1])
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t" focusable="false">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 2 + i * row_h
        bar = 0 if value <= 0 else max(2, int((width - 50) * value / top))
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12" fill="{AXIS_COLOUR}">'
            f"{escape(label[:52])}</text>"
            f'<rect x="0" y="{y + 18}" width="{bar}" height="16" '
            f'fill="{BAR_COLOUR}" data-value="{value}"></rect>'
            f'<text x="{bar + 4}" y="{y + 31}" font-size="12" '
            f'fill="{AXIS_COLOUR}">{value}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or numeric


def column_chart(
    chart_id: str, title: str, points: Sequence[tuple[str, int]], *, unit: str = ""
) -> SafeString:
    """Vertical columns over time (months, quarters or weeks)."""
    width, height, base, left = 340, 170, 140, 30
    top = max([v for _l, v in points] + [1])
    step = (width - left - 6) / max(1, len(points))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t" focusable="false">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" stroke="{AXIS_COLOUR}"/>'
        f'<text x="{left - 4}" y="14" text-anchor="end" font-size="10" '
        f'fill="{AXIS_COLOUR}">{top}{escape(unit)}</text>'
        f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="10" '
        f'fill="{AXIS_COLOUR}">0</text>'
    ]
    # Labels at least ~60 px apart so they never overlap.
    label_every = max(1, int(60 // max(1.0, step)) + (1 if 60 % max(1.0, step) else 0))
    for i, (label, value) in enumerate(points):
        x = left + i * step
        h = 0 if value <= 0 else max(2, int((base - 12) * value / top))
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{base - h}" width="{max(1.0, step - 2):.1f}" '
            f'height="{h}" fill="{BAR_COLOUR}" data-value="{value}"></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{base + 14}" font-size="9" '
                f'fill="{AXIS_COLOUR}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or numeric


def reading_of_trend(points: Sequence[tuple[str, int]], k: int | None, noun: str) -> str:
    """One or two plain sentences about a series."""
    if not points or all(v == 0 for _l, v in points):
        return _("Too few %(noun)s to show in this period.") % {"noun": noun}
    label, value = max(points, key=lambda p: p[1])
    half = len(points) // 2
    first = sum(v for _l, v in points[:half])
    second = sum(v for _l, v in points[half:])
    trend = (
        _("more in the second half of the period than in the first")
        if second > first
        else _("fewer in the second half of the period than in the first")
        if second < first
        else _("about as many in each half of the period")
    )
    text = _("The most %(noun)s were in %(label)s (about %(value)s); there were %(trend)s.") % {
        "noun": noun,
        "label": label,
        "value": value,
        "trend": trend,
    }
    if k:
        text += " " + _(
            "Numbers are rounded to multiples of %(k)s, and fewer than %(k)s show as 0."
        ) % {"k": k}
    return text


def reading_of_bars(rows: Sequence[tuple[str, int]], noun: str) -> str:
    shown = [(label, v) for label, v in rows if v > 0]
    if not shown:
        return _("Too few %(noun)s to show in this period.") % {"noun": noun}
    label, value = shown[0]
    text = _("The most common was “%(label)s” (about %(value)s %(noun)s).") % {
        "label": label,
        "value": value,
        "noun": noun,
    }
    if len(shown) > 1:
        text += " " + _("Next came “%(label)s” (about %(value)s).") % {
            "label": shown[1][0],
            "value": shown[1][1],
        }
    return text


def regions_geojson(regions: Sequence[Mapping[str, Any]], noun: str) -> dict[str, Any]:
    """Published map regions as a GeoJSON FeatureCollection (cell boundaries from H3)."""
    features = []
    for region in regions:
        shape = h3.cells_to_geo(list(region["cells"]))
        features.append(
            {
                "type": "Feature",
                "geometry": shape,
                "properties": {"value": int(region["value"]), "label": f"{region['value']} {noun}"},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def labelled(
    choices: Sequence[tuple[str, object]], values: Mapping[str, int]
) -> list[tuple[str, int]]:
    """(label, value) rows in descending order of value, zero rows last."""
    labels = {code: str(label) for code, label in choices}
    rows = [(labels.get(code, code), int(v)) for code, v in values.items() if code in labels]
    return sorted(rows, key=lambda r: (-r[1], r[0]))
