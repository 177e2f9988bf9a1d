"""The upload protocol end to end over the Django test client: chunks, resume, receipts,
byte-identical originals, encryption at rest and metadata-free viewing copies."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from typing import Any

import pytest
from PIL import Image

from homesafe.audit.services import audit_verify
from homesafe.evidence import selectors, services, storage
from homesafe.evidence.access import SUBMITTED_SESSION_KEY, remember_submitted
from homesafe.evidence.models import EvidenceItem, Upload, ViewingCopy
from homesafe.evidence.tests.conftest import (
    API,
    CHUNK,
    begin,
    jpeg_with_gps,
    png_bytes,
    send,
    sha_b64,
    stored_counts,
    upload_file,
)


def test_it_takes_a_photo_through_a_drop_box_and_gives_a_receipt(
    client: Any, dropbox_token: str
) -> None:
    data = jpeg_with_gps((900, 700), noise=True)
    assert len(data) > 3 * CHUNK
    done = upload_file(client, {"dropbox": dropbox_token}, data)
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.sha256 == hashlib.sha256(data).hexdigest() == done["receipt"]["sha256"]
    assert item.size == len(data) and item.kind == "photo" and item.mime == "image/jpeg"
    assert item.source == "dropbox"
    assert item.filename == "clip.jpg"
    assert item.storage_name not in ("clip.jpg",) and "clip" not in item.storage_name
    receipt = done["receipt"]
    assert receipt["version"] == 1 and receipt["leaf_index"] == 0 and receipt["tree_size"] >= 1
    # The uploader's session may fetch the receipt again; nothing else about the item.
    again = client.get(f"{API}/receipts/{item.pk}")
    assert again.status_code == 200 and again.json()["sha256"] == item.sha256
    assert client.get(f"{API}/items/{item.pk}").status_code == 404
    assert client.get(f"{API}/items/{item.pk}/original").status_code == 404
    assert Upload.objects.count() == 0


def test_it_stores_originals_encrypted_and_serves_them_byte_identical(
    client: Any, report: Any, personas: Any, verified_login: Any
) -> None:
    data = jpeg_with_gps((800, 600), noise=True)
    verified_login(client, personas.caseworker)
    done = upload_file(client, {"report": str(report.pk)}, data, chunk=2 * CHUNK)
    item = EvidenceItem.objects.get(pk=done["item"])
    on_disk = storage.store_path(item.storage_name).read_bytes()
    assert data[:4096] not in on_disk and data[-4096:] not in on_disk
    assert len(on_disk) == storage.disk_size(len(data))
    response = client.get(f"{API}/items/{item.pk}/original")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == item.sha256 and body == data
    trail = [e["action"] for e in selectors.custody_trail(item)]
    assert trail == ["received", "download"]
    assert audit_verify().ok


def test_it_strips_exif_and_gps_from_the_viewing_copy_and_keeps_them_for_the_caseworker(
    client: Any, report: Any, personas: Any, verified_login: Any
) -> None:
    data = jpeg_with_gps((320, 240))
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    verified_login(client, personas.caseworker)
    done = upload_file(client, {"report": str(report.pk)}, data)
    assert services.handle_one_viewing_copy() is True
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.viewing_status == ViewingCopy.READY and item.viewing_mime == "image/jpeg"
    response = client.get(f"{API}/items/{item.pk}/view")
    assert response.status_code == 200
    copy = b"".join(response.streaming_content)
    img = Image.open(io.BytesIO(copy))
    assert img.size == (320, 240)
    exif = img.getexif()
    assert len(exif) == 0 and not exif.get_ifd(0x8825)
    assert "exif" not in img.info and b"Exif" not in copy[:4096] and b"iPhone" not in copy
    detail = client.get(f"{API}/items/{item.pk}").json()
    assert detail["metadata"]["gps"]["lat"] == pytest.approx(-41.2916667, abs=1e-6)
    assert detail["metadata"]["gps"]["lon"] == pytest.approx(174.7805556, abs=1e-6)
    assert detail["metadata"]["device"] == "Apple iPhone 15"
    assert detail["metadata"]["captured_at"] == "2026:11:28 23:41:07"
    assert [e["action"] for e in detail["custody"]][-1] == "view"
    # The metadata is encrypted at rest: the raw column holds no coordinates.
    raw = EvidenceItem.objects.filter(pk=item.pk).values_list("metadata", flat=True).get()
    assert b"174.78" not in raw.blob and b"iPhone" not in raw.blob


def test_it_keeps_transparency_as_png(client: Any, dropbox_token: str) -> None:
    done = upload_file(
        client, {"dropbox": dropbox_token}, png_bytes(), filename="a.png", content_type="image/png"
    )
    services.handle_one_viewing_copy()
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.viewing_status == ViewingCopy.READY and item.viewing_mime == "image/png"


def test_it_resumes_after_a_dropped_connection(client: Any, dropbox_token: str) -> None:
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    assert send(client, upload, 0, data[:CHUNK]).json() == {"offset": CHUNK}
    # The connection drops mid-chunk: the client asks where to resume.
    status = client.get(f"{API}/uploads/{upload}")
    assert status.json() == {"offset": CHUNK, "size": len(data)}
    head = client.head(f"{API}/uploads/{upload}")
    assert head.status_code == 200 and head["Upload-Offset"] == str(CHUNK)
    # A stale offset is a 409 naming the server's offset.
    stale = send(client, upload, 0, data[:CHUNK])
    assert stale.status_code == 409 and stale.json()["offset"] == CHUNK
    # The hash state of another process is not there: rebuilt from the stored bytes.
    services._hashers.clear()
    offset = CHUNK
    while offset < len(data):
        response = send(client, upload, offset, data[offset : offset + CHUNK])
        assert response.status_code == 200, response.content
        offset = response.json()["offset"]
    assert response.json()["receipt"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_it_discards_a_chunk_whose_checksum_does_not_match(client: Any, dropbox_token: str) -> None:
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    send(client, upload, 0, data[:CHUNK])
    before = stored_counts()
    path = storage.incoming_path(Upload.objects.get().storage_name)
    size_before = path.stat().st_size
    wrong = bytearray(data[CHUNK : 2 * CHUNK])
    wrong[100] ^= 0xFF
    response = send(
        client, upload, CHUNK, bytes(wrong), checksum=f"sha256 {sha_b64(data[CHUNK : 2 * CHUNK])}"
    )
    assert response.status_code == 460
    assert client.get(f"{API}/uploads/{upload}").json()["offset"] == CHUNK
    assert path.stat().st_size == size_before and stored_counts() == before
    # Resuming with the right bytes yields the right hash.
    offset = CHUNK
    while offset < len(data):
        offset = send(client, upload, offset, data[offset : offset + CHUNK]).json()["offset"]
    assert EvidenceItem.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_it_abandons_an_upload_on_delete(client: Any, dropbox_token: str) -> None:
    before = stored_counts()
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    send(client, upload, 0, data[:CHUNK])
    assert client.delete(f"{API}/uploads/{upload}").status_code == 204
    assert stored_counts() == before
    assert client.get(f"{API}/uploads/{upload}").status_code == 404


def test_it_takes_evidence_right_after_the_report_form_and_on_follow_up(
    client: Any, report: Any
) -> None:
    session = client.session
    remember_submitted(session, report)
    session.save()
    assert SUBMITTED_SESSION_KEY in client.session
    done = upload_file(client, {"submitted": True}, jpeg_with_gps())
    assert EvidenceItem.objects.get(pk=done["item"]).source == "submitted"
    # The reporter may see their own item; not a follow-up of somebody else's report.
    assert client.get(f"{API}/items/{done['item']}").status_code == 200
    session = client.session
    del session[SUBMITTED_SESSION_KEY]
    session["homesafe_followup"] = {"id": str(report.pk), "at": __import__("time").time()}
    session.save()
    done = upload_file(client, {"followup": True}, jpeg_with_gps())
    assert EvidenceItem.objects.get(pk=done["item"]).source == "followup"
    assert EvidenceItem.objects.filter(report=report).count() == 2


def test_it_strips_metadata_from_video_with_ffmpeg(
    client: Any, dropbox_token: str, tmp_path: Any
) -> None:
    src = tmp_path / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-shortest",
            "-metadata",
            "location=+41.2865+174.7762/",
            "-metadata",
            "make=Apple",
            "-metadata",
            "model=iPhone 15",
            "-metadata",
            "creation_time=2026-11-28T23:41:07Z",
            "-movflags",
            "+use_metadata_tags",
            str(src),
        ],
        check=True,
    )
    data = src.read_bytes()
    done = upload_file(
        client, {"dropbox": dropbox_token}, data, filename="clip.mp4", content_type="video/mp4"
    )
    assert services.handle_one_viewing_copy()
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.kind == "video" and item.viewing_status == ViewingCopy.READY, item.viewing_reason
    assert item.metadata["gps"] == {"lat": 41.2865, "lon": 174.7762}
    assert item.metadata["device"] == "Apple iPhone 15"
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(b"".join(selectors.viewing_copy_chunks(item)))
    probed = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(copy),
            ],
            capture_output=True,
            check=True,
        ).stdout
    )
    tags = {k.lower() for k in probed["format"].get("tags", {})}
    assert not tags & {
        "location",
        "make",
        "model",
        "creation_time",
        "com.apple.quicktime.location.iso6709",
    }
    for stream in probed["streams"]:
        assert "creation_time" not in (stream.get("tags") or {})
    assert {s["codec_type"] for s in probed["streams"]} == {"video", "audio"}


def test_it_explains_why_there_is_no_video_copy_without_ffmpeg(
    client: Any, dropbox_token: str, monkeypatch: Any
) -> None:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 1000
    done = upload_file(
        client, {"dropbox": dropbox_token}, head, filename="v.mp4", content_type="video/mp4"
    )
    monkeypatch.setattr(shutil, "which", lambda name: None)
    services.handle_one_viewing_copy()
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.viewing_status == ViewingCopy.UNAVAILABLE
    assert "ffmpeg" in selectors.viewing_copy_note(item)
