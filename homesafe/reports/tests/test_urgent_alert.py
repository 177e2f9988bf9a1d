"""Urgent reports alert the on-call caseworker by email (real SMTP on loopback): at submission
and when triage raises the priority to urgent. The email links to the case, nothing more."""

from __future__ import annotations

import json
from typing import Any

from homesafe.notify.models import Notification
from homesafe.notify.services import handle_one_notification
from homesafe.reports import services
from homesafe.reports.tests.test_police_liaison import submit
from homesafe.walks.models import WalkSettings

NARRATIVE = "He broke my arm outside the bar on Cuba Street."


def deliver_all() -> int:
    sent = 0
    while handle_one_notification():
        sent += 1
    return sent


def bodies(smtp_server: Any) -> list[str]:
    return [m.get_payload(decode=True).decode() for m in smtp_server.messages]


def test_it_emails_the_oncall_caseworker_when_an_urgent_report_arrives(
    client: Any, personas: Any, smtp_server: Any, settings: Any
) -> None:
    settings.HOMESAFE_BASE_URL = "https://homesafe.example.org"
    WalkSettings.objects.create(organisation=personas.org, oncall=personas.admin)
    response = client.post(
        "/api/reports",
        data=json.dumps({"reporter_role": "victim", "organisation": personas.org.slug,
                         "injuries": "hospitalised", "narrative": NARRATIVE,
                         "place_text": "Cuba Street"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    row = Notification.objects.get(kind="report_urgent")
    assert row.recipient == personas.admin.email
    assert deliver_all() == 1
    assert [m["To"] for m in smtp_server.messages] == [personas.admin.email]
    message = smtp_server.messages[0]
    report_id = str(row.idempotency_key.split(":")[1])
    body = bodies(smtp_server)[0]
    assert f"https://homesafe.example.org/case/{report_id}/" in body
    for secret in (NARRATIVE, "Cuba Street", "arm", "hospital"):
        assert secret not in body and secret not in str(message["Subject"])
    assert smtp_server.header_values("X-Homesafe-Idempotency-Key") == [row.idempotency_key]


def test_it_falls_back_to_the_organisations_caseworkers(
    personas: Any, smtp_server: Any
) -> None:
    submit(personas.org, injuries="hospitalised")
    assert deliver_all() == 1
    # No on-call set: the organisation's caseworkers, not its admin, liaison or other orgs.
    assert [m["To"] for m in smtp_server.messages] == [personas.caseworker.email]


def test_it_does_not_alert_for_reports_caseworkers_may_not_read(
    personas: Any, smtp_server: Any
) -> None:
    submit(personas.org, injuries="hospitalised", consent_caseworkers=False)
    submit(personas.org, incident_types=["physical_assault"])  # high, not urgent
    assert Notification.objects.count() == 0


def test_it_alerts_when_triage_raises_a_report_to_urgent(
    client: Any, personas: Any, verified_login: Any, smtp_server: Any
) -> None:
    WalkSettings.objects.create(organisation=personas.org, oncall=personas.caseworker)
    report, _code = submit(personas.org, narrative=NARRATIVE)
    assert Notification.objects.count() == 0
    verified_login(client, personas.admin)
    raise_it = {"status": "triaged", "priority": "urgent"}
    assert client.post(f"/case/{report.pk}/update/", raise_it).status_code == 302
    # Saving again without a change alerts nobody twice.
    assert client.post(f"/case/{report.pk}/update/", raise_it).status_code == 302
    assert Notification.objects.filter(kind="report_urgent").count() == 1
    # Lowered, then raised again: a new raise, a new alert (over the API this time).
    services.report_update(report=report, user=personas.admin, priority="high")
    patched = client.patch(f"/api/case/reports/{report.pk}", data=json.dumps(
        {"priority": "urgent"}), content_type="application/json")
    assert patched.status_code == 200
    assert Notification.objects.filter(kind="report_urgent").count() == 2
    assert deliver_all() == 2
    assert [m["To"] for m in smtp_server.messages] == [personas.caseworker.email] * 2
    for body in bodies(smtp_server):
        assert f"/case/{report.pk}/" in body and NARRATIVE not in body


def test_it_queues_one_alert_per_raise_whatever_the_retries(personas: Any) -> None:
    report, _code = submit(personas.org, injuries="hospitalised")
    services._alert_urgent(report, occasion="submitted")  # as if the step ran again
    assert Notification.objects.filter(kind="report_urgent").count() == 1


def test_a_backdated_import_pages_nobody(personas: Any) -> None:
    """The demo's two years of history (reported_at given) must not page the on-call worker."""
    import datetime as dt

    from django.utils import timezone

    from homesafe.reports.schemas import ReportIn

    WalkSettings.objects.create(organisation=personas.org, oncall=personas.admin)
    data = ReportIn.model_validate(
        {"reporter_role": "victim", "organisation": personas.org.slug, "injuries": "hospitalised"}
    )
    submitted = services.report_submit(
        data=data, reported_at=timezone.now() - dt.timedelta(days=200)
    )
    assert submitted.report.priority == "urgent"
    assert not Notification.objects.filter(kind="report_urgent").exists()
