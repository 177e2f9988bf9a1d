"""Receipts and the Merkle log: the real `homesafe verify` CLI in a subprocess, tampering of
the file, the receipt or the log, and consistency between an old and a new tree head."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from homesafe.evidence import merkle, services, signing
from homesafe.evidence.models import LogLeaf, TreeHead
from homesafe.evidence.tests.conftest import API, jpeg_with_gps, upload_file

ROOT = Path(__file__).resolve().parents[3]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homesafe.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


@pytest.fixture
def uploaded(client: Any, dropbox_token: str, tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps())  # the log is not empty
    data = jpeg_with_gps((300, 200), noise=True)
    done = upload_file(client, {"dropbox": dropbox_token}, data)
    upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps((10, 10)))
    path, receipt_path = tmp_path / "clip.jpg", tmp_path / "receipt.json"
    path.write_bytes(data)
    receipt = client.get(f"{API}/receipts/{done['item']}").json()
    receipt_path.write_text(json.dumps(receipt))
    return path, receipt_path, receipt


def test_a_receipt_verifies_offline_with_the_real_cli(uploaded: Any) -> None:
    path, receipt_path, receipt = uploaded
    assert receipt["leaf_index"] == 1 and receipt["tree_size"] == 2
    done = cli("verify", str(path), str(receipt_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK:")
    pinned = cli("verify", str(path), str(receipt_path), "--public-key", receipt["public_key"])
    assert pinned.returncode == 0


def test_a_flipped_byte_in_the_file_fails(uploaded: Any) -> None:
    path, receipt_path, _ = uploaded
    data = path.read_bytes()
    for at in (0, len(data) // 2, len(data) - 1):
        path.write_bytes(flip(data, at))
        done = cli("verify", str(path), str(receipt_path))
        assert done.returncode == 1 and "SHA-256" in done.stdout
    path.write_bytes(data + b"\x00")
    assert cli("verify", str(path), str(receipt_path)).returncode == 1


@pytest.mark.parametrize(
    "field",
    [
        "sha256",
        "leaf_hash",
        "root_hash",
        "inclusion_proof",
        "tree_head.signature",
        "tree_head.root_hash",
        "tree_head.timestamp",
        "received_at",
        "item",
        "size",
        "leaf_index",
        "public_key",
    ],
)
def test_a_changed_receipt_fails(uploaded: Any, field: str) -> None:
    path, receipt_path, receipt = uploaded
    doc = json.loads(json.dumps(receipt))
    holder, key = (doc["tree_head"], field.split(".")[1]) if "." in field else (doc, field)
    value = holder[key]
    if key == "inclusion_proof":
        holder[key] = [value[0][:-1] + ("0" if value[0][-1] != "0" else "1"), *value[1:]]
    elif key in ("size", "leaf_index"):
        holder[key] = value + 1
    elif key == "public_key":
        import base64

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        other = (
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        holder[key] = base64.b64encode(other).decode()
    elif key == "signature":
        import base64

        raw = bytearray(base64.b64decode(value))
        raw[5] ^= 1
        holder[key] = base64.b64encode(bytes(raw)).decode()
    else:
        holder[key] = value[:-1] + ("0" if value[-1] != "0" else "1")
    receipt_path.write_text(json.dumps(doc))
    done = cli("verify", str(path), str(receipt_path))
    assert done.returncode == 1, (field, done.stdout)
    assert "FAIL" in done.stdout


def test_a_receipt_signed_by_another_key_fails_when_the_key_is_pinned(uploaded: Any) -> None:
    path, receipt_path, receipt = uploaded
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    done = cli(
        "verify", str(path), str(receipt_path), "--public-key", base64.b64encode(other).decode()
    )
    assert done.returncode == 1


def test_a_flipped_byte_in_the_log_is_detected(uploaded: Any, client: Any, tmp_path: Path) -> None:
    path, _receipt_path, receipt = uploaded
    assert services.log_verify().ok
    leaf = LogLeaf.objects.get(index=0)
    LogLeaf.objects.filter(index=0).update(leaf_hash=flip(bytes.fromhex(leaf.leaf_hash), 3).hex())
    check = services.log_verify()
    assert not check.ok and any("leaf 0" in p for p in check.problems)
    # A receipt issued from the edited log no longer reaches the signed root.
    fresh = tmp_path / "fresh.json"
    fresh.write_text(json.dumps(client.get(f"{API}/receipts/{receipt['item']}").json()))
    assert cli("verify", str(path), str(fresh)).returncode == 1
    LogLeaf.objects.filter(index=0).update(leaf_hash=leaf.leaf_hash)
    head = TreeHead.objects.get(tree_size=2)
    TreeHead.objects.filter(tree_size=2).update(
        root_hash=flip(bytes.fromhex(head.root_hash), 0).hex()
    )
    assert any("tree head 2" in p for p in services.log_verify().problems)


def test_consistency_between_an_old_and_a_new_head(
    client: Any, dropbox_token: str, tmp_path: Path
) -> None:
    for n in range(3):
        upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps((8 + n, 8)))
    old_size = 3
    for n in range(4):
        upload_file(client, {"dropbox": dropbox_token}, jpeg_with_gps((20 + n, 8)))
    for first in range(1, 8):
        doc = client.get(f"{API}/log/consistency", {"first": first}).json()
        assert doc["new"]["tree_size"] == 7
        proof = tmp_path / f"proof-{first}.json"
        proof.write_text(json.dumps(doc))
        done = cli("verify-consistency", str(proof))
        assert done.returncode == 0, (first, done.stdout)
    head = client.get(f"{API}/log/head").json()
    assert head["tree_size"] == 7 and head["public_key"] == services.public_key_b64()

    # The server rewrites history: leaf 1 replaced, every later head re-signed with its key.
    old = services.head_json(TreeHead.objects.get(tree_size=old_size))
    LogLeaf.objects.filter(index=1).update(leaf_hash="ab" * 32)
    leaves = services.log_leaf_hashes()
    for head_row in TreeHead.objects.filter(tree_size__gt=old_size):
        root = merkle.root(leaves[: head_row.tree_size]).hex()
        sig, kid = signing.sign_head(
            tree_size=head_row.tree_size, root_hash=root, timestamp=head_row.timestamp
        )
        TreeHead.objects.filter(pk=head_row.pk).update(root_hash=root, signature=sig, key_id=kid)
    rewritten = services.consistency_document(first=old_size)
    rewritten["old"] = old  # the auditor's copy of the old head, kept from before
    proof = tmp_path / "rewritten.json"
    proof.write_text(json.dumps(rewritten))
    done = cli("verify-consistency", str(proof))
    assert done.returncode == 1 and "does not extend" in done.stdout
    assert not services.log_verify().ok


def test_the_merkle_code_matches_a_direct_computation() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(13)]
    for n in range(1, 14):
        tree = leaves[:n]
        root = merkle.root(tree)
        for i in range(n):
            proof = merkle.inclusion_proof(i, tree)
            assert merkle.verify_inclusion(
                index=i, tree_size=n, leaf=tree[i], proof=proof, root_hash=root
            )
            assert not merkle.verify_inclusion(
                index=i,
                tree_size=n,
                leaf=leaves[(i + 1) % 13] if n > 1 else b"x" * 32,
                proof=proof,
                root_hash=root,
            )
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, tree)
            assert merkle.verify_consistency(
                first=m, second=n, first_root=merkle.root(leaves[:m]), second_root=root, proof=proof
            )
            if m < n:
                assert not merkle.verify_consistency(
                    first=m,
                    second=n,
                    first_root=merkle.leaf_hash(b"bad"),
                    second_root=root,
                    proof=proof,
                )


def test_prefix_roots_match_the_root_of_each_prefix() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    every = merkle.prefix_roots(leaves, range(71))
    assert every == {n: merkle.root(leaves[:n]) for n in range(71)}
    # Unordered, repeated and out-of-range sizes: only the sizes the leaves can answer.
    assert merkle.prefix_roots(leaves, [64, 3, 3, 100, -1]) == {
        3: merkle.root(leaves[:3]),
        64: merkle.root(leaves[:64]),
    }
