"""Chunks received in the ASGI layer (homesafe/evidence/asgi.py), streamed into the segment
writer as they arrive, over a real uvicorn: the same answers and checks as the Django route,
the last chunk still through Django (receipt remembered in the session), and a connection cut
mid-chunk leaving the upload where it was."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from homesafe.evidence import services, storage
from homesafe.evidence.asgi import chunk_upload_id
from homesafe.evidence.models import EvidenceItem, Upload
from homesafe.evidence.tests.conftest import make_report, stored_counts
from homesafe.evidence.tests.test_http import Browser

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
PIECE = 256 * 1024


def chunk_call(
    port: int, upload: str, offset: int, data: bytes, **headers: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A PATCH with no cookie and no CSRF token: only the upload id in the path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)}
    hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
    conn.request("PATCH", f"/api/evidence/uploads/{upload}", body=data, headers=hdrs)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.fixture
def started(asgi_server: Any, personas: Any) -> tuple[Browser, str, bytes]:
    report = make_report(personas.org, narrative="Filmed at the station.")
    _box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=1)
    )
    data = MP4_HEAD + os.urandom(3 * PIECE - len(MP4_HEAD) + 1234)
    bystander = Browser(asgi_server.port)
    bystander.call("GET", "/report/")
    status, _, body = bystander.call(
        "POST",
        "/api/evidence/uploads",
        json.dumps(
            {
                "target": {"dropbox": token},
                "filename": "clip.mp4",
                "size": len(data),
                "content_type": "video/mp4",
            }
        ).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, body
    return bystander, json.loads(body)["upload"], data


def _row(upload_id: str) -> Upload:
    from homesafe.evidence.access import token_hash

    return Upload.objects.get(key_hash=token_hash(upload_id))


def _incoming_size(upload_id: str) -> int:
    path = storage.incoming_path(_row(upload_id).storage_name)
    return path.stat().st_size if path.exists() else 0


def test_chunks_stream_without_the_session_and_the_last_goes_through_django(
    asgi_server: Any, started: tuple[Browser, str, bytes]
) -> None:
    bystander, upload, data = started
    port = asgi_server.port
    offset = 0
    for _ in range(3):
        piece = data[offset : offset + PIECE]
        checksum = "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode()
        status, headers, body = chunk_call(port, upload, offset, piece, Upload_Checksum=checksum)
        # No CSRF token, no cookie: the Django route would answer 403; this layer takes it.
        assert status == 200, body
        offset += PIECE
        assert body == {"offset": offset}
        assert headers["upload-offset"] == str(offset)
        assert headers["upload-length"] == str(len(data))
        assert headers["cache-control"] == "no-store"
        assert headers["content-type"].startswith("application/json")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers.get("connection") != "close"
    assert _row(upload).offset == offset and _row(upload).mime == "video/mp4"
    # The last chunk: Django's route, with its CSRF check...
    status, _, body = chunk_call(port, upload, offset, data[offset:])
    assert status == 403 and body["error"] == "csrf"
    assert _row(upload).offset == offset
    # ...and the session that remembers the receipt.
    status, headers, raw = bystander.call(
        "PATCH",
        f"/api/evidence/uploads/{upload}",
        data[offset:],
        {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
    )
    done = json.loads(raw)
    assert status == 200, done
    assert done["offset"] == len(data) == int(headers["upload-offset"])
    assert done["receipt"]["sha256"] == hashlib.sha256(data).hexdigest()
    item = EvidenceItem.objects.get(pk=done["item"])
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == len(data)
    status, _, raw = bystander.call("GET", f"/api/evidence/receipts/{done['item']}")
    assert status == 200 and json.loads(raw)["sha256"] == item.sha256
    assert not Upload.objects.exists()


def test_it_refuses_what_the_django_route_refuses(
    asgi_server: Any, started: tuple[Browser, str, bytes]
) -> None:
    _bystander, upload, data = started
    port = asgi_server.port
    first = data[:PIECE]
    before = _incoming_size(upload)

    status, headers, body = chunk_call(port, upload, PIECE, data[PIECE : 2 * PIECE])
    assert status == 409 and body["error"] == "offset_mismatch" and body["offset"] == 0
    assert headers["upload-offset"] == "0"

    status, _, body = chunk_call(port, upload, 0, first, Content_Type="application/octet-stream")
    assert status == 415 and body["error"] == "bad_content_type"

    status, _, body = chunk_call(port, upload, 0, first[:-1])
    assert status == 400 and body["error"] == "bad_chunk_size"

    status, _, body = chunk_call(port, upload, 0, first, Upload_Checksum="md5 abc")
    assert status == 400 and body["error"] == "bad_checksum"

    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    status, _, body = chunk_call(port, upload, 0, first, Upload_Checksum=wrong)
    assert status == 460 and body["error"] == "checksum_mismatch"
    # Cut back to the file header: no byte of the refused chunk stays.
    assert _row(upload).offset == 0 and _incoming_size(upload) == before + len(storage.HEADER)
    assert _row(upload).busy_until is None

    status, _, body = chunk_call(port, upload, 0, first, Upload_Offset="soon")
    assert status == 400 and body["error"] == "bad_offset"

    status, _, body = chunk_call(port, "y" * 40, 0, first)
    assert status == 404 and body["error"] == "not_found"

    # One chunk at a time: another chunk of this upload is being received.
    Upload.objects.filter(pk=_row(upload).pk).update(
        busy_until=timezone.now() + timedelta(minutes=1)
    )
    status, _, body = chunk_call(port, upload, 0, first)
    assert status == 409 and body["error"] == "busy"
    Upload.objects.filter(pk=_row(upload).pk).update(busy_until=None)

    # Nothing was half-written: the same chunk is now accepted.
    status, _, body = chunk_call(port, upload, 0, first)
    assert status == 200 and body == {"offset": PIECE}

    # An expired upload is unknown.
    Upload.objects.filter(pk=_row(upload).pk).update(expires_at=timezone.now())
    status, _, body = chunk_call(port, upload, PIECE, data[PIECE : 2 * PIECE])
    assert status == 404


def test_a_first_chunk_of_the_wrong_kind_ends_the_upload(
    asgi_server: Any, started: tuple[Browser, str, bytes]
) -> None:
    _bystander, upload, _data = started
    incoming = storage.incoming_path(_row(upload).storage_name)
    before = stored_counts()
    status, _, body = chunk_call(asgi_server.port, upload, 0, b"MZ" + os.urandom(PIECE - 2))
    assert status == 415 and body["error"] == "unsupported_type"
    after = stored_counts()
    assert after["uploads"] == before["uploads"] - 1
    assert after["items"] == before["items"] and after["files"] == before["files"]
    assert not incoming.exists()


def test_a_connection_cut_mid_chunk_leaves_the_upload_where_it_was(
    asgi_server: Any, started: tuple[Browser, str, bytes]
) -> None:
    _bystander, upload, data = started
    port = asgi_server.port
    status, _, _ = chunk_call(port, upload, 0, data[:PIECE])
    assert status == 200
    size_before = _incoming_size(upload)

    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        (
            f"PATCH /api/evidence/uploads/{upload} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {PIECE}\r\n"
            f"Upload-Offset: {PIECE}\r\n\r\n"
        ).encode()
        + data[PIECE : PIECE + PIECE // 2]
    )
    # Wait until the server holds the chunk's lease, then drop the connection.
    deadline = time.monotonic() + 10
    while _row(upload).busy_until is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sock.close()
    deadline = time.monotonic() + 10
    while _row(upload).busy_until is not None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert _row(upload).offset == PIECE
    assert _incoming_size(upload) == size_before
    # The client resumes from the same offset.
    status, _, body = chunk_call(port, upload, PIECE, data[PIECE : 2 * PIECE])
    assert status == 200 and body == {"offset": 2 * PIECE}


def test_only_a_chunk_patch_is_taken_before_django() -> None:
    base = "/api/evidence/uploads"
    assert chunk_upload_id({"method": "PATCH", "path": f"{base}/abc"}) == "abc"
    assert chunk_upload_id({"method": "PATCH", "path": f"{base}/abc/"}) is None
    assert chunk_upload_id({"method": "PATCH", "path": f"{base}/abc/x"}) is None
    assert chunk_upload_id({"method": "PATCH", "path": f"{base}/"}) is None
    assert chunk_upload_id({"method": "PATCH", "path": base}) is None
    assert chunk_upload_id({"method": "GET", "path": f"{base}/abc"}) is None
    assert chunk_upload_id({"method": "DELETE", "path": f"{base}/abc"}) is None


def test_one_connection_carries_chunk_after_chunk(
    asgi_server: Any, started: tuple[Browser, str, bytes]
) -> None:
    _bystander, upload, data = started
    conn = http.client.HTTPConnection("127.0.0.1", asgi_server.port, timeout=30)
    for offset in (0, PIECE):
        conn.request(
            "PATCH",
            f"/api/evidence/uploads/{upload}",
            body=data[offset : offset + PIECE],
            headers={
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            },
        )
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read()) == {"offset": offset + PIECE}
        assert response.getheader("Connection") != "close"
    conn.close()
    # A refusal answered before the body was read closes the connection instead.
    status, headers, _ = chunk_call(asgi_server.port, upload, 0, data[:PIECE])
    assert status == 409 and headers["connection"] == "close"


def test_a_client_that_stalls_mid_chunk_is_dropped(
    asgi_server: Any, started: tuple[Browser, str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from homesafe.evidence import asgi

    monkeypatch.setattr(asgi, "STALL_SECONDS", 0.5)
    _bystander, upload, data = started
    sock = socket.create_connection(("127.0.0.1", asgi_server.port), timeout=10)
    sock.sendall(
        (
            f"PATCH /api/evidence/uploads/{upload} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {PIECE}\r\n"
            "Upload-Offset: 0\r\n\r\n"
        ).encode()
        + data[: PIECE // 2]
    )
    answer = sock.recv(65536).decode("latin-1")
    sock.close()
    assert answer.startswith("HTTP/1.1 400") and "short_chunk" in answer
    assert _row(upload).offset == 0 and _row(upload).busy_until is None
    status, _, body = chunk_call(asgi_server.port, upload, 0, data[:PIECE])
    assert status == 200 and body == {"offset": PIECE}


def test_a_slow_chunk_keeps_its_lease_while_bytes_keep_coming(
    asgi_server: Any, started: tuple[Browser, str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "BUSY_SECONDS", 0.4)
    monkeypatch.setattr(services, "READ_BLOCK", 64 * 1024)
    _bystander, upload, data = started
    sock = socket.create_connection(("127.0.0.1", asgi_server.port), timeout=10)
    sock.sendall(
        (
            f"PATCH /api/evidence/uploads/{upload} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {PIECE}\r\n"
            "Upload-Offset: 0\r\n\r\n"
        ).encode()
    )
    step = 64 * 1024
    for at in range(0, PIECE - step, step):
        sock.sendall(data[at : at + step])
        time.sleep(0.3)
    # Longer than the lease since the chunk began: a second sender is still refused.
    status, _, body = chunk_call(asgi_server.port, upload, 0, data[:PIECE])
    assert status == 409 and body["error"] == "busy"
    sock.sendall(data[PIECE - step : PIECE])
    answer = sock.recv(65536).decode("latin-1")
    sock.close()
    assert answer.startswith("HTTP/1.1 200") and f'"offset": {PIECE}' in answer
    assert _row(upload).offset == PIECE and _row(upload).busy_until is None


def test_when_every_worker_is_busy_the_django_route_takes_the_chunk(
    asgi_server: Any, started: tuple[Browser, str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from homesafe.evidence import asgi

    monkeypatch.setattr(asgi, "workers", asgi.ChunkWorkers(0, 1.0))
    bystander, upload, data = started
    # Django's route: it wants the CSRF token the session-less request lacks...
    status, _, body = chunk_call(asgi_server.port, upload, 0, data[:PIECE])
    assert status == 403 and body["error"] == "csrf"
    # ...and accepts the chunk from the uploader's page.
    status, headers, raw = bystander.call(
        "PATCH",
        f"/api/evidence/uploads/{upload}",
        data[:PIECE],
        {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    )
    assert status == 200 and json.loads(raw) == {"offset": PIECE}
    assert headers["upload-offset"] == str(PIECE)
