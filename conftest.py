"""Shared test setup: named personas (healthchecks' hc/test.py style) and small helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

# Tests never touch a developer's real data directory or key file.
_TEST_DIR = tempfile.mkdtemp(prefix="homesafe-test-")
os.environ.setdefault("HOMESAFE_DATA_DIR", _TEST_DIR)
os.environ.setdefault("HOMESAFE_RATELIMIT", "0")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    shutil.rmtree(_TEST_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield


class Personas:
    """A member, a volunteer, two caseworkers of different organisations, an org admin, a
    police liaison and a stranger. Staff have a confirmed authenticator (`otp_secret`)."""

    password = "correct horse battery staple"

    def __init__(self) -> None:
        from homesafe.accounts.models import Organisation, Role
        from homesafe.accounts.services import membership_grant

        self.org = Organisation.objects.create(name="Rainbow Safety", slug="rainbow")
        self.other_org = Organisation.objects.create(name="Other Org", slug="other")
        self.member = self.make_user("member@example.org")
        membership_grant(user=self.member, organisation=self.org, role=Role.MEMBER)
        self.volunteer = self.make_user("volunteer@example.org")
        membership_grant(user=self.volunteer, organisation=self.org, role=Role.VOLUNTEER)
        self.caseworker = self.make_user("caseworker@example.org", staff=True)
        membership_grant(user=self.caseworker, organisation=self.org, role=Role.CASEWORKER)
        self.admin = self.make_user("admin@example.org", staff=True)
        membership_grant(user=self.admin, organisation=self.org, role=Role.ORG_ADMIN)
        self.police = self.make_user("police@example.org", staff=True)
        membership_grant(user=self.police, organisation=self.org, role=Role.POLICE_LIAISON)
        self.other_caseworker = self.make_user("other-cw@example.org", staff=True)
        membership_grant(
            user=self.other_caseworker, organisation=self.other_org, role=Role.CASEWORKER
        )
        self.stranger = self.make_user("stranger@example.org")

    def make_user(self, email: str, *, staff: bool = False) -> Any:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from homesafe.accounts.models import User

        user = User.objects.create_user(email=email, password=self.password)
        if staff:
            TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        return user

    @staticmethod
    def totp_now(user: Any) -> str:
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.get(user=user, confirmed=True)
        return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def personas(db: Any) -> Personas:
    return Personas()


def login_verified(client: Any, user: Any) -> Any:
    """Log a client in as `user` with a verified second factor (as after a real OTP step)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def verified_login() -> Any:
    return login_verified
