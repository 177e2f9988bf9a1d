"""Key rotation: re-encrypt every encrypted column under a new active key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.db import transaction

from homesafe.common import crypto
from homesafe.common.fields import encrypted_fields


@dataclass
class RotationResult:
    active_key: str
    values_resealed: int
    retired_keys: list[str]


def reseal_all(chunk: int = 500) -> int:
    """Re-encrypt every encrypted value under the active key. Returns how many were rewritten."""
    active = crypto.keyring().active_id
    count = 0
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if not fields:
            continue
        pks = list(model._base_manager.values_list("pk", flat=True))
        for start in range(0, len(pks), chunk):
            with transaction.atomic():
                for obj in model._base_manager.filter(pk__in=pks[start : start + chunk]):
                    updates = {}
                    for field in fields:
                        raw = obj.__dict__.get(field.attname)
                        blob = getattr(raw, "blob", None)
                        if blob is None or crypto.Keyring.key_id_of(blob) == active:
                            continue
                        updates[field.attname] = field.reseal(obj)
                    if updates:
                        model._base_manager.filter(pk=obj.pk).update(**updates)
                        count += len(updates)
    return count


def keys_in_use() -> set[str]:
    used: set[str] = set()
    for model in apps.get_models():
        for field in encrypted_fields(model):
            values = model._base_manager.exclude(
                **{f"{field.attname}__isnull": True}
            ).values_list(field.attname, flat=True)
            for blob in values:
                used.add(crypto.Keyring.key_id_of(bytes(getattr(blob, "blob", blob))))
    return used


def rotate() -> RotationResult:
    """Make a new key active, re-encrypt everything, then drop the keys nothing uses any more.

    With keys in the environment the operator adds the new key (first in the list) and this
    re-encrypts to it; the key file is never touched then.
    """
    if crypto.keys_from_environment():
        crypto.reset_keyring_cache()
        resealed = reseal_all()
        ring = crypto.keyring()
        unused = sorted(set(ring.keys) - keys_in_use() - {ring.active_id})
        return RotationResult(ring.active_id, resealed, unused)

    path = Path(settings.ENCRYPTION_KEY_FILE)
    old = crypto.keyring()
    kid = crypto.new_key_id()
    # Step 1: the new key joins the file as active while the old ones stay readable, so a
    # crash at any point leaves every value decryptable.
    crypto.write_key_file(path, crypto.Keyring(kid, {**old.keys, kid: AESGCM.generate_key(256)}))
    crypto.reset_keyring_cache()
    resealed = reseal_all()
    ring = crypto.keyring()
    in_use = keys_in_use()
    retired = sorted(k for k in ring.keys if k != kid and k not in in_use)
    keep = {k: v for k, v in ring.keys.items() if k not in retired}
    crypto.write_key_file(path, crypto.Keyring(kid, keep))
    crypto.reset_keyring_cache()
    return RotationResult(kid, resealed, retired)
