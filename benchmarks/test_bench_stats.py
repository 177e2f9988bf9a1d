"""Statistics hot paths over 1,000,000 reports, each next to a baseline measured in the same run.

Run: .venv/bin/python -m pytest benchmarks/test_bench_stats.py --benchmark-only -q
(needs duckdb for the baseline). Targets: the public map aggregate within 10 times a DuckDB
GROUP BY over the same stored cells; a cached public page at least 85% as fast as a static
Django view (median of the baseline / median of the target >= 0.85).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import h3
import numpy as np
import pytest
from django.db import connection, transaction
from django.test import Client

from homesafe.common import geo
from homesafe.reports.models import Report
from homesafe.stats import engine, rollup, selectors, services

pytestmark = pytest.mark.django_db

ROWS = 1_000_000
START = dt.date(2024, 11, 1)
END = dt.date(2026, 11, 1)
CHUNK = 50_000


def _cells() -> np.ndarray:
    """About 2,800 res-9 cells around Courtenay Place, a few of them busy."""
    centre = h3.latlng_to_cell(-41.2935, 174.7815, 9)
    return np.array(
        [
            geo.cell_int(geo.Point(*h3.cell_to_latlng(c)), 9)
            for c in sorted(h3.grid_disk(centre, 30))
        ],
        dtype=np.int64,
    )


def _insert(org: Any) -> dict[str, np.ndarray]:
    """1,000,000 report rows written in bulk (executemany / COPY), the ORM's own column
    values for everything else."""
    rng = np.random.default_rng(7)
    cells = _cells()
    weights = rng.pareto(1.2, len(cells)) + 0.05
    cell_col = rng.choice(cells, size=ROWS, p=weights / weights.sum())
    days = (END - START).days
    day_col = rng.integers(0, days, size=ROWS)
    consent_col = rng.random(ROWS) < 0.8
    template = Report(
        organisation=org, code_hash="x", reporter_role="victim", location_precision="about_100m"
    )
    fields = [f for f in Report._meta.concrete_fields]
    base = {f.column: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    columns = [str(f.column) for f in fields]
    table = Report._meta.db_table
    now = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        for lo in range(0, ROWS, CHUNK):
            rows = []
            for i in range(lo, min(ROWS, lo + CHUNK)):
                day = START + dt.timedelta(days=int(day_col[i]))
                values = dict(base)
                values["id"] = uuid.uuid4().hex if connection.vendor == "sqlite" else uuid.uuid4()
                values["code_hash"] = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
                values["consent_statistics"] = bool(consent_col[i])
                values["occurred_on"] = day
                values["reported_at"] = now
                values["updated_at"] = now
                values["h3_cell"] = int(cell_col[i])
                rows.append(tuple(values[c] for c in columns))
            if connection.vendor == "postgresql":
                raw = connection.connection
                with raw.cursor().copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                    rows,
                )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")  # noqa: S608
        else:
            cursor.execute("ANALYZE")
    return {"cell": cell_col, "day": day_col, "consent": consent_col}


@pytest.fixture(scope="module")
def million(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[Any, Any]]:
    """One organisation with 1,000,000 reports, inserted once, rolled back after the module."""
    import duckdb

    from homesafe.accounts.models import Organisation

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            org = Organisation.objects.create(name="Bench", slug="bench")
            columns = _insert(org)
            # A bulk load bypasses the signals that keep the per-cell counts current.
            rollup.cell_counts_rebuild(org)
            duck = duckdb.connect()
            # The same stored cells, in DuckDB: cell, day as a date, consent.
            duck.register(
                "src",
                {"h3_cell": columns["cell"], "day": columns["day"], "consent": columns["consent"]},
            )
            start = START.isoformat()
            duck.execute(
                "CREATE TABLE reports AS SELECT h3_cell, consent, "  # noqa: S608 - a constant
                f"DATE '{start}' + CAST(day AS INTEGER) AS occurred_on FROM src"
            )
            yield org, duck
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# Consented reports per stored cell over one period, in DuckDB (the baseline and the check).
DUCK_GROUP_BY = (
    "SELECT h3_cell, count(*) FROM reports WHERE consent AND occurred_on >= ? "
    "AND occurred_on < ? GROUP BY h3_cell"
)


def _period() -> tuple[dt.date, dt.date]:
    return dt.date(2025, 11, 1), dt.date(2026, 11, 1)


def test_bench_duckdb_group_by(benchmark: Any, million: Any) -> None:
    """Baseline: DuckDB GROUP BY cell over the same stored cells (consented, one year)."""
    _org, duck = million
    start, end = _period()
    rows = benchmark(lambda: duck.execute(DUCK_GROUP_BY, [start, end]).fetchall())
    assert len(rows) > 1000


def test_bench_public_map_aggregate(benchmark: Any, million: Any) -> None:
    """Target: the public map of a release: consented reports per stored cell (a GROUP BY
    over the per-cell, per-month counts kept current by signals, less reports marked duplicate
    or troll), then coarsening to published (multiple-of-k) regions."""
    org, duck = million
    start, end = _period()
    spec = engine.ReleaseSpec(months=selectors.months_before(end, 12))

    def aggregate() -> list[dict[str, Any]]:
        counts = services.public_cells(org, spec)
        per_cell: dict[str, float] = {}
        for cell, n in counts.items():
            parent = str(h3.cell_to_parent(geo.cell_str(cell), 8))
            per_cell[parent] = per_cell.get(parent, 0) + n
        return engine.coarsen_cells(per_cell, 8, 5)

    # Same answer as DuckDB over the same stored cells.
    assert services.public_cells(org, spec) == dict(
        duck.execute(DUCK_GROUP_BY, [start, end]).fetchall()
    )
    regions = benchmark(aggregate)
    assert regions and all(r["value"] % 5 == 0 for r in regions)


@pytest.fixture(scope="module")
def published(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """A release over a small organisation (the page's cost does not depend on data size);
    rolled back after the module."""
    from homesafe.accounts.models import Organisation
    from homesafe.stats.tests.factories import make_report

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            org = Organisation.objects.create(name="Page", slug="page-bench")
            for i in range(40):
                make_report(org, day=dt.date(2026, 1 + i % 9, 10))
            services.release_publish(organisation=org, actor=None)
            yield org
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


PAGE_ROUNDS = {"rounds": 500, "iterations": 1, "warmup_rounds": 50}


def test_bench_static_view(benchmark: Any, published: Any) -> None:
    """Baseline: the home page (a template, no queries)."""
    client = Client()
    benchmark.pedantic(lambda: client.get("/"), **PAGE_ROUNDS)


def test_bench_cached_public_page(benchmark: Any, published: Any) -> None:
    """Target: the public statistics page, served from the cache."""
    client = Client()
    url = f"/statistics/{published.slug}/"
    assert client.get(url).status_code == 200
    benchmark.pedantic(lambda: client.get(url), **PAGE_ROUNDS)


def test_bench_release_publish(benchmark: Any, million: Any) -> None:
    """For the record (no target): publishing a whole release over 1,000,000 reports (the
    monthly loop's work), one round."""
    import time_machine

    org, _duck = million
    with time_machine.travel(dt.datetime(2026, 11, 15, tzinfo=dt.UTC), tick=True):
        release = benchmark.pedantic(
            lambda: services.release_publish(organisation=org, actor=None, epsilon=None),
            rounds=1,
            iterations=1,
        )
    assert release.reports_counted > 700_000
