"""Authenticated encryption at rest (AES-256-GCM) bound to the record and field.

Every ciphertext carries the id of the key that made it; the associated data names the model,
the field and the primary key, so a ciphertext copied to another row or column fails to open.
Keys come from HOMESAFE_ENCRYPTION_KEYS or a key file, never from the database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """A ciphertext did not authenticate: wrong row, wrong field, wrong key or tampered."""


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        kid = self.active_id.encode()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_id]).encrypt(nonce, plaintext, aad)
        return bytes([FORMAT_VERSION, len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 2 or blob[0] != FORMAT_VERSION:
            raise DecryptionError("unknown ciphertext format")
        kid_len = blob[1]
        kid = blob[2 : 2 + kid_len].decode(errors="replace")
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError("ciphertext made with a key that is not loaded")
        if len(blob) < 2 + kid_len + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("ciphertext is truncated")
        nonce = blob[2 + kid_len : 2 + kid_len + NONCE_BYTES]
        try:
            return AESGCM(key).decrypt(nonce, blob[2 + kid_len + NONCE_BYTES :], aad)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not belong to this record and field") from exc

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return blob[2 : 2 + blob[1]].decode(errors="replace")


_lock = threading.Lock()
_cached: Keyring | None = None
# (path, mtime_ns) of the key file the cache was read from: a `keys rotate` run by another
# process replaces the file, and running servers must pick the new key up, not keep writing
# with a key that rotation is about to retire.
_cached_file_stamp: tuple[str, int] | None = None


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def _parse_env(spec: str) -> Keyring:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        kid, _, b64 = part.partition(":")
        key = base64.b64decode(b64)
        if len(key) != 32 or not kid:
            raise ValueError("each HOMESAFE_ENCRYPTION_KEYS entry must be id:base64(32 bytes)")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ValueError("HOMESAFE_ENCRYPTION_KEYS holds no key")
    return Keyring(active_id=order[0], keys=keys)


def read_key_file(path: Path) -> Keyring:
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = {kid: base64.b64decode(b64) for kid, b64 in data["keys"].items()}
    return Keyring(active_id=data["active"], keys=keys)


def write_key_file(path: Path, ring: Keyring) -> None:
    """Write atomically and owner-only, so a crash never leaves a half-written key file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "active": ring.active_id,
        "keys": {kid: base64.b64encode(k).decode() for kid, k in ring.keys.items()},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keys_from_environment() -> bool:
    return bool(settings.ENCRYPTION_KEYS)


def _file_stamp(path: Path) -> tuple[str, int] | None:
    try:
        return (str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None


def keyring() -> Keyring:
    """The loaded keyring; the key file is created on first use in the embedded default and
    re-read whenever it changes on disk."""
    global _cached, _cached_file_stamp
    with _lock:
        if settings.ENCRYPTION_KEYS:
            if _cached is None:
                _cached = _parse_env(settings.ENCRYPTION_KEYS)
            return _cached
        path = Path(settings.ENCRYPTION_KEY_FILE)
        stamp = _file_stamp(path)
        if _cached is None or stamp != _cached_file_stamp:
            if stamp is None:
                if getattr(settings, "PRODUCTION", False):
                    raise RuntimeError("no encryption keys: set HOMESAFE_ENCRYPTION_KEYS")
                kid = new_key_id()
                write_key_file(path, Keyring(kid, {kid: AESGCM.generate_key(256)}))
                stamp = _file_stamp(path)
            _cached = read_key_file(path)
            _cached_file_stamp = stamp
        return _cached


def reset_keyring_cache() -> None:
    global _cached, _cached_file_stamp
    with _lock:
        _cached = None
        _cached_file_stamp = None


def aad_for(label: str, pk: object) -> bytes:
    return f"homesafe|{label}|{pk}".encode()


def encrypt_text(value: str, *, label: str, pk: object) -> bytes:
    return keyring().encrypt(value.encode("utf-8"), aad_for(label, pk))


def decrypt_text(blob: bytes, *, label: str, pk: object) -> str:
    return keyring().decrypt(bytes(blob), aad_for(label, pk)).decode("utf-8")
