"""Reference codes: the reporter's only key to their report.

16 symbols of Crockford's base32 (80 bits), shown in four groups of four so they can be read
aloud or written down. Only a SHA-256 of the normalised code is stored.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
# Letters people confuse when copying a code by hand.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str | None:
    """Upper-case, drop spaces and dashes, fix look-alikes; None if it cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t\n").translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(code: str) -> str | None:
    cleaned = normalise(code)
    if cleaned is None:
        return None
    return hashlib.sha256(f"homesafe-report-code:{cleaned}".encode()).hexdigest()
