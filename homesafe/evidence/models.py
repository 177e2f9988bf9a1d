"""Evidence: drop boxes, unfinished uploads, stored items and the Merkle log of every item.

Originals are stored encrypted under DATA_DIR/evidence (storage.py), never in the database;
rows hold only server-generated storage names, hashes, sizes and encrypted per-file data keys.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from homesafe.common.fields import EncryptedJSONField, EncryptedTextField
from homesafe.reports.models import Report


class Source(models.TextChoices):
    DROPBOX = "dropbox", "Drop box"
    FOLLOWUP = "followup", "Follow-up page"
    SUBMITTED = "submitted", "Report form"
    STAFF = "staff", "Staff"


class Kind(models.TextChoices):
    PHOTO = "photo", "Photo"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    DOCUMENT = "document", "Document"


class ViewingCopy(models.TextChoices):
    PENDING = "pending", "Being made"
    READY = "ready", "Ready"
    UNAVAILABLE = "unavailable", "Not offered"
    FAILED = "failed", "Could not be made"


class DropBox(models.Model):
    """A link a caseworker hands out so anyone can upload to one report until it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="dropboxes")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Only the SHA-256 of the token is kept; the token itself travels in the link.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    label = EncryptedTextField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"drop box {self.pk}"

    def is_open(self) -> bool:
        return self.closed_at is None and self.expires_at > timezone.now()


class Upload(models.Model):
    """An upload in progress. Its bytes sit, already encrypted, in the incoming directory."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The opaque upload id handed to the client is a capability; only its hash is stored.
    key_hash = models.CharField(max_length=64, unique=True)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    dropbox = models.ForeignKey(
        DropBox, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = EncryptedTextField()
    declared_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    mime = models.CharField(max_length=64, blank=True)  # set by sniffing the first chunk
    storage_name = models.CharField(max_length=64, unique=True)
    data_key = EncryptedTextField()  # base64 per-file key, sealed by the master keyring
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    busy_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"upload {self.pk}"


class EvidenceItem(models.Model):
    """One received original (immutable) and, when it can be made, its viewing copy."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="evidence_items")
    dropbox = models.ForeignKey(
        DropBox, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mime = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    filename = EncryptedTextField()
    storage_name = models.CharField(max_length=64, unique=True)
    data_key = EncryptedTextField()
    # Capture time, GPS and device found in the original, for the caseworker only.
    metadata = EncryptedJSONField()
    viewing_status = models.CharField(
        max_length=16, choices=ViewingCopy.choices, default=ViewingCopy.PENDING, db_index=True
    )
    viewing_reason = models.CharField(max_length=200, blank=True)
    viewing_mime = models.CharField(max_length=64, blank=True)
    viewing_size = models.BigIntegerField(null=True, blank=True)
    viewing_storage_name = models.CharField(max_length=64, blank=True)
    viewing_data_key = EncryptedTextField()
    viewing_attempts = models.PositiveSmallIntegerField(default=0)
    viewing_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"evidence {self.pk}"


class LogLeaf(models.Model):
    """One entry of the append-only Merkle log (RFC 6962 leaf) of every evidence item."""

    index = models.BigIntegerField(primary_key=True)
    item = models.OneToOneField(EvidenceItem, on_delete=models.PROTECT, related_name="leaf")
    leaf_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"log leaf {self.index}"


class TreeHead(models.Model):
    """A signed tree head: the log's size and root at one moment, signed with Ed25519."""

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40)
    signature = models.CharField(max_length=100)
    key_id = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"tree head {self.tree_size}"


class LogState(models.Model):
    """Single row locked while a leaf is appended, so leaf indexes never race."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"log of {self.size}"
