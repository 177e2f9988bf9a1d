"""Reporting hot paths, each measured next to a baseline in the same run.

Run: .venv/bin/python -m pytest benchmarks --benchmark-only -q
The ratios (target / baseline) go into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from homesafe.reports.models import Report
from homesafe.reports.schemas import ReportIn
from homesafe.reports.services import report_submit

REPORT = {
    "reporter_role": "victim",
    "identity_level": "pseudonymous",
    "narrative": "We were waiting for food when a group started shouting at us. " * 8,
    "place_text": "Courtenay Place",
    "location": {"lat": -41.2935, "lng": 174.7815},
    "location_precision": "about_100m",
    "incident_types": ["verbal_abuse_slurs", "incitement_mob", "filmed_without_consent"],
    "bias": ["gay"],
    "police": {"contacted": "yes", "help_requested": {"escort_home": "refused"}},
    "consent_statistics": True,
}


@pytest.mark.django_db
def test_bench_plain_row_insert(benchmark: Any, personas: Any) -> None:
    """Baseline: one ORM insert of a report row, nothing encrypted, no codes, no audit."""
    org = personas.org

    def insert() -> None:
        Report.objects.create(id=uuid.uuid4(), organisation=org, code_hash=uuid.uuid4().hex,
                              reporter_role="victim")

    benchmark(insert)


@pytest.mark.django_db
def test_bench_report_submit(benchmark: Any, personas: Any) -> None:
    """Target: a full submission: validation, precision, H3, 3 encrypted fields, codes,
    a police row and an audit entry, in one transaction."""

    def submit() -> None:
        report_submit(data=ReportIn.model_validate(REPORT))

    benchmark(submit)


@pytest.mark.django_db
def test_bench_static_page(benchmark: Any, personas: Any) -> None:
    """Baseline: the home page (template only, no queries)."""
    client = Client()
    benchmark(lambda: client.get("/"))


@pytest.mark.django_db
def test_bench_triage_queue(benchmark: Any, personas: Any, verified_login: Any) -> None:
    """Target: a caseworker's queue page (25 rows) over 2,000 reports."""
    for _ in range(2000):
        report_submit(data=ReportIn.model_validate(REPORT))
    client = verified_login(Client(), personas.caseworker)
    assert client.get("/case/").status_code == 200
    benchmark(lambda: client.get("/case/"))
