"""Walk home: vetted volunteers, walk requests, offers, live positions, watchers, feedback.

Exact points (start, destination, live positions) are encrypted; matching uses H3 cells of
about 100 m (resolution 10) and their resolution-7 parents, stored in plain for indexes.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.utils import timezone

from homesafe.accounts.models import Organisation, TrustedContact, User
from homesafe.common.fields import EncryptedJSONField, EncryptedTextField


class VolunteerStatus(models.TextChoices):
    APPLIED = "applied"
    APPROVED = "approved"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class DutyState(models.TextChoices):
    OFF_DUTY = "off_duty"
    ON_DUTY = "on_duty"
    ON_WALK = "on_walk"
    ON_BREAK = "on_break"


class WalkSettings(models.Model):
    """An organisation's walk-home rules; defaults suit a city-centre night."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="walk_settings"
    )
    approvals_required = models.PositiveSmallIntegerField(default=2)
    offers_per_round = models.PositiveSmallIntegerField(default=5)
    radius_m = models.PositiveIntegerField(default=2000)
    radius_step_m = models.PositiveIntegerField(default=1000)
    max_radius_m = models.PositiveIntegerField(default=5000)
    offer_timeout_s = models.PositiveIntegerField(default=90)
    arrival_buffer_min = models.PositiveIntegerField(default=10)
    grace_min = models.PositiveIntegerField(default=5)
    oncall = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="oncall_for"
    )

    def __str__(self) -> str:
        return f"walk settings of org {self.organisation_id}"


class VolunteerProfile(models.Model):
    """A person's standing as an escort for one organisation, and their live duty state."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="volunteer_profiles")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="volunteers"
    )
    first_name = models.CharField(max_length=40)
    # Optional: a small JPEG re-encoded by the server (no metadata), base64, encrypted.
    photo = EncryptedTextField()
    status = models.CharField(
        max_length=12, choices=VolunteerStatus.choices, default=VolunteerStatus.APPLIED
    )
    status_reason = models.CharField(max_length=40, blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    duty_state = models.CharField(
        max_length=10, choices=DutyState.choices, default=DutyState.OFF_DUTY
    )
    duty_changed_at = models.DateTimeField(null=True, blank=True)
    # Presence while on duty: ~100 m cell and its res-7 parent in plain (matching), the exact
    # point encrypted (shown to the person being walked). Cleared when going off duty.
    cell_r10 = models.BigIntegerField(null=True, blank=True)
    cell_r7 = models.BigIntegerField(null=True, blank=True)
    position = EncryptedJSONField()
    position_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_profile_per_org")
        ]
        # Matching reads contiguous ranges of res-10 cells (homesafe/walks/matching.py).
        indexes: ClassVar = [models.Index(fields=["organisation", "duty_state", "cell_r10"])]

    def __str__(self) -> str:
        return f"volunteer {self.pk}"


class VolunteerApproval(models.Model):
    profile = models.ForeignKey(
        VolunteerProfile, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(User, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["profile", "approver"], name="approve_once")
        ]

    def __str__(self) -> str:
        return f"approval of {self.profile_id}"


class SavedPlace(models.Model):
    """A member's saved destination (home, a friend's place). Label and point encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_places")
    label = EncryptedTextField()
    point = EncryptedJSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"saved place {self.pk}"


class SafeVenue(models.Model):
    """A public place the organisation trusts (open late, staff briefed). Public data."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="safe_venues"
    )
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=200, blank=True)
    lat = models.FloatField()
    lng = models.FloatField()
    cell_r7 = models.BigIntegerField(db_index=True)
    hours = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return self.name


class WalkKind(models.TextChoices):
    ESCORTED = "escorted"
    WATCHED = "watched"  # no escort: trusted contacts follow with the same arrival timer


class WalkState(models.TextChoices):
    SEARCHING = "searching"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class DueKind(models.TextChoices):
    NONE = ""
    WIDEN = "widen"
    OVERDUE_PROMPT = "overdue_prompt"
    ESCALATE = "escalate"


class Walk(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="walks")
    requester = models.ForeignKey(User, on_delete=models.PROTECT, related_name="walks")
    kind = models.CharField(max_length=10, choices=WalkKind.choices, default=WalkKind.ESCORTED)
    state = models.CharField(max_length=10, choices=WalkState.choices, default=WalkState.SEARCHING)
    party_size = models.PositiveSmallIntegerField(default=1)
    note = EncryptedTextField()
    start = EncryptedJSONField()
    destination = EncryptedJSONField()
    destination_label = EncryptedTextField()
    pickup_cell = models.BigIntegerField()  # ~100 m: what offers show before acceptance
    start_cell_r7 = models.BigIntegerField()
    end_cell_r7 = models.BigIntegerField()
    distance_m = models.PositiveIntegerField()
    search_radius_m = models.PositiveIntegerField(default=2000)
    escort = models.ForeignKey(
        VolunteerProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="walks"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, blank=True)
    handover_confirmed_at = models.DateTimeField(null=True, blank=True)
    arrival_deadline = models.DateTimeField(null=True, blank=True)
    # The next thing the deadline loop must do for this walk, and when: one indexed column,
    # so the loop's scan grows with what is due, not with how many walks are active.
    due_at = models.DateTimeField(null=True, blank=True)
    due_kind = models.CharField(max_length=16, choices=DueKind.choices, blank=True)
    no_volunteer_at = models.DateTimeField(null=True, blank=True)
    overdue_prompted_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    sos_at = models.DateTimeField(null=True, blank=True)
    requester_last = EncryptedJSONField()  # {"lat", "lng", "at"}
    escort_last = EncryptedJSONField()
    retention_due_at = models.DateTimeField(null=True, blank=True)
    trail_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["due_at"], name="walk_due_idx"),
            models.Index(fields=["retention_due_at"], name="walk_retention_idx"),
            models.Index(fields=["requester", "state"]),
        ]

    def __str__(self) -> str:
        return f"walk {self.pk}"


class OfferState(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


class WalkOffer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    walk = models.ForeignKey(Walk, on_delete=models.CASCADE, related_name="offers")
    volunteer = models.ForeignKey(VolunteerProfile, on_delete=models.CASCADE, related_name="offers")
    state = models.CharField(max_length=10, choices=OfferState.choices, default=OfferState.PENDING)
    distance_m = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["walk", "volunteer"], name="one_offer_per_volunteer")
        ]
        indexes: ClassVar = [models.Index(fields=["volunteer", "state"])]

    def __str__(self) -> str:
        return f"offer {self.pk}"


class WalkPosition(models.Model):
    """One point of a live trail. Deleted 24 hours after the walk ends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    walk = models.ForeignKey(Walk, on_delete=models.CASCADE, related_name="positions")
    role = models.CharField(max_length=10)  # requester / escort
    point = EncryptedJSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["walk", "created_at"])]

    def __str__(self) -> str:
        return f"position {self.pk}"


class WalkWatch(models.Model):
    """A trusted contact's private link to follow one walk; only a hash of the token is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    walk = models.ForeignKey(Walk, on_delete=models.CASCADE, related_name="watches")
    contact = models.ForeignKey(TrustedContact, null=True, on_delete=models.SET_NULL)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"watch {self.pk}"


class WalkFeedback(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    walk = models.ForeignKey(Walk, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(User, on_delete=models.CASCADE)
    role = models.CharField(max_length=10)  # requester / escort
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = EncryptedTextField()
    something_happened = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["walk", "author"], name="feedback_once")
        ]

    def __str__(self) -> str:
        return f"feedback {self.pk}"
