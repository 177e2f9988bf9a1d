"""End to end in real headless Chromium: a bystander opens a drop-box link on a phone, uploads a
50 MB video through a throttled connection that drops and a page reload, and gets a receipt
that `homesafe verify` accepts; the caseworker (password and second factor) sees the item in
the case panel and hands out a drop-box link with a QR code; the reporter adds a photo on the
follow-up page. axe-core checks the three pages."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from conftest import PHONE, axe_violations, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "a long demo password"
VIDEO_BYTES = 50 * 1024 * 1024
CODE_RE = re.compile(rb"data-reference-code[^>]*>([^<]+)<")


def _video(path: Path) -> Path:
    """A real two-second H.264 MP4 (moov first), padded to 50 MB with a trailing `free` box,
    which players and the server's sniffing skip."""
    clip = path.with_suffix(".clip.mp4")
    subprocess.run(
        ["/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=duration=2:size=320x240:rate=15", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(clip)],
        check=True,
    )  # fmt: skip
    data = clip.read_bytes()
    pad = VIDEO_BYTES - len(data)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.write(struct.pack(">I", pad) + b"free")
        fh.write(os.urandom(1024) * ((pad - 8) // 1024) + b"\x00" * ((pad - 8) % 1024))
    assert path.stat().st_size == VIDEO_BYTES
    return path


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 120, 90)).save(buf, "JPEG")
    return buf.getvalue()


def _network(cdp: Any, *, offline: bool = False, upload: int = -1) -> None:
    # A phone on a so-so connection (slow enough to interrupt half-way), or no connection.
    # Playwright's own set_offline would be overridden by this session's conditions.
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 20, "downloadThroughput": -1, "uploadThroughput": upload},
    )


def _progress(page: Any) -> int:
    return int(page.locator(".ev-upload progress").first.evaluate("p => p.value"))


def _wait_progress(page: Any, at_least: int) -> None:
    page.wait_for_function(
        "n => { const p = document.querySelector('.ev-upload progress');"
        " return p && p.value >= n; }",
        arg=at_least,
        timeout=60000,
    )


def _no_axe(page: Any, where: str) -> None:
    found = axe_violations(page)
    assert not found, (where, [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found])


