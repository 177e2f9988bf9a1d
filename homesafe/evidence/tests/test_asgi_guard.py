"""The upload guard refuses oversize chunks from their headers, before any body byte is read,
in front of the real ASGI app on a real uvicorn."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from homesafe.evidence.asgi import UploadBodyGuard
from homesafe.evidence.conf import CHUNK_BYTES


@pytest.fixture
def guarded(transactional_db: Any) -> Iterator[int]:
    from config.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(
            UploadBodyGuard(application),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
    import gc

    gc.collect()


def headers_only(port: int, method: str, path: str, length: int) -> tuple[int, dict[str, Any]]:
    """Announce a body of `length` bytes, send none of it, and read the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path)
    conn.putheader("Content-Type", "application/offset+octet-stream")
    conn.putheader("Content-Length", str(length))
    conn.putheader("Upload-Offset", "0")
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


def test_it_refuses_an_oversize_chunk_before_reading_its_body(guarded: int) -> None:
    started = time.monotonic()
    status, body = headers_only(guarded, "PATCH", "/api/evidence/uploads/" + "x" * 40, 1024**3)
    assert status == 413 and body["error"] == "chunk_too_large"
    assert time.monotonic() - started < 5  # answered without waiting for a gigabyte
    status, _ = headers_only(guarded, "POST", "/api/evidence/uploads", 10 * 1024 * 1024)
    assert status == 413


def test_it_passes_acceptable_requests_through(guarded: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", guarded, timeout=10)
    conn.request(
        "PATCH",
        "/api/evidence/uploads/" + "x" * 40,
        body=b"\x00" * 1000,
        headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    )
    response = conn.getresponse()
    assert response.status in (403, 404)  # reached Django: CSRF or the unknown upload id
    conn.close()
    assert (
        UploadBodyGuard.refusal(
            {
                "method": "PATCH",
                "path": "/api/evidence/uploads/abc",
                "headers": [(b"content-length", str(CHUNK_BYTES).encode())],
            }
        )
        is None
    )
    assert UploadBodyGuard.refusal(
        {"method": "PATCH", "path": "/api/evidence/uploads/abc", "headers": []}
    ) == (411, "length_required", "Send a Content-Length header.")
    assert (
        UploadBodyGuard.refusal(
            {"method": "GET", "path": "/api/evidence/uploads/abc", "headers": []}
        )
        is None
    )
