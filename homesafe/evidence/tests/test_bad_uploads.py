"""A corpus of bad uploads: each gets a clear 4xx and leaves no row and no file behind."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from PIL import Image

from homesafe.evidence import services, sniff, storage
from homesafe.evidence.models import EvidenceItem, Upload
from homesafe.evidence.tests.conftest import (
    API,
    CHUNK,
    begin,
    jpeg_with_gps,
    png_bomb,
    png_declaring,
    send,
    stored_counts,
    upload_file,
)


def jpeg_zip_polyglot() -> bytes:
    """A valid JPEG that is also a valid ZIP archive (the archive appended at the end)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<html><script>alert(1)</script></html>")
    data = jpeg_with_gps() + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(data))
    Image.open(io.BytesIO(data)).load()
    return data


def jpeg_html_polyglot() -> bytes:
    """A valid JPEG whose comment segment is an HTML page with a script."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "JPEG", comment=b"<html><script>alert(1)</script>")
    return out.getvalue()


def whole_file(client: Any, target: dict[str, Any], data: bytes, **kw: Any) -> Any:
    """Begin and send the file in 64 KiB chunks; returns the first non-200 answer (or last)."""
    started = begin(client, target, data, **kw)
    if started.status_code != 201:
        return started
    upload = started.json()["upload"]
    offset = 0
    while offset < len(data):
        response = send(client, upload, offset, data[offset : offset + CHUNK])
        if response.status_code != 200:
            return response
        offset = response.json()["offset"]
    return response


BAD_FILES = {
    "wrong magic bytes": (b"MZ\x90\x00" + b"\x00" * 5000, "photo.jpg", "image/jpeg"),
    "text named as a photo": (b"hello, this is not a photo\n" * 200, "photo.jpg", "image/jpeg"),
    "html named as a photo": (
        b"<!doctype html><html><script>x()</script>" + b" " * 900,
        "a.jpg",
        "image/jpeg",
    ),
    "svg image": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
        "a.svg",
        "image/svg+xml",
    ),
    "jpeg + zip polyglot": (jpeg_zip_polyglot(), "a.jpg", "image/jpeg"),
    "jpeg + html polyglot": (jpeg_html_polyglot(), "a.jpg", "image/jpeg"),
    "30000 x 30000 image": (png_declaring(30000, 30000), "big.png", "image/png"),
    "png that declares a huge size": (png_declaring(200_000, 200_000), "bomb.png", "image/png"),
    "truncated header only jpeg": (b"\xff\xd8\xff", "a.jpg", "image/jpeg"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_it_refuses_bad_files_and_keeps_nothing(client: Any, dropbox_token: str, name: str) -> None:
    data, filename, content_type = BAD_FILES[name]
    before = stored_counts()
    response = whole_file(
        client, {"dropbox": dropbox_token}, data, filename=filename, content_type=content_type
    )
    assert response.status_code == 415, (name, response.content)
    assert response.json()["error"] == "unsupported_type"
    assert stored_counts() == before


def test_it_refuses_a_decompression_bomb_before_decoding(client: Any, dropbox_token: str) -> None:
    bomb = png_bomb(20000)  # 400 MB of pixels once decoded, a few hundred KB on the wire
    assert len(bomb) < 2 * 1024 * 1024
    before = stored_counts()
    response = whole_file(
        client, {"dropbox": dropbox_token}, bomb, filename="b.png", content_type="image/png"
    )
    assert response.status_code == 415 and "too large" in response.json()["message"]
    assert stored_counts() == before


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "a/b.jpg",
        "/abs.jpg",
        "evil\x00.jpg",
        "line\nbreak.jpg",
        "tab\t.jpg",
        "\u202egpj.exe",
        "",
        "   ",
        "..",
        "x" * 300,
        "bell\x07.jpg",
    ],
)
def test_it_refuses_bad_names_before_any_byte(
    client: Any, dropbox_token: str, filename: str
) -> None:
    before = stored_counts()
    response = begin(client, {"dropbox": dropbox_token}, 1000, filename=filename)
    assert response.status_code == 400, filename
    assert response.json()["error"] == "bad_filename"
    assert stored_counts() == before


def test_it_refuses_empty_too_large_and_undeclarable_files_before_any_byte(
    client: Any, dropbox_token: str, settings: Any
) -> None:
    before = stored_counts()
    target = {"dropbox": dropbox_token}
    assert begin(client, target, 0).status_code == 400
    settings.EVIDENCE_MAX_BYTES = 10_000
    too_big = begin(client, target, 10_001)
    assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"
    assert begin(client, target, 10_000).status_code == 201
    Upload.objects.all().delete()
    settings.EVIDENCE_MAX_BYTES_BY_ORG = {"rainbow": 500}
    assert begin(client, target, 501).status_code == 413
    settings.EVIDENCE_MAX_BYTES_BY_ORG = "other:100, rainbow:20000"
    assert begin(client, target, 20_000).status_code == 201
    assert begin(client, target, 20_001).status_code == 413
    Upload.objects.all().delete()
    html = begin(client, target, 500, filename="a.html", content_type="text/html")
    assert html.status_code == 415
    assert begin(client, target, -5).status_code == 400
    assert stored_counts() == before


def test_it_refuses_oversize_misaligned_and_surplus_chunks(client: Any, dropbox_token: str) -> None:
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    assert send(client, upload, 0, data[:1000]).json()["error"] == "bad_chunk_size"
    small = data[:CHUNK]
    response = client.patch(
        f"{API}/uploads/{upload}",
        data=small,
        content_type="text/plain",
        headers={"Upload-Offset": "0"},
    )
    assert response.status_code == 415
    assert send(client, upload, 0, small, checksum="md5 abc").status_code == 400
    assert send(client, upload, 0, small, checksum="sha256 !!!").status_code == 400
    assert client.get(f"{API}/uploads/{upload}").json()["offset"] == 0
    path = storage.incoming_path(Upload.objects.get().storage_name)
    assert not path.exists() or path.stat().st_size <= len(storage.HEADER)
    # More bytes than declared.
    tiny = jpeg_with_gps()
    upload = begin(client, {"dropbox": dropbox_token}, tiny).json()["upload"]
    assert send(client, upload, 0, tiny + b"extra").status_code == 400


def test_it_cleans_up_a_truncated_upload_that_never_finishes(
    client: Any, dropbox_token: str
) -> None:
    before = stored_counts()
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    assert send(client, upload, 0, data[:CHUNK]).status_code == 200
    assert Upload.objects.count() == 1 and EvidenceItem.objects.count() == before["items"]
    # Nothing is visible anywhere while it is unfinished.
    assert services.handle_one_viewing_copy() is False
    assert services.handle_one_expired_upload() is False
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert client.get(f"{API}/uploads/{upload}").status_code == 404
        assert send(client, upload, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 404
        assert services.handle_one_expired_upload() is True
    assert stored_counts() == before


def test_it_sweeps_incoming_files_left_by_a_crash(settings: Any, db: Any) -> None:
    storage.ensure_dirs()
    orphan = storage.incoming_path(storage.new_storage_name())
    orphan.write_bytes(b"left over")
    import os

    old = timezone.now().timestamp() - 3 * 24 * 3600
    os.utime(orphan, (old, old))
    assert services.handle_one_expired_upload() is True
    assert not orphan.exists()


def test_it_rejects_a_resumed_chunk_that_does_not_match(client: Any, dropbox_token: str) -> None:
    """The resumed chunk claims the right offset but its bytes differ from its checksum."""
    data = jpeg_with_gps((600, 500), noise=True)
    before = stored_counts()
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    send(client, upload, 0, data[:CHUNK])
    import base64
    import hashlib

    good = base64.b64encode(hashlib.sha256(data[CHUNK : 2 * CHUNK]).digest()).decode()
    response = send(client, upload, CHUNK, b"\x00" * CHUNK, checksum=f"sha256 {good}")
    assert response.status_code == 460 and response.json()["error"] == "checksum_mismatch"
    assert client.get(f"{API}/uploads/{upload}").json()["offset"] == CHUNK
    assert client.delete(f"{API}/uploads/{upload}").status_code == 204
    assert stored_counts() == before


def test_the_sniffer_knows_every_allowed_type() -> None:
    samples = {
        "image/jpeg": b"\xff\xd8\xff\xe0",
        "image/png": b"\x89PNG\r\n\x1a\n",
        "image/gif": b"GIF89a",
        "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        "audio/wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
        "application/pdf": b"%PDF-1.7\n",
        "audio/ogg": b"OggS\x00\x02",
        "video/webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
        "video/x-matroska": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
        "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
        "video/quicktime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
        "audio/mp4": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom",
        "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        "image/heif": b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf",
        "audio/mpeg": b"ID3\x04\x00\x00",
    }
    for mime, head in samples.items():
        assert sniff.identify(head + b"\x00" * 64).mime == mime
    for bad in (b"PK\x03\x04", b"\x7fELF", b"#!/bin/sh", b"<?xml", b"\x00\x00\x00\x18ftypXXXX"):
        with pytest.raises(sniff.Refused):
            sniff.identify(bad + b"\x00" * 64)


def test_an_upload_whose_stored_bytes_vanished_is_gone_not_an_error(
    client: Any, dropbox_token: str
) -> None:
    before = stored_counts()
    data = jpeg_with_gps((600, 500), noise=True)
    upload = begin(client, {"dropbox": dropbox_token}, data).json()["upload"]
    send(client, upload, 0, data[:CHUNK])
    storage.incoming_path(Upload.objects.get().storage_name).unlink()
    services._hashers.clear()
    assert send(client, upload, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 404
    assert stored_counts() == before


def test_it_sweeps_plaintext_work_files_and_gives_up_on_crashing_copies(
    client: Any, dropbox_token: str
) -> None:
    import os

    from homesafe.evidence import media
    from homesafe.evidence.models import ViewingCopy

    stale = media.work_dir() / "left-by-a-crash.src"
    stale.write_bytes(b"plaintext")
    old = timezone.now().timestamp() - 3 * 3600
    os.utime(stale, (old, old))
    assert services.handle_one_expired_upload() is True
    assert not stale.exists()
    done = upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps())
    EvidenceItem.objects.filter(pk=done["item"]).update(
        viewing_attempts=3, viewing_lease_until=timezone.now() - timedelta(minutes=1)
    )
    assert services.handle_one_viewing_copy() is False
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.viewing_status == ViewingCopy.FAILED and "original" in item.viewing_reason
