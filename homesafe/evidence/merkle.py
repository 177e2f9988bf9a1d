"""RFC 6962 / RFC 9162 Merkle tree arithmetic and tree-head signatures.

Pure functions with no Django import: `homesafe verify` uses them offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HEAD_CONTEXT = b"homesafe-evidence-tree-head-v1\n"
LEAF_CONTEXT = b"homesafe-evidence-leaf-v1\n"


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_data(*, item: str, sha256: str, size: int, received_at: str) -> bytes:
    """The bytes a leaf commits to: the item, its content hash, size and receipt time."""
    body = {"item": item, "received_at": received_at, "sha256": sha256, "size": size}
    return LEAF_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def leaf_hash(data: bytes) -> bytes:
    return _h(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return _h(b"")
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def prefix_roots(leaves: Sequence[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """MTH(D[n]) for each requested n <= len(leaves), in one pass over the leaves (a stack of
    perfect subtrees) instead of a whole recomputation per size."""
    wanted = sorted({n for n in sizes if 0 <= n <= len(leaves)})
    roots: dict[int, bytes] = {}
    if wanted and wanted[0] == 0:
        roots[0] = root([])
        wanted.pop(0)
    stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
    pending = iter(wanted)
    target = next(pending, None)
    for count, leaf in enumerate(leaves, start=1):
        if target is None:
            break
        height, node = 0, leaf
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
        if count == target:
            top = node
            for _height, left in reversed(stack[:-1]):
                top = node_hash(left, top)
            roots[count] = top
            target = next(pending, None)
    return roots


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of these leaves."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index outside the tree")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of this one."""
    if not 0 < first <= len(leaves):
        raise ValueError("old tree size outside the log")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_inclusion(
    *, index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of size `second` extends the tree of size `first`."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the path
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def head_message(*, tree_size: int, root_hash: str, timestamp: str) -> bytes:
    body = {"root_hash": root_hash, "timestamp": timestamp, "tree_size": tree_size}
    return HEAD_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def verify_head(head: dict[str, Any], public_raw: bytes) -> bool:
    """Check a signed tree head's Ed25519 signature and key id."""
    try:
        if head["key_id"] != key_id(public_raw):
            return False
        message = head_message(
            tree_size=int(head["tree_size"]),
            root_hash=str(head["root_hash"]),
            timestamp=str(head["timestamp"]),
        )
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(head["signature"], validate=True), message
        )
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
