"""Evidence is never deleted, so re-seeding a demo that holds some is refused, plainly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from homesafe import demo
from homesafe.accounts.models import User
from homesafe.evidence import services
from homesafe.evidence.models import EvidenceItem
from homesafe.reports.models import Report

from .conftest import png_bytes, upload_file

pytestmark = pytest.mark.django_db


def test_reseeding_a_demo_with_evidence_is_refused_and_changes_nothing(
    client: Any, settings: Any
) -> None:
    demo.seed()
    report = Report.objects.filter(organisation__slug=demo.DEMO_ORG_SLUG).first()
    assert report is not None
    caseworker = User.objects.get(email=f"aroha@{settings.DEMO_EMAIL_DOMAIN}")
    _box, token = services.dropbox_create(
        report=report, user=caseworker, expires_in=timedelta(hours=2)
    )
    upload_file(client, {"dropbox": token}, png_bytes(), filename="a.png", content_type="image/png")
    reports = Report.objects.count()

    with pytest.raises(CommandError, match="fresh data directory"):
        call_command("demo", verbosity=0)
    assert Report.objects.count() == reports
    assert EvidenceItem.objects.filter(report=report).count() == 1
