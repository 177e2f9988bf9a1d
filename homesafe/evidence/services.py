"""Evidence writes: drop boxes, resumable uploads, finalising into the Merkle log, cleanup
and viewing copies. Views and the API only parse input and call these (STYLE.md §1)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any, Protocol, cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError, NotFound
from homesafe.evidence import merkle, signing, sniff, storage
from homesafe.evidence.access import UploadTarget, token_hash
from homesafe.evidence.conf import (
    CHUNK_BYTES,
    SEGMENT_BYTES,
    max_upload_bytes,
    upload_ttl_seconds,
)
from homesafe.evidence.errors import (
    Busy,
    ChecksumMismatch,
    OffsetConflict,
    TooLarge,
    Unsupported,
)
from homesafe.evidence.models import (
    DropBox,
    EvidenceItem,
    LogLeaf,
    LogState,
    TreeHead,
    Upload,
    ViewingCopy,
)
from homesafe.reports.models import Report

READ_BLOCK = 1024 * 1024


class Readable(Protocol):
    """A request body (Django's HttpRequest reads like a file) or any binary stream."""

    def read(self, size: int = ..., /) -> bytes: ...


MAX_FILENAME = 255
DROPBOX_MAX_LIFETIME = timedelta(days=30)
BUSY_SECONDS = 120


# --- drop boxes ---------------------------------------------------------------------------


def dropbox_create(
    *, report: Report, user: Any, expires_in: timedelta, label: str = ""
) -> tuple[DropBox, str]:
    """Open a drop box for a report the caller already passed `access_report` for. Returns the
    box and its token (shown once, in the /drop/<token>/ link; only its hash is stored)."""
    if expires_in <= timedelta(0) or expires_in > DROPBOX_MAX_LIFETIME:
        raise DomainError(
            _("A drop box can stay open between a minute and 30 days."), field="expires_in"
        )
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        box = DropBox(
            report=report,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            token_hash=token_hash(token),
            expires_at=timezone.now() + expires_in,
            label=(label or "").strip()[:200],
        )
        box.save()
        audit_append(
            action="evidence.dropbox_open",
            object_type="report",
            object_id=report.pk,
            actor=user,
            organisation_id=report.organisation_id,
            data={"dropbox": str(box.pk), "expires_at": box.expires_at.isoformat()},
        )
    return box, token


def dropbox_close(*, dropbox: DropBox, user: Any) -> DropBox:
    """Close a drop box at once: its link stops working (404), uploads in flight are dropped."""
    with transaction.atomic():
        if DropBox.objects.filter(pk=dropbox.pk, closed_at__isnull=True).update(
            closed_at=timezone.now()
        ):
            audit_append(
                action="evidence.dropbox_close",
                object_type="report",
                object_id=dropbox.report_id,
                actor=user,
                organisation_id=dropbox.report.organisation_id,
                data={"dropbox": str(dropbox.pk)},
            )
        for upload in Upload.objects.filter(dropbox=dropbox):
            _discard(upload)
    dropbox.refresh_from_db()
    return dropbox


# --- uploads ------------------------------------------------------------------------------


def clean_filename(name: object) -> str:
    """The uploader's file name, for display only; refuses traversal and control characters."""
    if not isinstance(name, str):
        raise DomainError(_("Give the file a name."), code="bad_filename", field="filename")
    name = unicodedata.normalize("NFC", name).strip()
    if not name or name in (".", ".."):
        raise DomainError(_("Give the file a name."), code="bad_filename", field="filename")
    if len(name) > MAX_FILENAME:
        raise DomainError(_("That file name is too long."), code="bad_filename", field="filename")
    if (
        "/" in name
        or "\\" in name
        or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)
    ):
        raise DomainError(
            _("That file name has characters that are not allowed."),
            code="bad_filename",
            field="filename",
        )
    return name


