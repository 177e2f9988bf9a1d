"""Offline checks behind `homesafe verify`: a file against its receipt, and a consistency
proof between two signed tree heads. No database, no network, no Django."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from homesafe.evidence import merkle


def _hex(value: Any) -> bytes:
    return bytes.fromhex(str(value))


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _public_key(doc: dict[str, Any], pinned: str | None) -> bytes:
    raw = base64.b64decode(pinned or doc["public_key"], validate=True)
    if pinned and doc.get("public_key") and base64.b64decode(doc["public_key"]) != raw:
        raise ValueError("the receipt was signed with a different key than the one you trust")
    return raw


def verify_receipt(
    file_path: Path, receipt: dict[str, Any], *, public_key: str | None = None
) -> list[str]:
    """Every reason the file does not match the receipt, or the receipt does not prove the
    file's place in the signed log. An empty list means it verifies."""
    problems: list[str] = []
    try:
        if receipt.get("version") != 1:
            return ["unknown receipt version"]
        sha, size = file_digest(file_path)
        if sha != receipt["sha256"]:
            problems.append("the file's SHA-256 differs from the receipt")
        if size != int(receipt["size"]):
            problems.append("the file's size differs from the receipt")
        data = merkle.leaf_data(
            item=str(receipt["item"]),
            sha256=str(receipt["sha256"]),
            size=int(receipt["size"]),
            received_at=str(receipt["received_at"]),
        )
        leaf = merkle.leaf_hash(data)
        if leaf.hex() != receipt["leaf_hash"]:
            problems.append("the receipt's leaf hash does not match its item, hash, size and time")
        head = receipt["tree_head"]
        if (
            int(head["tree_size"]) != int(receipt["tree_size"])
            or head["root_hash"] != receipt["root_hash"]
        ):
            problems.append("the receipt's tree size or root differs from its signed tree head")
        if not merkle.verify_inclusion(
            index=int(receipt["leaf_index"]),
            tree_size=int(receipt["tree_size"]),
            leaf=leaf,
            proof=[_hex(p) for p in receipt["inclusion_proof"]],
            root_hash=_hex(receipt["root_hash"]),
        ):
            problems.append("the inclusion proof does not lead to the signed root")
        if not merkle.verify_head(head, _public_key(receipt, public_key)):
            problems.append("the tree head's signature does not verify")
    except (KeyError, ValueError, TypeError) as exc:
        problems.append(f"the receipt is malformed ({type(exc).__name__}: {exc})")
    return problems


def verify_consistency_document(doc: dict[str, Any], *, public_key: str | None = None) -> list[str]:
    """Check {"old": head, "new": head, "proof": [hex], "public_key": b64}: both heads are
    signed and the new tree contains the old one unchanged (the log only grew)."""
    problems: list[str] = []
    try:
        key = _public_key(doc, public_key)
        old, new = doc["old"], doc["new"]
        for name, head in (("old", old), ("new", new)):
            if not merkle.verify_head(head, key):
                problems.append(f"the {name} tree head's signature does not verify")
        if not merkle.verify_consistency(
            first=int(old["tree_size"]),
            second=int(new["tree_size"]),
            first_root=_hex(old["root_hash"]),
            second_root=_hex(new["root_hash"]),
            proof=[_hex(p) for p in doc["proof"]],
        ):
            problems.append("the consistency proof fails: the new log does not extend the old one")
    except (KeyError, ValueError, TypeError) as exc:
        problems.append(f"the proof document is malformed ({type(exc).__name__}: {exc})")
    return problems


def load_json(path: Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data
