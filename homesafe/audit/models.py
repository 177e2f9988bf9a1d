"""The tamper-evident audit log: append-only rows, each holding the hash of the one before."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, when. Never personal data: ids, codes and states only."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16)  # user, reporter, system, public
    actor_id = models.BigIntegerField(null=True)  # a plain id, not a key: entries outlive users
    action = models.CharField(max_length=48)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    organisation_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"audit {self.seq} {self.action}"


class AuditHead(models.Model):
    """The single row naming the newest entry. Appenders lock it, so the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head {self.seq}"