def upload_begin(
    *, target: UploadTarget, filename: str, size: int, content_type: str
) -> tuple[Upload, str]:
    """Start a resumable upload to a target the access checkpoint resolved. Size and declared
    type are checked before any byte of the body is accepted. Returns the row and its opaque
    id (the capability the client uses for every chunk)."""
    name = clean_filename(filename)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise DomainError(_("The file size is missing."), field="size")
    if size == 0:
        raise DomainError(_("That file is empty."), code="empty", field="size")
    if size > max_upload_bytes(target.report.organisation.slug):
        raise TooLarge(_("That file is too large."), code="too_large", field="size")
    if not sniff.declared_type_allowed(content_type, name):
        raise Unsupported(
            _("This kind of file is not accepted. Send photos, video, audio or PDF."),
            code="unsupported_type",
            field="content_type",
        )
    storage.ensure_dirs()
    upload_id = secrets.token_urlsafe(32)
    upload = Upload(
        key_hash=token_hash(upload_id),
        report=target.report,
        dropbox=target.dropbox,
        source=target.source,
        uploaded_by=target.user if getattr(target.user, "is_authenticated", False) else None,
        filename=name,
        declared_type=(content_type or "")[:100],
        size=size,
        storage_name=storage.new_storage_name(),
        data_key=base64.b64encode(storage.new_data_key()).decode(),
        expires_at=timezone.now() + timedelta(seconds=upload_ttl_seconds()),
    )
    upload.save()
    return upload, upload_id


def upload_abort(*, upload: Upload) -> None:
    """Abandon an upload: its row and its bytes are removed."""
    _discard(upload)


@dataclass
class ChunkResult:
    offset: int
    item: EvidenceItem | None = None
    receipt: dict[str, Any] | None = None


# Running SHA-256 of uploads this process is receiving, keyed by upload id, at an offset. A
# chunk landing in another process (or after a restart) rebuilds it from the stored bytes.
_hashers: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_hashers_lock = threading.Lock()
_HASHERS_MAX = 256


def _hasher_at(upload: Upload, offset: int) -> Any:
    with _hashers_lock:
        held = _hashers.get(str(upload.pk))
    if held is not None and held[0] == offset:
        return held[1].copy()
    digest = hashlib.sha256()
    if offset:
        reader = _incoming_reader(upload)
        try:
            remaining = offset
            while remaining:
                block = reader.read(min(READ_BLOCK, remaining))
                if not block:
                    raise storage.StorageError("incoming file shorter than its offset")
                digest.update(block)
                remaining -= len(block)
        finally:
            reader.close()
    return digest


def _remember_hasher(upload: Upload, offset: int, digest: Any) -> None:
    with _hashers_lock:
        _hashers[str(upload.pk)] = (offset, digest)
        _hashers.move_to_end(str(upload.pk))
        while len(_hashers) > _HASHERS_MAX:
            _hashers.popitem(last=False)


def _forget_hasher(upload: Upload) -> None:
    with _hashers_lock:
        _hashers.pop(str(upload.pk), None)


def _key(sealed_b64: str) -> bytes:
    return base64.b64decode(sealed_b64)


def _incoming_reader(upload: Upload) -> storage.EncryptedReader:
    """The bytes received so far for an unfinished upload, decrypted as they are read."""
    return storage.EncryptedReader(
        storage.incoming_path(upload.storage_name),
        key=_key(upload.data_key),
        name=upload.storage_name,
        size=upload.size,
    )


