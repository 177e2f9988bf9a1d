"""Appending to and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from homesafe.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def entry_hash(
    *,
    seq: int,
    created_at: str,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    organisation_id: int | None,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        [seq, created_at, actor_kind, actor_id, action, object_type, object_id,
         organisation_id, data, prev_hash],
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stamp(entry: AuditEntry) -> str:
    return entry.created_at.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditIn:
    """One entry to append, for `audit_append_many`: ids, codes and states only."""

    action: str
    object_type: str
    object_id: object
    actor: Any = None
    actor_kind: str | None = None
    organisation_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def audit_append(
    *,
    action: str,
    object_type: str,
    object_id: object,
    actor: Any = None,
    actor_kind: str | None = None,
    organisation_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Call inside the transaction of the change it records."""
    (entry,) = audit_append_many(
        [
            AuditIn(
                action=action,
                object_type=object_type,
                object_id=object_id,
                actor=actor,
                actor_kind=actor_kind,
                organisation_id=organisation_id,
                data=data or {},
            )
        ]
    )
    return entry


def audit_append_many(entries: Sequence[AuditIn]) -> list[AuditEntry]:
    """Append several entries, in order, under one lock of the head: three queries however
    many there are. Call inside the transaction of the changes they record."""
    if not entries:
        return []
    # No savepoint: an append that fails must fail the change it records, never let it
    # commit unaudited.
    with transaction.atomic(savepoint=False):
        head = AuditHead.objects.select_for_update().filter(id=1).first()
        if head is None:  # the very first append of this database
            AuditHead.objects.get_or_create(id=1)
            head = AuditHead.objects.select_for_update().get(id=1)
        now = timezone.now()
        seq, prev_hash = head.seq, head.hash
        rows = []
        for wanted in entries:
            actor = wanted.actor
            if actor is not None and getattr(actor, "is_authenticated", False):
                kind, actor_id = wanted.actor_kind or "user", int(actor.pk)
            else:
                kind, actor_id = wanted.actor_kind or "public", None
            seq += 1
            entry = AuditEntry(
                seq=seq,
                created_at=now,
                actor_kind=kind,
                actor_id=actor_id,
                action=wanted.action,
                object_type=wanted.object_type,
                object_id=str(wanted.object_id),
                organisation_id=wanted.organisation_id,
                data=wanted.data,
                prev_hash=prev_hash,
            )
            entry.hash = prev_hash = _hash_of(entry)
            rows.append(entry)
        AuditEntry.objects.bulk_create(rows)
        AuditHead.objects.filter(id=1).update(seq=seq, hash=prev_hash)
    return rows


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        created_at=_stamp(entry),
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        organisation_id=entry.organisation_id,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    problems: list[str]


def audit_verify(*, max_problems: int = 20) -> VerifyResult:
    """Walk the whole chain: sequence without gaps, links intact, hashes recomputed, head agrees."""
    problems: list[str] = []
    expected_seq = 1
    prev = GENESIS
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"entry {entry.seq}: expected sequence number {expected_seq}")
            expected_seq = entry.seq
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq}: does not link to the entry before it")
        if _hash_of(entry) != entry.hash:
            problems.append(f"entry {entry.seq}: contents do not match its hash")
        prev = entry.hash
        expected_seq += 1
        if len(problems) >= max_problems:
            break
    head = AuditHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if len(problems) < max_problems and (head_seq != expected_seq - 1 or head_hash != prev):
        problems.append(
            f"the chain ends at entry {expected_seq - 1} but the head records entry {head_seq}"
        )
    return VerifyResult(ok=not problems, entries=count, problems=problems)
