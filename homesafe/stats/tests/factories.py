"""Small factories for statistics tests: reports with codes and police rows, and walks."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

import h3
from django.utils import timezone

from homesafe.common import geo
from homesafe.reports.models import PoliceResponse, Report, ReportCode

COURTENAY = (-41.2935, 174.7815)


def cell_near(offset: int = 0) -> int:
    """A res-9 cell in central Wellington; `offset` picks another cell of the same ring set."""
    centre = h3.latlng_to_cell(*COURTENAY, 9)
    cells = sorted(h3.grid_disk(centre, 3))
    return geo.cell_int(geo.Point(*h3.cell_to_latlng(cells[offset % len(cells)])), 9)


def make_report(
    org: Any,
    *,
    day: dt.date,
    consent: bool = True,
    bias: tuple[str, ...] = ("gay",),
    incidents: tuple[str, ...] = ("verbal_abuse_slurs",),
    venue: str = "street",
    cell: int | None = None,
    police: dict[str, Any] | None = None,
) -> Report:
    report = Report.objects.create(
        organisation=org,
        code_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        reporter_role="victim",
        consent_statistics=consent,
        occurred_on=day,
        reported_at=timezone.make_aware(dt.datetime.combine(day, dt.time(23, 0)), dt.UTC),
        h3_cell=cell if cell is not None else cell_near(),
        location_precision="about_100m",
        venue_type=venue,
    )
    ReportCode.objects.bulk_create(
        [ReportCode(report=report, dimension="bias", code=c) for c in bias]
        + [ReportCode(report=report, dimension="incident_type", code=c) for c in incidents]
    )
    if police is not None:
        PoliceResponse.objects.create(id=uuid.uuid4(), report=report, **police)
    return report