def upload_append(
    *,
    upload: Upload,
    offset: int,
    body: Readable,
    length: int,
    checksum: bytes | None = None,
) -> ChunkResult:
    """Append one chunk read from `body` (exactly `length` bytes) at `offset`, hashing and
    encrypting as it streams. The first chunk is sniffed; the last one finalises the item.
    A chunk that fails (short body, checksum, wrong type) leaves the upload as it was before."""
    if offset != upload.offset:
        raise OffsetConflict(_("Resume from the server's offset."), offset=upload.offset)
    if length < 0 or length > CHUNK_BYTES:
        raise TooLarge(_("That chunk is too large."), code="chunk_too_large")
    end = offset + length
    if end > upload.size:
        raise DomainError(
            _("More bytes than the file size given at the start."), code="too_many_bytes"
        )
    if end < upload.size and length % SEGMENT_BYTES:
        raise DomainError(
            _("Every chunk but the last must be a multiple of 64 KiB."), code="bad_chunk_size"
        )
    if length == 0:
        return ChunkResult(offset=offset)
    now = timezone.now()
    # One chunk of an upload at a time, across processes: a lease on the row.
    claimed = (
        Upload.objects.filter(pk=upload.pk, offset=offset, expires_at__gt=now)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=now + timedelta(seconds=BUSY_SECONDS))
    )
    if not claimed:
        if Upload.objects.filter(pk=upload.pk, offset=offset, expires_at__gt=now).exists():
            raise Busy(_("Another chunk of this upload is being received."), code="busy")
        raise NotFound()
    try:
        return _append_claimed(upload, offset, body, length, checksum)
    except storage.StorageError:
        # The bytes received so far are gone or damaged: the upload cannot be resumed.
        _discard(upload)
        raise NotFound(_("This upload can no longer be resumed. Start it again."))
    finally:
        Upload.objects.filter(pk=upload.pk).update(busy_until=None)


def _append_claimed(
    upload: Upload, offset: int, body: Readable, length: int, checksum: bytes | None
) -> ChunkResult:
    path = storage.incoming_path(upload.storage_name)
    digest = _hasher_at(upload, offset)
    chunk_digest = hashlib.sha256() if checksum is not None else None
    writer = storage.SegmentWriter(
        path, key=_key(upload.data_key), name=upload.storage_name, size=upload.size, offset=offset
    )
    received = 0
    ok = False
    hashing: Future[None] | None = None
    # A chunk streamed in as it arrives (homesafe/evidence/asgi.py) can take longer than the
    # lease on a slow connection: renew it while bytes keep coming.
    renew_at = timezone.now() + timedelta(seconds=BUSY_SECONDS / 4)
    try:
        while received < length:
            block = _read_full(body, min(READ_BLOCK, length - received))
            if not block:
                break
            if timezone.now() >= renew_at:
                _renew_lease(upload, offset)
                renew_at = timezone.now() + timedelta(seconds=BUSY_SECONDS / 4)
            if received == 0 and offset == 0:
                _sniff_first(upload, block)
            # SHA-256 releases the GIL: hash this block in a helper thread while it is
            # encrypted and written here (in order: one block in flight at a time).
            if hashing is not None:
                hashing.result()
            hashing = _hash_pool.submit(_update, digest, chunk_digest, block)
            writer.write(block)
            received += len(block)
        if hashing is not None:
            hashing.result()
        if received != length:
            raise DomainError(
                _("The chunk ended early; resume from the last offset."), code="short_chunk"
            )
        if chunk_digest is not None and chunk_digest.digest() != checksum:
            raise ChecksumMismatch(
                _("The chunk's checksum does not match."), code="checksum_mismatch"
            )
        ok = True
    finally:
        writer.close(sync=ok and offset + length == upload.size)
        if not ok:
            _truncate_incoming(path, offset)
    new_offset = offset + length
    if new_offset < upload.size:
        if not Upload.objects.filter(pk=upload.pk, offset=offset).update(
            offset=new_offset, expires_at=timezone.now() + timedelta(seconds=upload_ttl_seconds())
        ):
            _truncate_incoming(path, offset)
            raise NotFound()
        upload.offset = new_offset
        _remember_hasher(upload, new_offset, digest)
        return ChunkResult(offset=new_offset)
    _forget_hasher(upload)
    item = _finalise(upload, digest.hexdigest())
    return ChunkResult(offset=new_offset, item=item, receipt=receipt_for(item))


def _renew_lease(upload: Upload, offset: int) -> None:
    if not Upload.objects.filter(pk=upload.pk, offset=offset).update(
        busy_until=timezone.now() + timedelta(seconds=BUSY_SECONDS)
    ):
        raise NotFound()  # closed or removed meanwhile: the chunk's bytes are cut off


_hash_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="evidence-hash")


def _update(digest: Any, chunk_digest: Any, block: bytes) -> None:
    digest.update(block)
    if chunk_digest is not None:
        chunk_digest.update(block)


