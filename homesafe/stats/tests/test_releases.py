"""Releases against the real database: consent, snapshots, the privacy-budget ledger, caching."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from homesafe.reports.services import report_consent_change
from homesafe.stats import engine, services
from homesafe.stats.models import PrivacyBudgetEntry, StatsRelease
from homesafe.stats.tests.factories import make_report

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
FEB = dt.date(2026, 2, 10)


def _total(release: StatsRelease, month: str) -> int:
    return release.payload["series"]["total"]["all"][month]


def test_it_counts_only_consented_reports_and_a_revoked_consent_leaves_the_next_release(
    personas,
) -> None:
    org = personas.org
    with time_machine.travel(NOW, tick=False):
        consented = [make_report(org, day=FEB) for _ in range(7)]
        for _ in range(3):
            make_report(org, day=FEB, consent=False)
        first = services.release_publish(organisation=org, actor=personas.admin)
        assert first.reports_counted == 7
        assert _total(first, "2026-02") == 5  # 7, rounded to a multiple of k=5
        for report in consented[:3]:
            report_consent_change(
                report=report,
                consent_caseworkers=True,
                consent_police="none",
                consent_statistics=False,
            )
        second = services.release_publish(organisation=org, actor=personas.admin)
    assert second.number == 2 and second.reports_counted == 4
    assert _total(second, "2026-02") == 0  # 4 left: fewer than k
    # The earlier release is a stored snapshot: it does not change afterwards.
    first.refresh_from_db()
    assert _total(first, "2026-02") == 5
    for release in (first, second):
        assert all(v % 5 == 0 for v in engine.published_values(release.payload))


def test_it_never_publishes_a_month_finer_than_a_month(personas) -> None:
    with time_machine.travel(NOW, tick=False):
        make_report(personas.org, day=FEB)
        release = services.release_publish(organisation=personas.org, actor=None)
    months = release.payload["months"]
    assert months[-1] == "2026-02" and len(months) == 24
    assert all(len(m) == 7 for m in months)  # YYYY-MM, nothing finer


def test_it_refuses_a_release_that_would_exceed_the_yearly_budget(
    personas, client, verified_login
) -> None:
    org = personas.org
    services.stats_settings_update(
        organisation=org, actor=personas.admin, release_epsilon=1.5, yearly_epsilon_budget=4.0
    )
    with time_machine.travel(NOW, tick=False):
        for _ in range(20):
            make_report(org, day=FEB)
        services.release_publish(organisation=org, actor=personas.admin)
        services.release_publish(organisation=org, actor=personas.admin)
        assert services.budget_spent(org, 2026) == pytest.approx(3.0)
        with pytest.raises(services.BudgetExceeded):
            services.release_publish(organisation=org, actor=personas.admin)
        assert StatsRelease.objects.filter(organisation=org).count() == 2
        assert PrivacyBudgetEntry.objects.filter(organisation=org).count() == 2
        # Through the dashboard: a clear 409 and nothing half-saved.
        verified_login(client, personas.admin)
        response = client.post(reverse("stats:publish"), {"org": org.slug})
        assert response.status_code == 409
        assert b"privacy budget" in response.content
        assert StatsRelease.objects.filter(organisation=org).count() == 2
        assert PrivacyBudgetEntry.objects.filter(organisation=org).count() == 2
        # A non-DP release spends nothing and is not refused.
        services.release_publish(organisation=org, actor=personas.admin, epsilon=None)
    assert PrivacyBudgetEntry.objects.filter(organisation=org).count() == 2
    # A new year, a new budget.
    with time_machine.travel(dt.datetime(2027, 1, 20, tzinfo=dt.UTC), tick=False):
        services.release_publish(organisation=org, actor=personas.admin)
    assert PrivacyBudgetEntry.objects.filter(organisation=org, year=2027).count() == 1


def test_it_puts_noise_in_dp_releases(personas) -> None:
    org = personas.org
    with time_machine.travel(NOW, tick=False):
        for i in range(60):
            make_report(org, day=FEB - dt.timedelta(days=31 * (i % 6)))
        exact = services.release_publish(organisation=org, actor=None, epsilon=None)
        noisy = services.release_publish(organisation=org, actor=None, epsilon=0.5)
    assert noisy.epsilon == 0.5 and noisy.budget_entry.epsilon == 0.5
    exact_values = engine.published_values(exact.payload)
    noisy_values = engine.published_values(noisy.payload)
    assert all(v % 5 == 0 for v in noisy_values)
    assert exact_values != noisy_values
    assert noisy.payload["medians"] == {"police_contact_hours": None, "accept_minutes": None}


def test_it_refuses_bad_epsilon_and_leaves_nothing(personas) -> None:
    for bad in (0.0, -1.0, 50.0):
        with pytest.raises(services.DomainError):
            services.release_publish(organisation=personas.org, actor=None, epsilon=bad)
    assert StatsRelease.objects.count() == 0


def test_it_serves_the_public_page_from_the_cache_per_release(
    personas, client, django_assert_max_num_queries
) -> None:
    org = personas.org
    with time_machine.travel(NOW, tick=False):
        for _ in range(12):
            make_report(org, day=FEB)
        services.release_publish(organisation=org, actor=None)
        url = reverse("stats:public", args=[org.slug])
        first = client.get(url)
        assert first.status_code == 200
        assert b"<svg" in first.content and b"Show as a table" in first.content
        # New reports do not show until the next release; the cached page is served.
        for _ in range(10):
            make_report(org, day=FEB)
        with django_assert_max_num_queries(0):
            again = client.get(url)
        assert again.content == first.content
        services.release_publish(organisation=org, actor=None)
        fresh = client.get(url)
    assert fresh.content != first.content
    assert b"Release 2" in fresh.content


def test_it_answers_bad_public_filters_with_a_400(personas, client) -> None:
    with time_machine.travel(NOW, tick=False):
        make_report(personas.org, day=FEB)
        services.release_publish(organisation=personas.org, actor=None)
        url = reverse("stats:public", args=[personas.org.slug])
        assert client.get(url, {"dimension": "narrative"}).status_code == 400
        assert client.get(url, {"period": "2026-02-10"}).status_code == 400
        assert client.get(url, {"dimension": "venue_type", "period": "2026"}).status_code == 200
    assert client.get(reverse("stats:public", args=["nope"])).status_code == 404
    assert client.get(reverse("stats:public", args=[personas.other_org.slug])).status_code == 404


def test_it_keeps_the_public_csv_to_multiples_of_k(personas, client) -> None:
    with time_machine.travel(NOW, tick=False):
        for i in range(23):
            make_report(personas.org, day=FEB, bias=("gay", "transgender")[: 1 + i % 2])
        services.release_publish(organisation=personas.org, actor=None)
        response = client.get(reverse("stats:public_csv", args=[personas.org.slug]))
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()[1:]
    values = [int(line.rsplit(",", 1)[1]) for line in lines]
    assert values and all(v % 5 == 0 for v in values)


def test_the_monthly_loop_publishes_once_a_new_month_is_complete(personas) -> None:
    from homesafe.common.loops import registered_loops

    assert "stats-monthly-release" in registered_loops()
    org = personas.org
    with time_machine.travel(NOW, tick=False):
        for _ in range(6):
            make_report(org, day=dt.date(2026, 3, 2))
        assert services.handle_one_monthly_release() is False  # never published: not opted in
        services.release_publish(organisation=org, actor=None)
        assert services.handle_one_monthly_release() is False  # February is covered
    with time_machine.travel(dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC), tick=False):
        assert services.handle_one_monthly_release() is True
        assert services.handle_one_monthly_release() is False
        with pytest.raises(services.NotDue):
            services.release_publish(organisation=org, actor=None, only_if_due=True)
    latest = StatsRelease.objects.filter(organisation=org).order_by("-number").first()
    assert latest is not None and latest.number == 2 and latest.last_month == "2026-03"
    assert _total(latest, "2026-03") == 5
    # An organisation publishing with differential privacy is left to a person.
    services.stats_settings_update(organisation=org, actor=None, release_epsilon=1.0)
    with time_machine.travel(dt.datetime(2026, 5, 2, 12, tzinfo=dt.UTC), tick=False):
        assert services.handle_one_monthly_release() is False


def test_it_leaves_duplicates_and_trolls_out_until_the_mark_is_cleared(personas, caplog) -> None:
    from homesafe.cases import services as cases

    org = personas.org
    with time_machine.travel(NOW, tick=False):
        reports = [make_report(org, day=FEB) for _ in range(8)]
        cases.report_mark_duplicate(
            report=reports[0], original=reports[1], user=personas.caseworker
        )
        troll = cases.report_mark_troll(
            report=reports[2], user=personas.caseworker, reason="Copied from a forum post"
        )
        cases.report_mark_troll(
            report=reports[3], user=personas.caseworker, reason="Same text as spam"
        )
        first = services.release_publish(organisation=org, actor=None)
        assert first.reports_counted == 5
        assert [r["value"] for r in first.payload["map"]] == [5]
        cases.report_flag_clear(flag=troll, user=personas.caseworker)
        second = services.release_publish(organisation=org, actor=None)
    assert second.reports_counted == 6
    assert "stale" not in caplog.text  # the per-cell counts agreed with the reports
    assert _total(second, "2026-02") == 5 and [r["value"] for r in second.payload["map"]] == [5]
