"""The per-cell, per-month counts follow every change of a report, as a recount would."""

from __future__ import annotations

import datetime as dt

import pytest

from homesafe.reports.models import Report
from homesafe.reports.services import report_consent_change
from homesafe.stats import rollup
from homesafe.stats.models import CellMonthCount
from homesafe.stats.tests.factories import cell_near, make_report

pytestmark = pytest.mark.django_db


def _live(org) -> dict:  # type: ignore[no-untyped-def]
    return {
        (r.month, r.h3_cell): r.n for r in CellMonthCount.objects.filter(organisation=org, n__gt=0)
    }


def _recounted(org) -> dict:  # type: ignore[no-untyped-def]
    rollup.cell_counts_rebuild(org)
    return _live(org)


def test_it_follows_submissions_consent_edits_and_deletions(personas) -> None:
    org = personas.org
    day = dt.date(2026, 2, 10)
    reports = [make_report(org, day=day, cell=cell_near(i % 3)) for i in range(9)]
    make_report(org, day=day, consent=False)
    make_report(personas.other_org, day=day)
    assert sum(_live(org).values()) == 9
    report_consent_change(
        report=reports[0],
        consent_caseworkers=True,
        consent_police="none",
        consent_statistics=False,
    )
    report_consent_change(
        report=reports[0],
        consent_caseworkers=True,
        consent_police="none",
        consent_statistics=True,
    )
    report_consent_change(
        report=reports[1],
        consent_caseworkers=True,
        consent_police="none",
        consent_statistics=False,
    )
    moved = Report.objects.get(pk=reports[2].pk)
    moved.occurred_on = dt.date(2026, 1, 5)
    moved.h3_cell = cell_near(7)
    moved.save()
    Report.objects.get(pk=reports[3].pk).delete()
    undated = Report.objects.get(pk=reports[4].pk)
    undated.occurred_on = None
    undated.save()
    live = _live(org)
    assert sum(live.values()) == 7
    assert live == _recounted(org)
    counts = rollup.cell_counts(org, dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    assert counts == {cell_near(7): 1}


def test_a_release_recounts_when_reports_changed_behind_the_signals(personas, caplog) -> None:
    import time_machine

    from homesafe.stats import services

    org = personas.org
    with time_machine.travel(dt.datetime(2026, 3, 15, tzinfo=dt.UTC), tick=False):
        reports = [make_report(org, day=dt.date(2026, 2, 10)) for _ in range(7)]
        # A queryset update does not send signals: the counts are now stale.
        Report.objects.filter(pk__in=[r.pk for r in reports[:3]]).update(consent_statistics=False)
        release = services.release_publish(organisation=org, actor=None)
    assert "stale" in caplog.text
    assert release.reports_counted == 4
    assert release.payload["map"] == []  # 4 reports: below k, nowhere on the map
    assert sum(_live(org).values()) == 4


def test_the_demo_statistics_can_be_seeded_again(personas) -> None:
    from homesafe.accounts.models import Organisation
    from homesafe.stats import demo as stats_demo

    org = personas.org
    make_report(org, day=dt.date(2026, 2, 10))
    cws = [personas.caseworker, personas.admin]
    assert "release 1" in stats_demo.seed_demo(org, cws)
    assert "release 1" in stats_demo.seed_demo(org, cws)  # replaces, never piles up
    stats_demo.delete_demo(org.slug)
    Report.objects.filter(organisation=org).delete()
    from homesafe.walks.models import Walk

    Walk.objects.filter(organisation=org).delete()
    Organisation.objects.filter(pk=org.pk).delete()  # nothing protects it any more
    assert not CellMonthCount.objects.filter(organisation_id=org.pk).exists()
