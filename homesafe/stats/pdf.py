"""The police-meeting briefing as a PDF (reportlab): charts, tables, police-response figures
with their trend, and approved anonymised case summaries. Built from a release payload only."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from homesafe.accounts.models import Organisation
from homesafe.stats import charts, figures
from homesafe.stats.models import CaseSummary

PURPLE = colors.HexColor("#5b2a86")
# Te reo Māori needs macrons, which reportlab's built-in fonts lack: DejaVu when installed.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str]:
    """(regular, bold) font names, registering DejaVu Sans once if it is installed."""
    if "DejaVuSans" in pdfmetrics.getRegisteredFontNames():
        return "DejaVuSans", "DejaVuSans-Bold"
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
        pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _count_axis(axis: Any, values: Sequence[int], k: int | None) -> None:
    """Counts are multiples of k: so are the axis ticks, or a tick could read as a count
    between 1 and k-1."""
    if not k:
        return
    top = max([*values, k])
    step = k * max(1, math.ceil(top / k / 5))
    axis.valueStep = step
    axis.valueMax = step * math.ceil(top / step)


def _finish_chart(
    drawing: Drawing, chart: Any, k: int | None, *, category_font_size: int
) -> Drawing:
    """The styling both bar charts share: fonts, a zero-based count axis, the brand colour."""
    chart.categoryAxis.labels.fontSize = category_font_size
    chart.categoryAxis.labels.fontName = _fonts()[0]
    chart.valueAxis.labels.fontName = _fonts()[0]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    _count_axis(chart.valueAxis, chart.data[0], k)
    chart.bars[0].fillColor = PURPLE
    drawing.add(chart)
    return drawing


def _columns(
    points: Sequence[tuple[str, int]], width: float = 170 * mm, *, k: int | None = None
) -> Drawing:
    drawing = Drawing(width, 60 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 10 * mm, width - 16 * mm, 45 * mm
    chart.data = [[v for _l, v in points] or [0]]
    chart.categoryAxis.categoryNames = [
        label if i % max(1, len(points) // 8) == 0 else "" for i, (label, _v) in enumerate(points)
    ] or [""]
    return _finish_chart(drawing, chart, k, category_font_size=6)


def _bars(
    rows: Sequence[tuple[str, int]], width: float = 170 * mm, *, k: int | None = None
) -> Drawing:
    rows = list(rows)[:10] or [("", 0)]
    height = (len(rows) * 7 + 10) * mm
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 60 * mm, 5 * mm
    chart.width, chart.height = width - 65 * mm, height - 10 * mm
    chart.data = [[v for _l, v in reversed(rows)]]
    chart.categoryAxis.categoryNames = [label[:34] for label, _v in reversed(rows)]
    return _finish_chart(drawing, chart, k, category_font_size=7)


def _table(header: list[str], rows: list[list[Any]]) -> Table:
    table = Table([header, *rows], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("FONTNAME", (0, 0), (-1, -1), _fonts()[0]),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#ece6f2")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def briefing_pdf(
    organisation: Organisation,
    payload: Mapping[str, Any],
    summaries: Sequence[CaseSummary],
    *,
    area: str = "",
) -> bytes:
    """The briefing: every number in it comes from `payload` (multiples of k)."""
    fig = figures.release_figures(payload, dimension="bias", period="all")
    styles = getSampleStyleSheet()
    regular, bold = _fonts()
    for name in ("BodyText", "Normal"):
        styles[name].fontName = regular
    for name in ("Title", "Heading2", "Heading3"):
        styles[name].fontName = bold
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    period = fig["period_label"]
    k = payload["k"]
    story: list[Any] = [
        Paragraph(escape(f"{organisation.name}: briefing for the meeting with police"), h1),
        Paragraph(
            escape(
                f"Period: {period}. Area: {area or 'all areas'}. Prepared "
                f"{timezone.now().date().isoformat()}. Only reports whose authors agreed to "
                f"statistics are counted. Every number is rounded to a multiple of {k}; fewer "
                f"than {k} shows as 0."
            ),
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Reports per month", h2),
        _columns(fig["trend"], k=k),
        Paragraph(escape(fig["trend_reading"]), body),
        Paragraph("Why people were targeted", h2),
        _bars(fig["by_code_chart_rows"], k=k),
        Paragraph(escape(fig["by_code_reading"]), body),
        _table(["Reason", "Reports"], [[label, v] for label, v in fig["by_code_chart_rows"]][:12]),
        Paragraph("How the police responded", h2),
        Paragraph(escape(fig["police"]["reading"]), body),
        _table(
            ["", "Incidents", "Share"],
            [
                [s["label"], s["count"], "–" if s["share"] is None else f"{s['share']}%"]
                for s in fig["police"]["shares"]
            ],
        ),
        Spacer(1, 3 * mm),
        Paragraph("Trend by quarter", styles["Heading3"]),
        _table(
            [
                "Quarter",
                "Told us",
                "Contacted",
                "Attended",
                "Refused help",
                "Hate crime",
                "Apology",
            ],
            [
                [
                    row["quarter"],
                    row["answered"],
                    row["contacted"],
                    row["attended"],
                    row["refused"],
                    row["hate_crime"],
                    row["apology"],
                ]
                for row in fig["police"]["by_quarter"]
            ],
        ),
        _columns([(q, v) for q, v in fig["police"]["refused_trend"]]),
        Paragraph("Share of incidents where help asked for was refused, per quarter (%).", body),
    ]
    hours = fig["medians"].get("police_contact_hours")
    story.append(
        Paragraph(
            escape(
                f"Median hours until police made contact: {hours:.0f} (benchmark: 48 hours)."
                if hours is not None
                else "Too few answers to give the median time until police made contact."
            ),
            body,
        )
    )
    walks = fig["walks"]
    if not area:
        story += [
            Paragraph("Walk home", h2),
            Paragraph(
                escape(
                    f"About {walks['completed_safely']} walks completed safely; about "
                    f"{walks['unanswered']} of {walks['requested']} requests found nobody; "
                    f"about {walks['overdue_alerts']} overdue alerts."
                ),
                body,
            ),
        ]
    story.append(Paragraph("Cases in brief (anonymised, approved for release)", h2))
    if not summaries:
        story.append(Paragraph("No case summaries were approved for this period.", body))
    for summary in summaries:
        story.append(
            Paragraph(
                f"<b>{escape(summary.title)}</b> ({escape(charts.month_label(summary.month))})",
                body,
            )
        )
        story.append(Paragraph(escape(summary.summary or ""), body))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{organisation.name} briefing",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    doc.build(story)
    return out.getvalue()
