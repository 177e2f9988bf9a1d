"""Evidence test helpers: reports, sample files and a client that speaks the upload protocol."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from homesafe.evidence import services, storage
from homesafe.evidence.models import EvidenceItem, LogLeaf, TreeHead, Upload
from homesafe.reports import services as report_services
from homesafe.reports.models import Report
from homesafe.reports.schemas import ReportIn

API = "/api/evidence"
CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def _chunk_workers_release_connections() -> Any:
    """Chunks received before Django run in worker threads that keep their database
    connection between chunks: close them after each test (PostgreSQL cannot drop a test
    database that still has connections)."""
    yield
    from homesafe.evidence.asgi import workers

    workers.release_connections()


def make_report(org: Any, **fields: Any) -> Report:
    data = ReportIn.model_validate({"reporter_role": "victim", "organisation": org.slug, **fields})
    return report_services.report_submit(data=data).report


@pytest.fixture
def report(personas: Any) -> Report:
    return make_report(personas.org, narrative="They filmed it on their phones.")


@pytest.fixture
def foreign_report(personas: Any) -> Report:
    return make_report(personas.other_org, narrative="Elsewhere.")


@pytest.fixture
def dropbox_token(report: Report, personas: Any) -> str:
    _box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=2)
    )
    return token


# --- sample files ---------------------------------------------------------------------------


def jpeg_with_gps(size: tuple[int, int] = (64, 48), *, noise: bool = False) -> bytes:
    """A real JPEG with EXIF: capture time, device and a GPS position in Wellington."""
    if noise:
        import os

        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (200, 40, 90))
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:28 23:41:07"
    gps = exif.get_ifd(0x8825)
    gps[1] = "S"
    gps[2] = (41.0, 17.0, 30.0)
    gps[3] = "E"
    gps[4] = (174.0, 46.0, 50.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 0, 128)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, *, idat: bytes | None = None) -> bytes:
    """A PNG whose header declares these dimensions (8-bit grayscale)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = idat if idat is not None else zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20000) -> bytes:
    """A PNG of side x side zero pixels: small on the wire, `side**2` bytes once decoded."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = []
    for _ in range(side):
        parts.append(comp.compress(row))
    parts.append(comp.flush())
    return png_declaring(side, side, idat=b"".join(parts))


# --- protocol client -------------------------------------------------------------------------


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def begin(
    client: Any,
    target: dict[str, Any],
    data_or_size: bytes | int,
    *,
    filename: str = "clip.jpg",
    content_type: str = "image/jpeg",
) -> Any:
    size = data_or_size if isinstance(data_or_size, int) else len(data_or_size)
    return client.post(
        f"{API}/uploads",
        data=json.dumps(
            {"target": target, "filename": filename, "size": size, "content_type": content_type}
        ),
        content_type="application/json",
    )


def send(
    client: Any, upload: str, offset: int, chunk: bytes, *, checksum: str | None = None
) -> Any:
    headers = {"Upload-Offset": str(offset)}
    if checksum is not None:
        headers["Upload-Checksum"] = checksum
    return client.patch(
        f"{API}/uploads/{upload}",
        data=chunk,
        content_type="application/offset+octet-stream",
        headers=headers,
    )


def upload_file(
    client: Any,
    target: dict[str, Any],
    data: bytes,
    *,
    chunk: int = CHUNK,
    filename: str = "clip.jpg",
    content_type: str = "image/jpeg",
) -> dict[str, Any]:
    """Run the whole protocol; returns the final JSON (offset, item, receipt)."""
    started = begin(client, target, data, filename=filename, content_type=content_type)
    assert started.status_code == 201, started.content
    upload = started.json()["upload"]
    offset = 0
    last: Any = None
    while offset < len(data):
        piece = data[offset : offset + chunk]
        last = send(client, upload, offset, piece, checksum=f"sha256 {sha_b64(piece)}")
        assert last.status_code == 200, last.content
        offset = last.json()["offset"]
    return dict(last.json())


# --- what is stored --------------------------------------------------------------------------


def stored_files() -> list[Path]:
    root = storage.evidence_dir()
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored_counts() -> dict[str, int]:
    return {
        "uploads": Upload.objects.count(),
        "items": EvidenceItem.objects.count(),
        "leaves": LogLeaf.objects.count(),
        "heads": TreeHead.objects.count(),
        "files": len(stored_files()),
    }


def assert_nothing_new(before: dict[str, int]) -> None:
    assert stored_counts() == before
