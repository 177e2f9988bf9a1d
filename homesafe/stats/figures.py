"""What a page, the briefing PDF or a CSV shows, computed from a release payload only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from homesafe.reports import taxonomy as tx
from homesafe.stats import charts, engine

DIMENSION_CHOICES: dict[str, tuple[Any, tx.Choices]] = {
    "bias": (_lazy("Why people were targeted"), tx.BIAS_MOTIVATIONS),
    "incident_type": (_lazy("What happened"), tx.INCIDENT_TYPES),
    "venue_type": (_lazy("Where it happened"), tx.VENUE_TYPES),
}
POLICE_LABELS = {
    "contacted": _lazy("Police were contacted"),
    "attended": _lazy("Police attended"),
    "refused": _lazy("Help asked for was refused"),
    "hate_crime": _lazy("Recorded as a hate crime"),
    "apology": _lazy("Police apologised"),
}


def periods(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The public period filter: the whole release or one calendar year of it."""
    years = sorted({m[:4] for m in payload["months"]}, reverse=True)
    return [("all", _("The whole period"))] + [(y, y) for y in years]


def months_of(payload: Mapping[str, Any], period: str) -> list[str]:
    return [m for m in payload["months"] if period == "all" or m.startswith(period)]


def period_label(payload: Mapping[str, Any], period: str) -> str:
    months = months_of(payload, period)
    return f"{charts.month_label(months[0])} – {charts.month_label(months[-1])}"


def release_figures(
    payload: Mapping[str, Any], *, dimension: str = "bias", period: str = "all"
) -> dict[str, Any]:
    """Charts, tables and readings of one release for a dimension and a period."""
    k = int(payload["k"])
    months = months_of(payload, period)
    quarters = list(dict.fromkeys(engine.quarter_of(m) for m in months))
    total_row = payload["series"]["total"]["all"]
    trend = [(charts.month_label(m), int(total_row.get(m, 0))) for m in months]
    title_dim, choices = DIMENSION_CHOICES[dimension]
    per_code = engine.period_totals(payload, dimension=dimension, period=period)
    by_code = charts.labelled(choices, per_code)
    shown = [row for row in by_code if row[1] > 0]
    code_label = {c: str(lab) for c, lab in choices}
    top_codes = [c for c, v in sorted(per_code.items(), key=lambda kv: -kv[1]) if v > 0][:3]
    code_trends = []
    for code in top_codes:
        points = [(q, int(payload["quarterly"][dimension][code].get(q, 0))) for q in quarters]
        label = code_label.get(code, code)
        code_trends.append(
            {
                "id": f"trend-{code}",
                "label": label,
                "points": points,
                "svg": charts.column_chart(
                    f"trend-{code}", _("Reports per quarter: %(l)s") % {"l": label}, points
                ),
                "reading": charts.reading_of_trend(points, None, _("reports")),
            }
        )
    noun = _("reports")
    return {
        "k": k,
        "months": months,
        "period_label": period_label(payload, period),
        "dimension": dimension,
        "dimension_title": title_dim,
        "trend": trend,
        "trend_svg": charts.column_chart("trend", _("Reports per month"), trend),
        "trend_reading": charts.reading_of_trend(trend, k, noun),
        "total": int(payload["totals"]["total"]["all"].get(period, 0)),
        "by_code": [(label, v if v else _("fewer than %(k)s") % {"k": k}) for label, v in by_code],
        "by_code_chart_rows": shown,
        "by_code_svg": charts.bar_chart("by-code", str(title_dim), shown[:12]),
        "by_code_reading": charts.reading_of_bars(shown, noun),
        "code_trends": code_trends,
        "police": police_figures(payload, period, quarters),
        "walks": walk_figures(payload, period, months),
        "map": charts.regions_geojson(payload.get("map", []), noun),
        "map_regions": len(payload.get("map", [])),
        "medians": payload.get("medians", {}),
        "epsilon": payload.get("epsilon"),
    }


def police_figures(
    payload: Mapping[str, Any], period: str, quarters: Sequence[str]
) -> dict[str, Any]:
    """Shares of incidents with a police answer, from released counts."""
    totals = engine.period_totals(payload, dimension="police", period=period)
    quarterly = payload["quarterly"]["police"]
    answered = totals.get("answered", 0)
    shares = [
        {
            "code": counter,
            "label": str(label),
            "count": totals.get(counter, 0),
            "share": engine.share(totals.get(counter, 0), answered),
        }
        for counter, label in POLICE_LABELS.items()
    ]
    refused_trend = [
        (
            q,
            engine.share(int(quarterly["refused"].get(q, 0)), int(quarterly["answered"].get(q, 0)))
            or 0,
        )
        for q in quarters
    ]
    by_quarter = [
        {"quarter": q, **{c: int(quarterly[c].get(q, 0)) for c in engine.POLICE_COUNTERS}}
        for q in quarters
    ]
    bars = [(str(s["label"]), int(s["share"] or 0)) for s in shares]
    reading = (
        _("Too few reports said how the police responded to show shares.")
        if not answered
        else _(
            "Of about %(n)s incidents where the reporter told us about the police, police were "
            "contacted in %(c)s%%, and help asked for was refused in %(r)s%%."
        )
        % {"n": answered, "c": shares[0]["share"], "r": shares[2]["share"]}
    )
    return {
        "answered": answered,
        "shares": shares,
        "shares_svg": charts.bar_chart("police-shares", _("Police response (%)"), bars, unit="%"),
        "by_quarter": by_quarter,
        "refused_svg": charts.column_chart(
            "police-refused", _("Help refused, % per quarter"), refused_trend, unit="%"
        ),
        "refused_trend": refused_trend,
        "reading": reading,
    }


def walk_figures(payload: Mapping[str, Any], period: str, months: Sequence[str]) -> dict[str, Any]:
    totals = engine.period_totals(payload, dimension="walks", period=period)
    monthly = payload["series"]["walks"]["completed_safely"]
    completed = [(charts.month_label(m), int(monthly.get(m, 0))) for m in months]
    return {
        "requested": totals.get("requested", 0),
        "completed_safely": totals.get("completed_safely", 0),
        "unanswered": totals.get("unanswered", 0),
        "unanswered_share": engine.share(totals.get("unanswered", 0), totals.get("requested", 0)),
        "overdue_alerts": totals.get("overdue_alerts", 0),
        "completed_trend": completed,
        "completed_svg": charts.column_chart(
            "walks-completed", _("Walks completed safely per month"), completed
        ),
        "reading": charts.reading_of_trend(completed, int(payload["k"]), _("safe walks home")),
    }


def csv_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    """Every released count as one row: table, row, period, value (all multiples of k)."""
    rows = [["dimension", "code", "period", "value"]]
    for table in ("series", "quarterly", "totals"):
        for dim, codes in payload[table].items():
            for code, cols in codes.items():
                for period, value in cols.items():
                    rows.append([dim, code, period, str(value)])
    for region in payload.get("map", []):
        rows.append(["map", " ".join(region["cells"]), f"res{region['res']}", str(region["value"])])
    return rows
