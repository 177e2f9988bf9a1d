"""Demo casework on top of the Wellington demo data."""

from __future__ import annotations

from typing import Any

import pytest

from homesafe import demo
from homesafe.accounts.models import Organisation
from homesafe.audit.services import audit_verify
from homesafe.cases.models import (
    ContactEntry,
    Incident,
    IncidentReport,
    Outcome,
    Referral,
    ReportFlag,
    Task,
)
from homesafe.cases.services import handle_one_task_reminder
from homesafe.notify.models import Notification

pytestmark = pytest.mark.django_db


def test_it_adds_realistic_casework_to_the_demo(settings: Any) -> None:
    summary = demo.seed()  # the demo calls seed_demo itself
    assert "; casework: 1 incident" in summary
    org = Organisation.objects.get(slug=demo.DEMO_ORG_SLUG)

    incident = Incident.objects.get(organisation=org)
    links = IncidentReport.objects.filter(incident=incident)
    assert sorted(links.values_list("role", flat=True)) == ["victim", "witness"]
    assert "Pride night" in incident.title
    assert Task.objects.filter(organisation=org).count() >= 6
    assert Task.objects.filter(done_at__isnull=True, due_at__lt=demo.timezone.now()).exists()
    assert ContactEntry.objects.filter(organisation=org).count() >= 5
    assert Referral.objects.filter(organisation=org).count() >= 4
    assert Outcome.objects.filter(organisation=org).count() >= 5
    assert ReportFlag.objects.filter(kind="duplicate").count() == 1
    assert ReportFlag.objects.filter(kind="troll").count() == 1
    assert audit_verify().ok
    # Due reminders go to the demo caseworkers (overdue ones were already sent).
    while handle_one_task_reminder():
        pass
    caseworkers = {f"{n}@{settings.DEMO_EMAIL_DOMAIN}" for n in ("aroha", "sam")}
    assert {n.recipient for n in Notification.objects.filter(kind="case_task_reminder")} <= (
        caseworkers
    )
    # Re-seeding the demo replaces it, casework included.
    tasks = Task.objects.count()
    demo.seed()
    assert Incident.objects.count() == 1 and Task.objects.count() == tasks
