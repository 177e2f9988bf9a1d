"""Writes about people: accounts, roles, second factors."""

from __future__ import annotations

import secrets
import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.accounts.models import Membership, Organisation, Role, TrustedContact, User
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError

RECOVERY_CODES = 10
MAX_TRUSTED_CONTACTS = 10


def user_create(*, email: str, password: str, display_name: str = "") -> User:
    """A new account; the password must pass Django's validators."""
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise DomainError(_("An account with that email already exists."), field="email")
    candidate = User(email=email, display_name=display_name)
    validate_password(password, candidate)
    return User.objects.create_user(email=email, password=password, display_name=display_name)


def membership_grant(*, user: User, organisation: Organisation, role: str) -> Membership:
    if role not in Role.values:
        raise DomainError(_("Unknown role."), field="role")
    membership, _created = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=role
    )
    return membership


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user to scan; replaces any earlier unconfirmed one."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_enrolment_confirm(*, user: User, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator with a code from it; returns single-use recovery codes."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise DomainError(_("Start setting up your authenticator first."), code="no_enrolment")
    if not device.verify_token(token.strip().replace(" ", "")):
        raise DomainError(
            _("That code did not match. Check your authenticator's clock and retry."), field="token"
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_replace(user=user)
        audit_append(action="mfa.enrol", object_type="user", object_id=user.pk, actor=user)
    return device, codes


def recovery_codes_replace(*, user: User) -> list[str]:
    """Fresh single-use recovery codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def trusted_contact_add(*, owner: User, name: str, email: str) -> TrustedContact:
    """Someone to alert if a walk goes wrong: a name and an email, both kept encrypted."""
    name, email = name.strip(), email.strip().lower()
    if not name or len(name) > 80:
        raise DomainError(_("Give a name (up to 80 characters)."), field="name")
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(_("That email address does not look right."), field="email")
    if TrustedContact.objects.filter(owner=owner).count() >= MAX_TRUSTED_CONTACTS:
        raise DomainError(_("You can keep up to %(n)s trusted contacts.")
                          % {"n": MAX_TRUSTED_CONTACTS}, code="too_many")
    return TrustedContact.objects.create(id=uuid.uuid4(), owner=owner, name=name, email=email)


def trusted_contact_remove(*, owner: User, contact_id: uuid.UUID | str) -> None:
    deleted, _detail = TrustedContact.objects.filter(owner=owner, pk=contact_id).delete()
    if not deleted:
        raise DomainError(_("No such contact."), code="not_found")
