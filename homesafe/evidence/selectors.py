"""Evidence reads for staff pages, the police case file and downloads (STYLE.md §1).

Callers pass objects that already went through the access checkpoint (access.py), which also
records the custody entry for the read.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homesafe.audit.models import AuditEntry
from homesafe.evidence import storage
from homesafe.evidence.models import DropBox, EvidenceItem, ViewingCopy
from homesafe.reports.models import Report


@dataclass(frozen=True)
class ItemRow:
    id: str
    kind: str
    mime: str
    sha256: str
    size: int
    received_at: datetime
    source: str
    viewing_copy: bool  # a metadata-stripped viewing copy can be downloaded now
    viewing_status: str
    viewing_reason: str


def ffmpeg_available() -> bool:
    """Video and audio viewing copies need ffmpeg and ffprobe (Debian's ffmpeg package)."""
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def viewing_copy_note(item: EvidenceItem) -> str:
    """Why an item has no viewing copy (empty when it has one), in plain words."""
    if item.viewing_status == ViewingCopy.READY:
        return ""
    if item.viewing_status == ViewingCopy.PENDING:
        return "The viewing copy is being made."
    return item.viewing_reason or "No viewing copy could be made; download the original."


def report_items(report: Report) -> list[ItemRow]:
    """A report's evidence for staff, oldest first (one query)."""
    rows = (
        EvidenceItem.objects.filter(report=report)
        .order_by("received_at")
        .only(
            "id",
            "kind",
            "mime",
            "sha256",
            "size",
            "received_at",
            "source",
            "viewing_status",
            "viewing_reason",
        )
    )
    return [
        ItemRow(
            id=str(i.pk),
            kind=i.kind,
            mime=i.mime,
            sha256=i.sha256,
            size=i.size,
            received_at=i.received_at,
            source=i.source,
            viewing_copy=i.viewing_status == ViewingCopy.READY,
            viewing_status=i.viewing_status,
            viewing_reason=viewing_copy_note(i),
        )
        for i in rows
    ]


def report_dropboxes(report: Report) -> list[DropBox]:
    """The report's drop boxes, newest first (open and closed)."""
    return list(DropBox.objects.filter(report=report).order_by("-created_at"))


def item_metadata(item: EvidenceItem) -> dict[str, Any]:
    """Capture time, GPS and device extracted from the original (caseworker only)."""
    return dict(item.metadata or {})


def item_filename(item: EvidenceItem) -> str:
    """The uploader's file name, for display only (never used as a storage path)."""
    return item.filename or ""


def download_name(item: EvidenceItem, *, viewing: bool = False) -> str:
    """A server-made download name: kind, short id and an extension from the sniffed type."""
    from homesafe.evidence.sniff import ALLOWED

    mime = item.viewing_mime if viewing else item.mime
    ext = next((t.extension for t in ALLOWED if t.mime == mime), "bin")
    if mime == "image/jpeg":
        ext = "jpg"
    return f"evidence-{item.kind}-{str(item.pk)[:8]}{'-view' if viewing else ''}.{ext}"


def original_chunks(item: EvidenceItem, *, start: int = 0) -> Iterator[bytes]:
    """The original's bytes, decrypted segment by segment (byte-identical to the upload)."""
    return storage.iter_plaintext(
        storage.store_path(item.storage_name),
        key=base64.b64decode(item.data_key),
        name=item.storage_name,
        size=item.size,
        start=start,
    )


def viewing_copy_chunks(item: EvidenceItem) -> Iterator[bytes]:
    """The metadata-stripped viewing copy's bytes; only when viewing_status is ready."""
    if item.viewing_status != ViewingCopy.READY or not item.viewing_storage_name:
        raise storage.StorageError("no viewing copy")
    return storage.iter_plaintext(
        storage.store_path(item.viewing_storage_name),
        key=base64.b64decode(item.viewing_data_key),
        name=item.viewing_storage_name,
        size=int(item.viewing_size or 0),
    )


def _custody_entry(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.created_at,
        "action": e.action.removeprefix("evidence."),
        "actor_kind": e.actor_kind,
        "actor_id": e.actor_id,
        "entry_hash": e.hash,
    }


def custody_trail(item: EvidenceItem) -> list[dict[str, Any]]:
    """Every custody entry of an item from the hash-chained audit log, oldest first:
    receipt, views, downloads, exports (who, when, what)."""
    entries = AuditEntry.objects.filter(object_type="evidence", object_id=str(item.pk)).order_by(
        "seq"
    )
    return [_custody_entry(e) for e in entries]


def report_evidence_summary(report: Report) -> list[dict[str, Any]]:
    """For the police case file: each item's id, kind, SHA-256, size, time received and
    custody entries. The caller records the export (access.record_custody, "export")."""
    items = list(EvidenceItem.objects.filter(report=report).order_by("received_at"))
    trails: dict[str, list[dict[str, Any]]] = {str(i.pk): [] for i in items}
    if items:
        entries = AuditEntry.objects.filter(
            object_type="evidence", object_id__in=list(trails)
        ).order_by("seq")
        for e in entries:
            trails[e.object_id].append(_custody_entry(e))
    return [
        {
            "item": str(i.pk),
            "kind": i.kind,
            "mime": i.mime,
            "sha256": i.sha256,
            "size": i.size,
            "received_at": i.received_at,
            "custody": trails[str(i.pk)],
        }
        for i in items
    ]
