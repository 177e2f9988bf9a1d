"""People, organisations and the roles people hold in them."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone as djtz
from django.utils.translation import gettext_lazy as _

from homesafe.common.fields import EncryptedTextField


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    VOLUNTEER = "volunteer", _("Volunteer escort")
    CASEWORKER = "caseworker", _("Caseworker")
    ORG_ADMIN = "org_admin", _("Organisation admin")
    POLICE_LIAISON = "police_liaison", _("Police liaison")


# Roles that reach case data and therefore need a second factor.
STAFF_ROLES = frozenset({Role.CASEWORKER, Role.ORG_ADMIN, Role.POLICE_LIAISON})
CASE_ROLES = frozenset({Role.CASEWORKER, Role.ORG_ADMIN})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_staff", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Logs in with email; the name shown is their own choice."""

    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("name to show"), max_length=80, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Django admin access only.")
    date_joined = models.DateTimeField(default=djtz.now)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return f"user {self.pk}"


class Organisation(models.Model):
    """A community organisation: runs casework, vets volunteers, publishes statistics."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    timezone = models.CharField(max_length=64, default="Pacific/Auckland")
    emergency_number = models.CharField(max_length=16, default="111")
    created_at = models.DateTimeField(default=djtz.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One role a person holds in one organisation; a person may hold many."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=djtz.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="one_role_once")
        ]
        indexes: ClassVar = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.role} of org {self.organisation_id}"


class TrustedContact(models.Model):
    """Someone a member trusts to be told when a walk goes wrong. Name and email encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="trusted_contacts")
    name = EncryptedTextField()
    email = EncryptedTextField()
    created_at = models.DateTimeField(default=djtz.now)

    def __str__(self) -> str:
        return f"trusted contact {self.pk}"