def _read_full(body: Readable, n: int) -> bytes:
    """Up to n bytes; fewer only at the end of the body (so the first block is sniffable)."""
    parts = []
    want = n
    while want:
        part = body.read(want)
        if not part:
            break
        parts.append(part)
        want -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _truncate_incoming(path: Any, offset: int) -> None:
    """Cut a failed chunk's bytes off, back to the last whole segment before it."""
    try:
        with open(path, "r+b") as fh:
            fh.truncate(len(storage.HEADER) + (offset // SEGMENT_BYTES) * storage.DISK_SEGMENT)
    except FileNotFoundError:
        pass


def _sniff_first(upload: Upload, block: bytes) -> None:
    try:
        ftype = sniff.check_head(block[: sniff.SNIFF_BYTES])
    except sniff.Refused as exc:
        _discard(upload)
        raise Unsupported(str(exc), code="unsupported_type") from exc
    upload.mime = ftype.mime
    Upload.objects.filter(pk=upload.pk).update(mime=ftype.mime)


def _type_by_mime(mime: str) -> sniff.FileType:
    for ftype in sniff.ALLOWED:
        if ftype.mime == mime:
            return ftype
    raise Unsupported(_("This kind of file is not accepted."), code="unsupported_type")


def _whole_file_checks(upload: Upload, ftype: sniff.FileType) -> None:
    """Checks that need the complete file: image header size, hidden ZIP at the end."""
    reader = _incoming_reader(upload)
    try:
        tail_len = min(upload.size, 65536 + 22)
        reader.seek(upload.size - tail_len)
        sniff.check_tail(reader.read(tail_len), total_size=upload.size)
        if ftype.kind == "photo" and ftype not in (sniff.HEIC, sniff.HEIF):
            reader.seek(0)
            sniff.check_image_dimensions(cast(IO[bytes], reader))
    finally:
        reader.close()


def _finalise(upload: Upload, sha256: str) -> EvidenceItem:
    try:
        ftype = _type_by_mime(upload.mime)
        _whole_file_checks(upload, ftype)
    except sniff.Refused as exc:
        _discard(upload)
        raise Unsupported(str(exc), code="unsupported_type") from exc
    except Unsupported:
        _discard(upload)
        raise
    incoming = storage.incoming_path(upload.storage_name)
    stored = storage.move_into_store(incoming, upload.storage_name)
    try:
        with transaction.atomic():
            if not Upload.objects.filter(pk=upload.pk).exists():
                raise NotFound()
            item = EvidenceItem(
                report=upload.report,
                dropbox=upload.dropbox,
                source=upload.source,
                uploaded_by=upload.uploaded_by,
                kind=ftype.kind,
                mime=ftype.mime,
                sha256=sha256,
                size=upload.size,
                received_at=timezone.now(),
                filename=upload.filename,
                storage_name=upload.storage_name,
                data_key=upload.data_key,
                viewing_status=ViewingCopy.PENDING,
            )
            item.save()
            _log_append(item)
            upload.delete()
            audit_append(
                action="evidence.received",
                object_type="evidence",
                object_id=item.pk,
                actor=upload.uploaded_by,
                actor_kind=None if upload.uploaded_by else upload.source,
                organisation_id=item.report.organisation_id,
                data={"sha256": sha256, "size": item.size, "kind": item.kind},
            )
    except BaseException:
        storage.remove(stored)
        raise
    return item


def _discard(upload: Upload) -> None:
    _forget_hasher(upload)
    Upload.objects.filter(pk=upload.pk).delete()
    storage.remove(storage.incoming_path(upload.storage_name))


# --- the Merkle log -----------------------------------------------------------------------


def received_at_text(item: EvidenceItem) -> str:
    return item.received_at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def item_leaf_hash(item: EvidenceItem) -> str:
    data = merkle.leaf_data(
        item=str(item.pk), sha256=item.sha256, size=item.size, received_at=received_at_text(item)
    )
    return merkle.leaf_hash(data).hex()


def _log_append(item: EvidenceItem) -> LogLeaf:
    """Append the item's leaf and sign the new tree head (inside the caller's transaction)."""
    LogState.objects.get_or_create(id=1)
    state = LogState.objects.select_for_update().get(id=1)
    leaf = LogLeaf.objects.create(index=state.size, item=item, leaf_hash=item_leaf_hash(item))
    state.size += 1
    state.save(update_fields=["size"])
    leaves = log_leaf_hashes(state.size)
    root = merkle.root(leaves).hex()
    stamp = timezone.now().astimezone(dt.UTC).isoformat(timespec="microseconds")
    signature, kid = signing.sign_head(tree_size=state.size, root_hash=root, timestamp=stamp)
    TreeHead.objects.create(
        tree_size=state.size, root_hash=root, timestamp=stamp, signature=signature, key_id=kid
    )
    return leaf


def log_leaf_hashes(size: int | None = None) -> list[bytes]:
    """Leaf hashes of the log in order (the first `size` of them)."""
    qs = LogLeaf.objects.order_by("index")
    if size is not None:
        qs = qs.filter(index__lt=size)
    return [bytes.fromhex(h) for h in qs.values_list("leaf_hash", flat=True)]


def head_json(head: TreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "signature": head.signature,
        "key_id": head.key_id,
    }


def public_key_b64() -> str:
    return base64.b64encode(signing.public_raw()).decode()


def receipt_for(item: EvidenceItem) -> dict[str, Any]:
    """The uploader's receipt (protocol version 1): hash, size, time, leaf position and an
    inclusion proof against the signed tree head made when the item joined the log."""
    leaf = LogLeaf.objects.get(item=item)
    head = TreeHead.objects.filter(tree_size__gt=leaf.index).order_by("tree_size").first()
    if head is None:
        raise NotFound()
    leaves = log_leaf_hashes(head.tree_size)
    proof = merkle.inclusion_proof(leaf.index, leaves)
    return {
        "version": 1,
        "item": str(item.pk),
        "sha256": item.sha256,
        "size": item.size,
        "received_at": received_at_text(item),
        "leaf_index": leaf.index,
        "leaf_hash": leaf.leaf_hash,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "inclusion_proof": [p.hex() for p in proof],
        "tree_head": head_json(head),
        "public_key": public_key_b64(),
    }


def consistency_document(*, first: int, second: int | None = None) -> dict[str, Any]:
    """A proof that the log at size `second` (default: now) extends the log at size `first`,
    with both signed heads; `homesafe verify-consistency` checks it offline."""
    newest = TreeHead.objects.order_by("-tree_size").first()
    if newest is None:
        raise NotFound()
    second = newest.tree_size if second is None else second
    old = TreeHead.objects.filter(tree_size=first).first()
    new = TreeHead.objects.filter(tree_size=second).first()
    if old is None or new is None or first > second:
        raise NotFound()
    leaves = log_leaf_hashes(second)
    return {
        "old": head_json(old),
        "new": head_json(new),
        "proof": [p.hex() for p in merkle.consistency_proof(first, leaves)],
        "public_key": public_key_b64(),
    }


@dataclass
class LogCheck:
    ok: bool
    leaves: int
    problems: list[str]


def log_verify(*, max_problems: int = 20) -> LogCheck:
    """Recompute every leaf from its item and every signed head from the leaves: an edited
    item, leaf or head, or a rewritten past, shows up here."""
    problems: list[str] = []
    hashes: list[bytes] = []
    items = EvidenceItem.objects.in_bulk(list(LogLeaf.objects.values_list("item_id", flat=True)))
    for expected, leaf in enumerate(LogLeaf.objects.order_by("index").iterator(chunk_size=2000)):
        if leaf.index != expected:
            problems.append(f"leaf {leaf.index}: expected index {expected}")
        item = items.get(leaf.item_id)
        if item is None or item_leaf_hash(item) != leaf.leaf_hash:
            problems.append(f"leaf {leaf.index}: does not match its evidence item")
        hashes.append(bytes.fromhex(leaf.leaf_hash))
        if len(problems) >= max_problems:
            return LogCheck(False, len(hashes), problems)
    public = signing.public_raw()
    # One head per appended item: their roots come from a single pass over the leaves.
    roots = merkle.prefix_roots(hashes, TreeHead.objects.values_list("tree_size", flat=True))
    for head in TreeHead.objects.order_by("tree_size").iterator(chunk_size=2000):
        if head.tree_size > len(hashes):
            problems.append(f"tree head {head.tree_size}: larger than the log")
            continue
        top = roots.get(head.tree_size)
        if top is None or top.hex() != head.root_hash:
            problems.append(f"tree head {head.tree_size}: root does not match the log")
        if not merkle.verify_head(head_json(head), public):
            problems.append(f"tree head {head.tree_size}: signature does not verify")
        if len(problems) >= max_problems:
            break
    return LogCheck(not problems, len(hashes), problems)


# --- cleanup and viewing copies (background loops) -----------------------------------------


def handle_one_expired_upload() -> bool:
    """Remove one unfinished upload past its expiry (row and bytes). True if there was one."""
    now = timezone.now()
    upload = Upload.objects.filter(expires_at__lte=now).order_by("expires_at").first()
    if upload is None:
        return _sweep_orphans()
    if Upload.objects.filter(pk=upload.pk, expires_at__lte=now).delete()[0]:
        _forget_hasher(upload)
        storage.remove(storage.incoming_path(upload.storage_name))
    return True


WORK_FILE_MAX_AGE = 2 * 3600  # longer than any ffmpeg run is allowed to take


def _sweep_orphans() -> bool:
    """Incoming files with no upload row (a crash between steps), older than the TTL, and
    plaintext work files a crashed viewing-copy step left behind."""
    removed = False
    work = storage.evidence_dir() / "work"
    if work.exists():
        stale = timezone.now().timestamp() - WORK_FILE_MAX_AGE
        for path in work.iterdir():
            try:
                if path.stat().st_mtime < stale:
                    storage.remove(path)
                    removed = True
            except FileNotFoundError:
                continue
    directory = storage.incoming_dir()
    if not directory.exists():
        return removed
    cutoff = timezone.now().timestamp() - upload_ttl_seconds()
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if not Upload.objects.filter(storage_name=path.name).exists():
            storage.remove(path)
            removed = True
    return removed


def handle_one_viewing_copy() -> bool:
    """Make one pending viewing copy (metadata stripped) and extract the metadata worth
    keeping into encrypted fields. True if there was an item to work on."""
    from homesafe.evidence import media

    now = timezone.now()
    # Three claims that never finished (the process died each time): stop trying.
    EvidenceItem.objects.filter(
        viewing_status=ViewingCopy.PENDING, viewing_attempts__gte=3, viewing_lease_until__lt=now
    ).update(viewing_status=ViewingCopy.FAILED, viewing_reason=media.FAILED)
    candidate = (
        EvidenceItem.objects.filter(viewing_status=ViewingCopy.PENDING, viewing_attempts__lt=3)
        .filter(Q(viewing_lease_until__isnull=True) | Q(viewing_lease_until__lt=now))
        .order_by("received_at")
        .values_list("pk", "viewing_attempts")
        .first()
    )
    if candidate is None:
        return False
    pk, attempts = candidate
    claimed = EvidenceItem.objects.filter(
        pk=pk, viewing_status=ViewingCopy.PENDING, viewing_attempts=attempts
    ).update(viewing_attempts=attempts + 1, viewing_lease_until=now + timedelta(minutes=30))
    if not claimed:
        return True
    item = EvidenceItem.objects.select_related("report").get(pk=pk)
    media.make_viewing_copy(item)
    return True


# --- exports ------------------------------------------------------------------------------


def report_evidence_export(
    *, report: Report, actor: Any, what: str = "case_file"
) -> list[dict[str, Any]]:
    """Record an export (e.g. the police case-file PDF) in every item's custody trail, then
    return the summary to print: id, kind, SHA-256, size, time received, custody entries."""
    from homesafe.evidence.access import record_custody
    from homesafe.evidence.selectors import report_evidence_summary

    with transaction.atomic():
        for item in EvidenceItem.objects.filter(report=report).select_related("report"):
            record_custody(item, action="export", actor=actor, data={"export": what[:40]})
    return report_evidence_summary(report)
