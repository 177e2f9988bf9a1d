"""The Ed25519 key that signs the evidence log's tree heads.

Kept as a file in the data dir (owner-only, written atomically, made once in the embedded
default) like the encryption key file; HOMESAFE_EVIDENCE_SIGNING_KEY_FILE points elsewhere.
Production refuses to invent one: losing it would make new receipts unverifiable against old
ones.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from homesafe.evidence import merkle
from homesafe.evidence.conf import signing_key_file

_lock = threading.Lock()
_cache: dict[str, Ed25519PrivateKey] = {}


def _write(path: Path, key: Ed25519PrivateKey) -> None:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".evidence-signing-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(base64.b64encode(raw).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # link, not replace: two processes starting at once must not each make a key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def signing_key() -> Ed25519PrivateKey:
    path = signing_key_file()
    with _lock:
        cached = _cache.get(str(path))
        if cached is not None:
            return cached
        if not path.exists():
            if getattr(settings, "PRODUCTION", False):
                raise RuntimeError(f"no evidence signing key at {path}")
            _write(path, Ed25519PrivateKey.generate())
        raw = base64.b64decode(path.read_text(encoding="ascii").strip())
        key = Ed25519PrivateKey.from_private_bytes(raw)
        _cache[str(path)] = key
        return key


def public_raw() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def sign_head(*, tree_size: int, root_hash: str, timestamp: str) -> tuple[str, str]:
    """(base64 signature, key id) of a tree head."""
    message = merkle.head_message(tree_size=tree_size, root_hash=root_hash, timestamp=timestamp)
    return base64.b64encode(signing_key().sign(message)).decode(), merkle.key_id(public_raw())


def reset_cache() -> None:
    with _lock:
        _cache.clear()
