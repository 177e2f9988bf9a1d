"""Who may do what with evidence: drop-box tokens only upload, closed or expired boxes are
gone, other organisations and other reporters see a 404, every read joins the custody trail."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from homesafe.evidence import selectors, services
from homesafe.evidence.access import access_dropbox_by_token
from homesafe.evidence.models import DropBox, EvidenceItem
from homesafe.evidence.tests.conftest import (
    API,
    CHUNK,
    begin,
    jpeg_with_gps,
    make_report,
    send,
    stored_counts,
    upload_file,
)


@pytest.fixture
def item(client: Any, dropbox_token: str) -> EvidenceItem:
    from django.test import Client

    done = upload_file(Client(), {"dropbox": dropbox_token}, jpeg_with_gps())
    services.handle_one_viewing_copy()
    return EvidenceItem.objects.get(pk=done["item"])


ITEM_URLS = ["/items/{id}", "/items/{id}/original", "/items/{id}/view", "/receipts/{id}"]


def test_a_dropbox_token_only_uploads(
    client: Any, dropbox_token: str, item: EvidenceItem, report: Any
) -> None:
    # This browser holds the token and has uploaded something itself, but may not read others'.
    upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps((12, 12)))
    for url in ITEM_URLS:
        assert client.get(API + url.format(id=item.pk)).status_code == 404, url
    assert client.get(f"{API}/reports/{report.pk}/items").status_code == 401
    assert (
        client.post(
            f"{API}/reports/{report.pk}/dropboxes", {}, content_type="application/json"
        ).status_code
        == 401
    )
    # The token is no report id, and no key to anything else.
    assert begin(client, {"report": dropbox_token}, 100).status_code == 404


def test_expired_and_closed_dropboxes_are_404(client: Any, report: Any, personas: Any) -> None:
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=1)
    )
    assert access_dropbox_by_token(token) == box
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": token}, data).json()["upload"]
    assert send(client, upload, 0, data[:CHUNK]).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert begin(client, {"dropbox": token}, 100).status_code == 404
        # ... and an upload begun before the box expired cannot go on after it.
        assert send(client, upload, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 404
    before = stored_counts()
    services.dropbox_close(dropbox=box, user=personas.caseworker)
    assert begin(client, {"dropbox": token}, 100).status_code == 404
    # An upload in flight through a closed box is dropped with its bytes.
    assert send(client, upload, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 404
    after = stored_counts()
    assert after["uploads"] == before["uploads"] - 1 and after["files"] == before["files"] - 1
    for bad in ("", "x", "not-a-token-at-all-but-long-enough", "A" * 500):
        assert begin(client, {"dropbox": bad}, 100).status_code == 404
    assert begin(client, {}, 100).status_code == 404
    assert begin(client, {"followup": True}, 100).status_code == 404
    assert begin(client, {"submitted": True}, 100).status_code == 404


def test_staff_of_another_organisation_get_404(
    client: Any, item: EvidenceItem, personas: Any, verified_login: Any, report: Any
) -> None:
    verified_login(client, personas.other_caseworker)
    for url in ITEM_URLS:
        assert client.get(API + url.format(id=item.pk)).status_code == 404, url
    assert client.get(f"{API}/reports/{report.pk}/items").status_code == 404
    assert begin(client, {"report": str(report.pk)}, 100).status_code == 404
    box = DropBox.objects.get()
    assert client.post(f"{API}/dropboxes/{box.pk}/close").status_code == 404
    assert DropBox.objects.get().closed_at is None


@pytest.mark.parametrize("role", ["member", "volunteer", "police", "stranger"])
def test_other_roles_get_404(
    client: Any, item: EvidenceItem, personas: Any, verified_login: Any, role: str
) -> None:
    verified_login(client, getattr(personas, role))
    for url in ITEM_URLS:
        assert client.get(API + url.format(id=item.pk)).status_code == 404, url


def test_an_unverified_caseworker_gets_404(client: Any, item: EvidenceItem, personas: Any) -> None:
    client.force_login(personas.caseworker)
    assert client.get(f"{API}/items/{item.pk}/original").status_code == 404


def test_staff_list_open_and_close_dropboxes_and_every_read_is_custody(
    client: Any, item: EvidenceItem, personas: Any, verified_login: Any, report: Any
) -> None:
    verified_login(client, personas.caseworker)
    listed = client.get(f"{API}/reports/{report.pk}/items").json()
    assert [row["id"] for row in listed] == [str(item.pk)]
    assert listed[0]["sha256"] == item.sha256 and listed[0]["viewing_copy"] is True
    client.get(f"{API}/items/{item.pk}")
    b"".join(client.get(f"{API}/items/{item.pk}/original").streaming_content)
    b"".join(client.get(f"{API}/items/{item.pk}/view").streaming_content)
    trail = selectors.custody_trail(item)
    assert [e["action"] for e in trail] == ["received", "view", "download", "viewing_copy"]
    assert all(e["actor_id"] == personas.caseworker.pk for e in trail[1:])
    summary = selectors.report_evidence_summary(report)
    assert summary[0]["sha256"] == item.sha256 and len(summary[0]["custody"]) == 4
    opened = client.post(
        f"{API}/reports/{report.pk}/dropboxes",
        {"expires_in_hours": 5},
        content_type="application/json",
    )
    assert opened.status_code == 201 and opened.json()["link"].startswith("/drop/")
    token = opened.json()["token"]
    assert access_dropbox_by_token(token).report_id == report.pk
    closed = client.post(f"{API}/dropboxes/{opened.json()['id']}/close")
    assert closed.status_code == 200 and closed.json()["closed_at"]
    assert begin(client, {"dropbox": token}, 100).status_code == 404
    bad = client.post(
        f"{API}/reports/{report.pk}/dropboxes",
        {"expires_in_hours": 0},
        content_type="application/json",
    )
    assert bad.status_code == 422


def test_the_reporter_sees_only_their_own_report(client: Any, personas: Any, report: Any) -> None:
    other = make_report(personas.org, narrative="Another one.")
    session = client.session
    session["homesafe_followup"] = {"id": str(report.pk), "at": time.time()}
    session.save()
    mine = upload_file(client, {"followup": True}, jpeg_with_gps())
    box, token = services.dropbox_create(
        report=other, user=personas.caseworker, expires_in=timedelta(hours=1)
    )
    from django.test import Client

    theirs = upload_file(Client(), {"dropbox": token}, jpeg_with_gps())
    assert client.get(f"{API}/items/{mine['item']}").status_code == 200
    for url in ITEM_URLS:
        assert client.get(API + url.format(id=theirs["item"])).status_code == 404, url
    # The follow-up session times out like the page does.
    session = client.session
    session["homesafe_followup"] = {"id": str(report.pk), "at": time.time() - 3600}
    session["evidence.receipts"] = []
    session.save()
    assert client.get(f"{API}/items/{mine['item']}").status_code == 404
    assert begin(client, {"followup": True}, 100).status_code == 404


def test_the_report_author_logged_in_sees_their_items(client: Any, personas: Any) -> None:
    from homesafe.reports.models import Report

    report = make_report(personas.org, narrative="Mine.")
    Report.objects.filter(pk=report.pk).update(reporter_user=personas.member)
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=1)
    )
    from django.test import Client

    done = upload_file(Client(), {"dropbox": token}, jpeg_with_gps())
    client.force_login(personas.member)
    assert client.get(f"{API}/items/{done['item']}").status_code == 200
    client.force_login(personas.stranger)
    assert client.get(f"{API}/items/{done['item']}").status_code == 404


def test_writes_need_the_csrf_token(report: Any, dropbox_token: str) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert begin(strict, {"dropbox": dropbox_token}, 100).status_code == 403
    from django.conf import settings

    strict.get("/report/")  # a page with a form sets the CSRF cookie
    token = strict.cookies.get(settings.CSRF_COOKIE_NAME)
    if token is None:
        pytest.fail("no CSRF cookie from the home page")
    response = strict.post(
        f"{API}/uploads",
        data={
            "target": {"dropbox": dropbox_token},
            "filename": "a.jpg",
            "size": 10,
            "content_type": "image/jpeg",
        },
        content_type="application/json",
        headers={"X-CSRFToken": token.value},
    )
    assert response.status_code == 201


def test_an_export_joins_every_items_custody_trail(
    item: EvidenceItem, personas: Any, report: Any
) -> None:
    summary = services.report_evidence_export(report=report, actor=personas.caseworker)
    assert [row["item"] for row in summary] == [str(item.pk)]
    assert [e["action"] for e in summary[0]["custody"]] == ["received", "export"]
    assert summary[0]["custody"][-1]["actor_id"] == personas.caseworker.pk


def test_one_address_can_start_only_so_many_uploads_without_an_account(
    client: Any, dropbox_token: str, settings: Any
) -> None:
    settings.RATELIMIT_ENABLE = True
    settings.RATE_EVIDENCE_START = "3/h"
    target = {"dropbox": dropbox_token}
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(3):
            assert begin(client, target, 1000).status_code == 201
        before = stored_counts()
        refused = begin(client, target, 1000)
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert stored_counts() == before
        # Another address has its own allowance.
        other = client.post(
            "/api/evidence/uploads",
            data=json.dumps(
                {"target": target, "filename": "a.jpg", "size": 1000, "content_type": "image/jpeg"}
            ),
            content_type="application/json",
            REMOTE_ADDR="198.51.100.7",
        )
        assert other.status_code == 201
