"""Model fields whose values are encrypted at rest with crypto.py.

The instance attribute holds plaintext; the column holds a ciphertext bound to
`<app>.<model>.<field>` and the row's primary key, which must be set before saving (homesafe's
sensitive models use UUID keys made in Python).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from homesafe.common import crypto


class _Sealed:
    """A ciphertext read from the database, opened on first attribute access."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


class _Descriptor:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        if self.field.attname not in instance.__dict__:
            # Deferred by .only()/.defer(): load it rather than pretend it is empty.
            instance.refresh_from_db(fields=[self.field.attname])
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, _Sealed):
            value = self.field.open(instance, value.blob)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.BinaryField):
    """Text, encrypted at rest. Empty string and None are stored as NULL."""

    # For django-stubs: the attribute holds plaintext (str, or JSON values), not bytes.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, f"homesafe.common.fields.{type(self).__name__}", args, kwargs

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, self.attname, _Descriptor(self))

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def encode_value(self, value: Any) -> str:
        return str(value)

    def decode_value(self, text: str) -> Any:
        return text

    def open(self, instance: Any, blob: bytes) -> Any:
        text = crypto.decrypt_text(blob, label=self.label, pk=instance.pk)
        return self.decode_value(text)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return _Sealed(bytes(value))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or value == "" or value == [] or value == {}:
            return None
        if isinstance(value, _Sealed):
            return value.blob
        if model_instance.pk is None:
            raise ValueError("encrypted fields need the primary key set before saving")
        return crypto.encrypt_text(self.encode_value(value), label=self.label, pk=model_instance.pk)

    def to_python(self, value: Any) -> Any:
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, _Sealed):
            value = value.blob
        if isinstance(value, str):
            # Only reachable through a raw lookup; plaintext must never reach a column.
            raise TypeError("refusing to store plaintext in an encrypted column")
        return super().get_db_prep_value(value, connection, prepared)

    def reseal(self, instance: Any) -> bytes | None:
        """A fresh ciphertext under the active key, for key rotation."""
        value = getattr(instance, self.attname)
        if value is None or value == "":
            return None
        return crypto.encrypt_text(self.encode_value(value), label=self.label, pk=instance.pk)


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (dict, list, numbers), encrypted at rest."""

    def encode_value(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def decode_value(self, text: str) -> Any:
        return json.loads(text)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
