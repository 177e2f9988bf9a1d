"""Encrypted evidence files: independent AES-256-GCM segments under a per-file data key.

Layout of a file: an 8-byte header, then segments of SEGMENT_BYTES plaintext (the last may be
shorter), each stored as nonce (12) + ciphertext + tag (16). The associated data of a segment
names the file, the segment's index and whether it is the last one, so segments cannot be
reordered, moved between files, dropped from the end or have the end cut off unnoticed.
Reading decrypts one segment at a time: memory stays flat however large the file.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from homesafe.evidence.conf import SEGMENT_BYTES, evidence_dir

HEADER = b"HSEV\x01\x00\x00\x00"
NONCE = 12
TAG = 16
DISK_SEGMENT = NONCE + SEGMENT_BYTES + TAG


class StorageError(Exception):
    """A stored file is missing, truncated or does not authenticate."""


def new_storage_name() -> str:
    """A server-generated file name: never derived from what the uploader sent."""
    return secrets.token_hex(16)


def new_data_key() -> bytes:
    return AESGCM.generate_key(256)


def incoming_dir() -> Path:
    return evidence_dir() / "incoming"


def store_dir() -> Path:
    return evidence_dir() / "store"


def incoming_path(name: str) -> Path:
    return incoming_dir() / name


def store_path(name: str) -> Path:
    return store_dir() / name[:2] / name


def ensure_dirs() -> None:
    for path in (evidence_dir(), incoming_dir(), store_dir()):
        path.mkdir(parents=True, exist_ok=True, mode=0o700)


def segment_count(size: int) -> int:
    return max(1, -(-size // SEGMENT_BYTES))


def disk_size(size: int) -> int:
    """Bytes on disk of a complete file holding `size` plaintext bytes."""
    return len(HEADER) + segment_count(size) * (NONCE + TAG) + size


def _aad(name: str, index: int, final: bool) -> bytes:
    return name.encode() + b"|" + struct.pack(">QB", index, 1 if final else 0)


class SegmentWriter:
    """Appends plaintext to an encrypted file whose total size is known from the start.

    Opened at a segment boundary (`offset`, a multiple of SEGMENT_BYTES or the full size); any
    bytes on disk beyond that point (a chunk that did not finish) are cut off first.
    """

    def __init__(self, path: Path, *, key: bytes, name: str, size: int, offset: int) -> None:
        if offset % SEGMENT_BYTES and offset != size:
            raise ValueError("writers start on a segment boundary")
        self.path, self.name, self.size = path, name, size
        self.aead = AESGCM(key)
        self.index = offset // SEGMENT_BYTES
        self.first_index = self.index
        self.written = offset
        self.last_index = segment_count(size) - 1
        self.pending = bytearray()
        new = not path.exists()
        if new and offset:
            raise StorageError("the upload's earlier chunks are missing")
        self.fh = open(path, "xb" if new else "r+b")  # noqa: SIM115  (closed in close())
        if new:
            os.chmod(path, 0o600)
            self.fh.write(HEADER)
        self.fh.seek(len(HEADER) + self.index * DISK_SEGMENT)
        self.fh.truncate()

    def write(self, data: bytes | memoryview) -> None:
        if self.written + len(self.pending) + len(data) > self.size:
            raise ValueError("more bytes than the declared size")
        self.pending += data
        while len(self.pending) >= SEGMENT_BYTES and (
            self.index < self.last_index or len(self.pending) == SEGMENT_BYTES
        ):
            self._seal(bytes(self.pending[:SEGMENT_BYTES]))
            del self.pending[:SEGMENT_BYTES]
        if self.pending and self.written + len(self.pending) == self.size:
            self._seal(bytes(self.pending))
            self.pending.clear()

    def _seal(self, plain: bytes) -> None:
        final = self.index == self.last_index
        nonce = os.urandom(NONCE)
        self.fh.write(nonce + self.aead.encrypt(nonce, plain, _aad(self.name, self.index, final)))
        self.index += 1
        self.written += len(plain)

    @property
    def aligned(self) -> bool:
        """True when every byte given so far is sealed on disk (a resumable point)."""
        return not self.pending

    def close(self, *, sync: bool = False) -> None:
        self.fh.flush()
        if sync:
            os.fsync(self.fh.fileno())
        elif hasattr(os, "posix_fadvise"):
            # Start writing this chunk to disk now, in the background (Linux starts writeback
            # of dirty pages on DONTNEED), so the final fsync of a large upload has little
            # left to do; and keep evidence out of the page cache.
            start = len(HEADER) + self.first_index * DISK_SEGMENT
            os.posix_fadvise(self.fh.fileno(), start, 0, os.POSIX_FADV_DONTNEED)
        self.fh.close()


class EncryptedReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of an encrypted file (for Pillow, hashing,
    metadata and viewing copies). Only the current segment is held in memory."""

    def __init__(self, path: Path, *, key: bytes, name: str, size: int) -> None:
        super().__init__()
        try:
            self.fh = open(path, "rb")  # noqa: SIM115  (closed in close())
        except FileNotFoundError as exc:
            raise StorageError("evidence file is missing") from exc
        if self.fh.read(len(HEADER)) != HEADER:
            self.fh.close()
            raise StorageError("not an evidence file")
        self.aead = AESGCM(key)
        self.name, self.size = name, size
        self.last_index = segment_count(size) - 1
        self.pos = 0
        self._seg_index = -1
        self._seg = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def segment(self, index: int) -> bytes:
        if index != self._seg_index:
            final = index == self.last_index
            want = (self.size - index * SEGMENT_BYTES) if final else SEGMENT_BYTES
            self.fh.seek(len(HEADER) + index * DISK_SEGMENT)
            raw = self.fh.read(NONCE + want + TAG)
            if len(raw) != NONCE + want + TAG:
                raise StorageError("evidence file is truncated")
            try:
                self._seg = self.aead.decrypt(
                    raw[:NONCE], raw[NONCE:], _aad(self.name, index, final)
                )
            except InvalidTag as exc:
                raise StorageError("evidence segment does not authenticate") from exc
            self._seg_index = index
        return self._seg

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.pos >= self.size:
            return 0
        index, within = divmod(self.pos, SEGMENT_BYTES)
        seg = self.segment(index)
        n = min(len(buffer), len(seg) - within)
        buffer[:n] = seg[within : within + n]
        self.pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self.fh.close()
        super().close()


