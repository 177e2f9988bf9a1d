"""The evidence pages through Django's test client: the public drop-box page, the caseworker's
evidence panel and actions, and the reporter's panels. Who sees what, and bad input saves
nothing."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
import segno
import time_machine
from django.test import Client
from django.utils import timezone
from PIL import Image

from conftest import login_verified
from homesafe.audit.models import AuditEntry
from homesafe.evidence import services
from homesafe.evidence.access import SUBMITTED_SESSION_KEY
from homesafe.evidence.models import DropBox, EvidenceItem, Upload
from homesafe.reports.models import Report

OFFSET_TYPE = "application/offset+octet-stream"
CODE_RE = re.compile(rb"data-reference-code[^>]*>([^<]+)<")
LINK_RE = re.compile(r'data-dropbox-link[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-dropbox-link')


def _file_report(client: Client, org: str = "rainbow") -> tuple[Report, str]:
    response = client.post(
        "/report/",
        {
            "reporter_role": "witness",
            "narrative": "A crowd filmed it outside the kebab shop.",
            "organisation": org,
            "consent_caseworkers": "yes",
        },
    )
    assert response.status_code == 201, response.content[:400]
    match = CODE_RE.search(response.content)
    assert match
    return Report.objects.order_by("-reported_at").first(), match.group(1).decode()  # type: ignore[return-value]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 40, 160)).save(buf, "JPEG")
    return buf.getvalue()


def _upload(client: Client, target: dict[str, Any], data: bytes, name: str = "photo.jpg") -> Any:
    """The whole protocol in one chunk; returns the final response."""
    start = client.post(
        "/api/evidence/uploads",
        {"target": target, "filename": name, "size": len(data), "content_type": "image/jpeg"},
        content_type="application/json",
    )
    assert start.status_code == 201, start.content
    upload = start.json()["upload"]
    done = client.generic(
        "PATCH",
        f"/api/evidence/uploads/{upload}",
        data,
        content_type=OFFSET_TYPE,
        headers={"Upload-Offset": "0"},
    )
    assert done.status_code == 200, done.content
    return done


def _counts() -> tuple[int, int, int]:
    return DropBox.objects.count(), EvidenceItem.objects.count(), Upload.objects.count()


def _staff(user: Any) -> Client:
    return login_verified(Client(), user)


# --- the public drop-box page ---------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_drop_box_page_to_anyone_with_a_live_link(personas: Any) -> None:
    report, _code = _file_report(Client())
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=24)
    )
    response = Client().get(f"/drop/{token}/")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert '<meta name="referrer" content="no-referrer">' in page
    assert "Thank you for helping" in page
    assert "Your upload goes only to the caseworkers of Rainbow Safety" in page
    assert "What happens to your files" in page
    # The uploader targets this drop box; the tab's storage knows it by row id, not token.
    target = re.search(r'data-target="([^"]+)"', page)
    assert target and json.loads(html.unescape(target.group(1))) == {"dropbox": token}
    assert f'data-target-key="dropbox-{box.pk}"' in page
    assert 'type="file"' in page and "multiple" in page and 'accept="image/*,video/*' in page
    assert "evidence-upload.js" in page and "evidence.css" in page
    # Nothing about the case itself reaches a bystander.
    assert "kebab" not in page and "crowd filmed" not in page and str(report.pk) not in page
    # The token appears only in the uploader's target (and nowhere as a link or a query).
    assert page.count(token) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["expired", "closed", "unknown", "malformed"])
def test_it_shows_a_friendly_404_for_links_that_no_longer_work(
    personas: Any, state: str, caplog: Any
) -> None:
    report, _code = _file_report(Client())
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=24)
    )
    if state == "closed":
        services.dropbox_close(dropbox=box, user=personas.caseworker)
    elif state == "unknown":
        token = "x" * 32
    elif state == "malformed":
        token = "short"
    # Even with Django's request logger fully on, nothing may write the path.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    with time_machine.travel(timezone.now() + timedelta(hours=25 if state == "expired" else 0)):
        response = Client().get(f"/drop/{token}/")
    assert response.status_code == 404
    assert response["Referrer-Policy"] == "no-referrer"
    page = response.content.decode()
    assert "This link is no longer open" in page and "Thank you for wanting to help" in page
    assert "data-evidence-uploader" not in page
    assert token not in page
    # The token is in the path: nothing this request logged may carry it.
    for record in caplog.records:
        assert token not in record.getMessage(), record


@pytest.mark.django_db
def test_the_drop_box_page_refuses_a_post_without_logging_the_token(
    personas: Any, caplog: Any
) -> None:
    report, _code = _file_report(Client())
    _box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=24)
    )
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    response = Client().post(f"/drop/{token}/")
    assert response.status_code == 405 and response["Referrer-Policy"] == "no-referrer"
    assert Client().get(f"/drop/{token}/").status_code == 200
    assert Client().head(f"/drop/{token}/").status_code == 200
    for record in caplog.records:
        assert token not in record.getMessage(), record


# --- the caseworker's panel -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_case_panel_lists_items_and_open_drop_boxes(personas: Any) -> None:
    report, _code = _file_report(Client())
    staff = _staff(personas.caseworker)
    done = _upload(staff, {"report": str(report.pk)}, _jpeg())
    item_id = done.json()["item"]
    open_box, _t1 = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(days=3), label="Cuba St"
    )
    shut_box, _t2 = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(days=3), label="Closed"
    )
    services.dropbox_close(dropbox=shut_box, user=personas.caseworker)

    response = staff.get(f"/case/{report.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="evidence"' in page
    item = EvidenceItem.objects.get(pk=item_id)
    row = page[page.index(f'data-evidence-item="{item_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Photo" in row and item.sha256[:12] in row and "Staff" in row
    assert "The viewing copy is being made." in row
    assert f"/case/{report.pk}/evidence/{item_id}/original/" in row
    assert "/copy/" not in row  # no viewing copy yet
    assert f'data-dropbox="{open_box.pk}"' in page and "Cuba St" in page
    assert f'data-dropbox="{shut_box.pk}"' not in page
    assert f"/case/{report.pk}/drop-boxes/{open_box.pk}/close/" in page
    assert 'name="hours" value="24"' in page and 'value="168"' in page
    target = re.search(r'data-target="([^"]+)"', page)
    assert target and json.loads(html.unescape(target.group(1))) == {"report": str(report.pk)}

    # Once the viewing copy is made, the panel links to it.
    assert services.handle_one_viewing_copy()
    page = staff.get(f"/case/{report.pk}/").content.decode()
    assert f"/case/{report.pk}/evidence/{item_id}/copy/" in page
    assert "Ready, hidden details removed" in page


@pytest.mark.django_db
def test_it_creates_a_drop_box_link_shown_once_with_its_qr_code(personas: Any) -> None:
    report, _code = _file_report(Client())
    staff = _staff(personas.caseworker)
    before = AuditEntry.objects.filter(action="evidence.dropbox_open").count()
    response = staff.post(
        f"/case/{report.pk}/drop-boxes/", {"hours": "72", "label": "Witnesses at the rank"}
    )
    assert response.status_code == 201
    assert response["Referrer-Policy"] == "no-referrer"
    page = response.content.decode()
    link = next(g for g in LINK_RE.search(page).groups() if g)  # type: ignore[union-attr]
    assert link.startswith("http://testserver/drop/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert "<svg" in page and 'role="img"' in page
    # The QR code is the link itself (segno is deterministic), drawn in the page: no image
    # address could carry the token anywhere.
    assert segno.make(link, error="m").svg_inline(scale=5, border=2, omitsize=True) in page
    assert "only time the link is shown" in page
    box = DropBox.objects.get()
    assert box.report_id == report.pk and box.label == "Witnesses at the rank"
    assert abs((box.expires_at - timezone.now()) - timedelta(hours=72)) < timedelta(minutes=1)
    assert token not in box.token_hash
    assert AuditEntry.objects.filter(action="evidence.dropbox_open").count() == before + 1
    # The link works for a stranger, and the case page never shows it again.
    assert Client().get(f"/drop/{token}/").status_code == 200
    assert token not in staff.get(f"/case/{report.pk}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hours": "5"}, "Choose how long the link should work."),
        ({"hours": "abc"}, "Choose how long the link should work."),
        ({}, "Choose how long the link should work."),
        ({"hours": "24", "label": "x" * 101}, "at most 100 characters"),
        ({"hours": "24", "label": "two\nlines"}, "one line"),
    ],
)
def test_it_refuses_bad_drop_box_requests_and_saves_nothing(
    personas: Any, data: dict[str, str], message: str
) -> None:
    report, _code = _file_report(Client())
    staff = _staff(personas.caseworker)
    before = _counts()
    response = staff.post(f"/case/{report.pk}/drop-boxes/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("stranger", 404),
        ("member", 404),
        ("police", 404),
        ("other_caseworker", 404),
        ("unverified_caseworker", 302),
    ],
)
def test_only_the_reports_verified_staff_create_or_close_drop_boxes(
    personas: Any, who: str, expected: int
) -> None:
    report, _code = _file_report(Client())
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=24)
    )
    client = Client()
    if who == "unverified_caseworker":
        client.force_login(personas.caseworker)
    elif who != "anonymous":
        login_verified(client, getattr(personas, who))
    before = _counts()
    created = client.post(f"/case/{report.pk}/drop-boxes/", {"hours": "24"})
    closed = client.post(f"/case/{report.pk}/drop-boxes/{box.pk}/close/")
    assert created.status_code == expected and closed.status_code == expected
    if expected == 302:
        assert "/account/" in created["Location"] and "/account/" in closed["Location"]
    assert _counts() == before
    box.refresh_from_db()
    assert box.closed_at is None
    assert Client().get(f"/drop/{token}/").status_code == 200


@pytest.mark.django_db
def test_a_caseworker_closes_a_drop_box_of_their_report_only(personas: Any) -> None:
    report, _code = _file_report(Client())
    other_report, _code2 = _file_report(Client())
    box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=24)
    )
    staff = _staff(personas.caseworker)
    # Through another report's address: not found, still open.
    assert staff.post(f"/case/{other_report.pk}/drop-boxes/{box.pk}/close/").status_code == 404
    assert staff.post(f"/case/{report.pk}/drop-boxes/not-a-uuid/close/").status_code == 404
    assert staff.get(f"/case/{report.pk}/drop-boxes/{box.pk}/close/").status_code == 405
    assert Client().get(f"/drop/{token}/").status_code == 200
    response = staff.post(f"/case/{report.pk}/drop-boxes/{box.pk}/close/")
    assert response.status_code == 302
    assert response["Location"] == f"/case/{report.pk}/#evidence"
    box.refresh_from_db()
    assert box.closed_at is not None
    assert Client().get(f"/drop/{token}/").status_code == 404
    assert AuditEntry.objects.filter(action="evidence.dropbox_close").count() == 1


@pytest.mark.django_db
def test_staff_view_the_copy_and_download_the_original_each_audited(personas: Any) -> None:
    report, _code = _file_report(Client())
    other_report, _code2 = _file_report(Client())
    staff = _staff(personas.caseworker)
    original = _jpeg()
    item_id = _upload(staff, {"report": str(report.pk)}, original).json()["item"]
    base = f"/case/{report.pk}/evidence/{item_id}"

    def custody(action: str) -> int:
        return AuditEntry.objects.filter(object_id=item_id, action=f"evidence.{action}").count()

    # Not made yet: a 404, and the attempt is in the custody trail all the same.
    assert staff.get(f"{base}/copy/").status_code == 404
    assert custody("viewing_copy") == 1
    assert services.handle_one_viewing_copy()

    response = staff.get(f"{base}/original/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == original  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment;")
    assert custody("download") == 1
    copy = staff.get(f"{base}/copy/")
    assert copy.status_code == 200 and copy["Content-Type"] == "image/jpeg"
    assert copy["Content-Disposition"].startswith("inline;")
    assert "sandbox" in copy["Content-Security-Policy"]
    with Image.open(io.BytesIO(b"".join(copy.streaming_content))) as img:  # type: ignore[attr-defined]
        assert img.size == (64, 48)
    assert custody("viewing_copy") == 2

    # Another report's address, other organisations' staff, strangers: nothing, no entry.
    assert staff.get(f"/case/{other_report.pk}/evidence/{item_id}/original/").status_code == 404
    for user in (personas.other_caseworker, personas.stranger, personas.police):
        client = _staff(user)
        assert client.get(f"{base}/original/").status_code == 404
        assert client.get(f"{base}/copy/").status_code == 404
    assert Client().get(f"{base}/original/").status_code == 302
    assert custody("download") == 1 and custody("viewing_copy") == 2


# --- the reporter's panels ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_submitted_page_lets_this_session_add_evidence_to_its_report(personas: Any) -> None:
    client = Client()
    report, _code = _file_report(client)
    assert client.session[SUBMITTED_SESSION_KEY]["id"] == str(report.pk)
    page = client.post(
        "/report/", {"reporter_role": "witness", "organisation": "rainbow"}
    ).content.decode()
    second = Report.objects.order_by("-reported_at").first()
    assert second is not None and second.pk != report.pk
    # The session now knows the newest report only.
    assert client.session[SUBMITTED_SESSION_KEY]["id"] == str(second.pk)
    assert "Add photos, video or other evidence" in page
    target = re.search(r'data-target="([^"]+)"', page)
    assert target and json.loads(html.unescape(target.group(1))) == {"submitted": True}
    assert str(second.pk) not in page

    done = _upload(client, {"submitted": True}, _jpeg())
    item = EvidenceItem.objects.get(pk=done.json()["item"])
    assert item.report_id == second.pk and item.source == "submitted"
    assert done.json()["receipt"]["sha256"] == item.sha256
    # Its receipt can be fetched again by this session (the uploader shows it after a reload).
    assert client.get(f"/api/evidence/receipts/{item.pk}").status_code == 200

    # A browser that submitted nothing cannot use the "submitted" target.
    before = _counts()
    refused = Client().post(
        "/api/evidence/uploads",
        {"target": {"submitted": True}, "filename": "a.jpg", "size": 10},
        content_type="application/json",
    )
    assert refused.status_code == 404 and _counts() == before


@pytest.mark.django_db
def test_the_follow_up_page_offers_the_uploader_for_the_unlocked_report(personas: Any) -> None:
    report, code = _file_report(Client())
    client = Client()
    assert "data-evidence-uploader" not in client.get("/follow-up/").content.decode()
    response = client.post("/follow-up/", {"code": code}, follow=True)
    page = response.content.decode()
    assert "Add photos, video or other evidence" in page
    assert "go only to the caseworkers of Rainbow Safety" in page
    target = re.search(r'data-target="([^"]+)"', page)
    assert target and json.loads(html.unescape(target.group(1))) == {"followup": True}
    done = _upload(client, {"followup": True}, _jpeg())
    item = EvidenceItem.objects.get(pk=done.json()["item"])
    assert item.report_id == report.pk and item.source == "followup"

    # After "Close this report on this device" the follow-up target is gone.
    client.post("/follow-up/forget/")
    before = _counts()
    refused = client.post(
        "/api/evidence/uploads",
        {"target": {"followup": True}, "filename": "a.jpg", "size": 10},
        content_type="application/json",
    )
    assert refused.status_code == 404 and _counts() == before