def test_a_bystander_uploads_a_video_through_a_drop_box_and_the_caseworker_sees_it(
    asgi_server: Any, chromium: Any, tmp_path: Path, settings: Any
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from conftest import Personas
    from homesafe.accounts.models import Organisation, Role, User
    from homesafe.accounts.services import membership_grant
    from homesafe.evidence import services
    from homesafe.evidence.models import EvidenceItem, Upload
    from homesafe.reports.models import Report

    org = Organisation.objects.create(name="Rainbow Wellington", slug="rainbow")
    caseworker = User.objects.create_user(email="cw@example.org", password=PASSWORD)
    TOTPDevice.objects.create(user=caseworker, name="phone", confirmed=True)
    membership_grant(user=caseworker, organisation=org, role=Role.CASEWORKER)
    filed = Client().post(
        "/report/",
        {"reporter_role": "victim", "organisation": "rainbow", "consent_caseworkers": "yes"},
    )
    assert filed.status_code == 201
    code = CODE_RE.search(filed.content).group(1).decode()  # type: ignore[union-attr]
    report = Report.objects.get()
    box, token = services.dropbox_create(
        report=report, user=caseworker, expires_in=timedelta(hours=24)
    )
    video = _video(tmp_path / "VID_20261129_2314.mp4")
    video_sha = hashlib.sha256(video.read_bytes()).hexdigest()

    # --- the bystander, on a phone -------------------------------------------------------
    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())  # "leave the page?" while uploading: yes
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{asgi_server.url}/drop/{token}/")
    expect(page.get_by_role("heading", name="Thank you for helping")).to_be_visible()
    expect(page.get_by_text("Your upload goes only to the caseworkers of Rainbow")).to_be_visible()
    _no_axe(page, "drop-box page")
    screenshot(page, "evidence-01-dropbox-page")

    cdp = phone.new_cdp_session(page)
    _network(cdp, upload=5 * 1024 * 1024)
    page.get_by_label("Choose photos, videos, audio or documents").set_input_files(str(video))
    page.get_by_role("button", name="Upload").click()
    progress = page.get_by_role("progressbar", name=re.compile("VID_20261129_2314.mp4"))
    expect(progress).to_be_visible()
    _wait_progress(page, 12)
    screenshot(page, "evidence-02-uploading")

    # The connection drops: the page says so, then carries on by itself when it is back.
    _network(cdp, offline=True)
    status = page.locator(".ev-upload [data-u=status]").first
    expect(status).to_contain_text("offline", timeout=15000)
    held = _progress(page)
    screenshot(page, "evidence-03-offline")
    page.wait_for_timeout(1500)
    _network(cdp, upload=5 * 1024 * 1024)
    expect(status).to_contain_text("Uploading", timeout=20000)
    _wait_progress(page, held + 5)

    # Pause holds it where it is; Resume asks the server where it stands and carries on.
    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("Paused. Press Resume to continue.")
    paused_at = _progress(page)
    page.wait_for_timeout(1000)
    assert _progress(page) == paused_at
    page.get_by_role("button", name="Resume").click()
    expect(status).to_contain_text("Uploading")
    _wait_progress(page, 45)
    assert _progress(page) > held

    # The page is reloaded half-way: the tab remembers the upload (by id only) and choosing
    # the same file again continues from the server's offset instead of starting over.
    upload_ids = page.evaluate("() => sessionStorage.getItem('homesafe.evidence.uploads')")
    assert upload_ids and video.name in upload_ids and token not in upload_ids
    page.reload()
    expect(page.get_by_text("An upload from this tab was interrupted")).to_be_visible()
    expect(page.locator("[data-pending-names]")).to_contain_text(video.name)
    screenshot(page, "evidence-04-after-reload")
    _network(cdp, upload=20 * 1024 * 1024)
    page.get_by_label("Choose photos, videos, audio or documents").set_input_files(str(video))
    page.get_by_role("button", name="Upload").click()
    row = page.locator(".ev-upload").first
    expect(row).to_have_attribute("data-resumed-from", re.compile(r"^[1-9]\d*$"))
    resumed_from = int(row.get_attribute("data-resumed-from") or 0)
    assert resumed_from >= VIDEO_BYTES * 0.3
    expect(page.locator("[data-receipt]")).to_be_visible(timeout=90000)
    expect(status).to_have_text("Received safely.")
    screenshot(page, "evidence-05-receipt")
    receipt_box = page.locator("[data-receipt]")
    assert video_sha in receipt_box.inner_text()
    assert "52,428,800 bytes" in receipt_box.inner_text() or "52428800 bytes" in (
        receipt_box.inner_text()
    )
    page.get_by_text("What does this receipt prove?").click()
    expect(page.get_by_text("homesafe verify FILE RECEIPT")).to_be_visible()
    _no_axe(page, "drop-box page with a receipt")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Save receipt").click()
    download = download_info.value
    assert download.suggested_filename == f"receipt-{video_sha[:12]}.json"
    receipt_path = tmp_path / download.suggested_filename
    download.save_as(str(receipt_path))
    receipt = json.loads(receipt_path.read_text())
    assert receipt["sha256"] == video_sha and receipt["size"] == VIDEO_BYTES
    # The uploader's own copy of the file checks out against the receipt, offline.
    checked = subprocess.run(
        [sys.executable, "-m", "homesafe.cli", "verify", str(video), str(receipt_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # After a reload the tab still shows the receipt (fetched again by this session).
    page.reload()
    expect(page.locator("[data-receipt]")).to_contain_text(video_sha)
    expect(page.locator("[data-receipt]")).to_contain_text("Sent earlier in this tab")
    expect(page.locator("[data-upload-pending]")).to_be_hidden()
    # No request carried the file's name in its address.
    assert not [u for u in requests if "VID_2026" in u]
    assert not [e for e in errors if "Failed to load resource" not in e], errors

    item = EvidenceItem.objects.get()
    assert item.sha256 == video_sha and item.dropbox_id == box.pk and item.size == VIDEO_BYTES
    # The viewing copy is made by the worker loop; run one step of it here.
    assert services.handle_one_viewing_copy()

    # --- the caseworker: password, then second factor, then the case --------------------
    desk = chromium.new_context(viewport={"width": 1280, "height": 900})
    staff = desk.new_page()
    staff.goto(f"{asgi_server.url}/case/{report.pk}/")
    staff.get_by_label("Email").fill("cw@example.org")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_label("Code from your authenticator app").fill(Personas.totp_now(caseworker))
    staff.get_by_role("button", name="Continue").click()
    row = staff.locator(f'[data-evidence-item="{item.pk}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Video")
    expect(row).to_contain_text("50.0\u00a0MB")
    expect(row).to_contain_text(video_sha[:12])
    expect(row).to_contain_text("Drop box")
    expect(row.get_by_role("link", name=re.compile("Download original"))).to_be_visible()
    _no_axe(staff, "case page with the evidence panel")
    screenshot(staff, "evidence-06-case-panel")
    # The original comes back byte for byte; the viewing copy is a playable MP4.
    with staff.expect_download() as original_info:
        row.get_by_role("link", name=re.compile("Download original")).click()
    original_path = tmp_path / "original.mp4"
    original_info.value.save_as(str(original_path))
    assert hashlib.sha256(original_path.read_bytes()).hexdigest() == video_sha
    copy_href = row.get_by_role("link", name=re.compile("View copy")).get_attribute("href")
    copy = desk.request.get(f"{asgi_server.url}{copy_href}")
    assert copy.status == 200 and copy.headers["content-type"] == "video/mp4"
    assert len(copy.body()) < VIDEO_BYTES / 10  # a re-encoded copy, not the padded original

    # A new drop-box link for 3 days, its QR code, then closing it from the list.
    staff.get_by_label("Label (only staff see it; optional)").fill("Witnesses at the rank")
    staff.get_by_label("3 days").check()
    staff.get_by_role("button", name="Create drop-box link").click()
    link = staff.locator("[data-dropbox-link]").input_value()
    assert link.startswith(f"{asgi_server.url}/drop/")
    expect(staff.get_by_role("img", name="QR code of the link")).to_be_visible()
    desk.grant_permissions(["clipboard-read", "clipboard-write"], origin=asgi_server.url)
    staff.get_by_role("button", name="Copy link").click()
    expect(staff.get_by_text("Copied.")).to_be_visible()
    assert staff.evaluate("() => navigator.clipboard.readText()") == link
    _no_axe(staff, "drop-box link page")
    screenshot(staff, "evidence-07-dropbox-created")
    staff.get_by_role("link", name="Done").click()
    boxes = staff.locator("[data-dropboxes] li")
    expect(boxes).to_have_count(2)
    expect(boxes.filter(has_text="Witnesses at the rank")).to_have_count(1)
    boxes.filter(has_text="Witnesses at the rank").get_by_role("button").click()
    expect(staff.locator("[data-dropboxes] li")).to_have_count(1)
    gone = phone.new_page()
    assert gone.goto(link).status == 404
    expect(gone.get_by_role("heading", name="This link is no longer open")).to_be_visible()
    _no_axe(gone, "closed drop-box page")
    screenshot(gone, "evidence-08-dropbox-closed")

    # --- the reporter adds a photo on the follow-up page --------------------------------
    settings.EVIDENCE_MAX_BYTES = 1024 * 1024
    reporter = chromium.new_context(**PHONE)
    mine = reporter.new_page()
    mine.goto(f"{asgi_server.url}/follow-up/")
    mine.get_by_label("Reference code").fill(code)
    mine.get_by_role("button", name="Open my report").click()
    expect(mine.get_by_role("heading", name="Add photos, video or other evidence")).to_be_visible()
    _no_axe(mine, "follow-up page with the evidence panel")
    # Several at once: a photo, a web page dressed up as a photo, and a file over the limit.
    mine.get_by_label("Choose photos, videos, audio or documents").set_input_files(
        [
            {"name": "bruise.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()},
            {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"<html><script>x</script>"},
            {"name": "long.mp4", "mimeType": "video/mp4", "buffer": b"\x00" * 1_500_000},
        ]
    )
    mine.get_by_role("button", name="Upload").click()
    rows = mine.locator(".ev-upload")
    expect(rows.nth(0).locator("[data-receipt]")).to_be_visible(timeout=30000)
    expect(rows.nth(1).get_by_role("alert")).to_contain_text("not accepted")
    expect(rows.nth(2).get_by_role("alert")).to_contain_text(
        "This file is too big. The limit is 1.0\u00a0MB per file."
    )
    _no_axe(mine, "follow-up page with a receipt")
    screenshot(mine, "evidence-09-followup-receipt")
    assert EvidenceItem.objects.filter(report=report, source="followup").count() == 1
    assert not Upload.objects.exists()  # the refused ones left nothing behind

    for context in (phone, desk, reporter):
        context.close()