def iter_plaintext(
    path: Path, *, key: bytes, name: str, size: int, start: int = 0, block: int = 16
) -> Iterator[bytes]:
    """Yield the plaintext from byte `start` in pieces of `block` segments (streamed downloads).
    The last segment is checked to be final, so a file cut short raises instead of ending."""
    reader = EncryptedReader(path, key=key, name=name, size=size)
    try:
        index, within = divmod(start, SEGMENT_BYTES)
        if size == 0:
            reader.segment(0)
            return
        while index <= reader.last_index:
            parts = []
            for _ in range(block):
                if index > reader.last_index:
                    break
                seg = reader.segment(index)
                parts.append(seg[within:] if within else seg)
                within = 0
                index += 1
            yield b"".join(parts)
    finally:
        reader.close()


def encrypt_file(src: Path, dest: Path, *, key: bytes, name: str) -> int:
    """Encrypt a plaintext file (a viewing copy made by ffmpeg or Pillow) into storage."""
    size = src.stat().st_size
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    writer = SegmentWriter(dest, key=key, name=name, size=size, offset=0)
    try:
        with open(src, "rb") as fh:
            while block := fh.read(1024 * 1024):
                writer.write(block)
            if size == 0:
                writer._seal(b"")
    finally:
        writer.close(sync=True)
    return size


def move_into_store(incoming: Path, name: str) -> Path:
    """Move a finished upload from incoming to the store (same file system: a rename)."""
    dest = store_path(name)
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(incoming, "rb+") as fh:
        os.fsync(fh.fileno())
    shutil.move(str(incoming), str(dest))
    return dest


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
