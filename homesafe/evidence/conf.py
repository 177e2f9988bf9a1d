"""Evidence settings, read from Django settings when present, else from the environment."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from homesafe.common.env import env_int, env_str

SEGMENT_BYTES = 64 * 1024
# Chunks of a resumable upload: a multiple of the encryption segment, so every chunk but the
# last fills whole segments.
CHUNK_BYTES = 8 * 1024 * 1024


def max_upload_bytes(organisation_slug: str | None = None) -> int:
    """Largest evidence file accepted (HOMESAFE_EVIDENCE_MAX_BYTES, default 2 GiB), or the
    organisation's own limit from HOMESAFE_EVIDENCE_MAX_BYTES_BY_ORG ("slug:bytes,...")."""
    if organisation_slug:
        per_org = getattr(settings, "EVIDENCE_MAX_BYTES_BY_ORG", None)
        if per_org is None:
            per_org = env_str("HOMESAFE_EVIDENCE_MAX_BYTES_BY_ORG", "")
        if isinstance(per_org, str):
            per_org = dict(
                part.strip().rsplit(":", 1) for part in per_org.split(",") if ":" in part
            )
        if organisation_slug in per_org:
            return int(per_org[organisation_slug])
    value = getattr(settings, "EVIDENCE_MAX_BYTES", None)
    if value is None:
        value = env_int("HOMESAFE_EVIDENCE_MAX_BYTES", 2 * 1024**3)
    return int(value)


def upload_ttl_seconds() -> int:
    """How long an unfinished upload may sit idle before cleanup removes it."""
    value = getattr(settings, "EVIDENCE_UPLOAD_TTL_SECONDS", None)
    if value is None:
        value = env_int("HOMESAFE_EVIDENCE_UPLOAD_TTL_SECONDS", 24 * 3600)
    return int(value)


def max_image_pixels() -> int:
    """Images larger than this many pixels are refused before any decoding (bomb guard)."""
    value = getattr(settings, "EVIDENCE_MAX_IMAGE_PIXELS", None)
    if value is None:
        value = env_int("HOMESAFE_EVIDENCE_MAX_IMAGE_PIXELS", 100_000_000)
    return int(value)


def evidence_dir() -> Path:
    """Root of evidence storage: DATA_DIR/evidence unless HOMESAFE_EVIDENCE_DIR says otherwise."""
    value = getattr(settings, "EVIDENCE_DIR", None) or env_str("HOMESAFE_EVIDENCE_DIR", "")
    return Path(value) if value else Path(settings.DATA_DIR) / "evidence"


def signing_key_file() -> Path:
    """The Ed25519 key that signs Merkle tree heads (HOMESAFE_EVIDENCE_SIGNING_KEY_FILE)."""
    value = getattr(settings, "EVIDENCE_SIGNING_KEY_FILE", None) or env_str(
        "HOMESAFE_EVIDENCE_SIGNING_KEY_FILE", ""
    )
    return Path(value) if value else Path(settings.DATA_DIR) / "evidence-signing.key"
