"""Reading notifications."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from homesafe.notify.models import Notification


def notifications_for_walk(*, walk_id: uuid.UUID) -> QuerySet[Notification]:
    """Every notification about one walk, oldest first (delivery state included)."""
    return Notification.objects.filter(walk_id=walk_id).order_by("created_at")
