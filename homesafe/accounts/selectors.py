"""Reads about people and their roles."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.accounts.models import CASE_ROLES, STAFF_ROLES, Membership, Role


def roles_of(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def has_staff_role(user: Any) -> bool:
    """Caseworker, org admin or police liaison anywhere: a second factor is required."""
    return bool(roles_of(user) & {str(r) for r in STAFF_ROLES})


def has_case_role(user: Any) -> bool:
    return bool(roles_of(user) & {str(r) for r in CASE_ROLES})


def has_confirmed_totp(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_landing_url(user: Any) -> str:
    """Where a staff login lands: the triage queue, or a police liaison's shared reports."""
    from django.urls import reverse

    roles = roles_of(user)
    if not roles & {str(r) for r in CASE_ROLES} and str(Role.POLICE_LIAISON) in roles:
        return reverse("police_list")
    return reverse("case_queue")
