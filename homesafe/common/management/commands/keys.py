"""`homesafe keys rotate|status`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from homesafe.common import crypto, keys


class Command(BaseCommand):
    help = "Encryption keys: `rotate` re-encrypts everything under a new key; `status` lists keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rotate", "status"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            ring = crypto.keyring()
            used = keys.keys_in_use()
            for kid in ring.keys:
                marks = ["active"] if kid == ring.active_id else []
                marks.append("in use" if kid in used else "unused")
                self.stdout.write(f"{kid}: {', '.join(marks)}")
            return
        result = keys.rotate()
        self.stdout.write(
            f"active key {result.active_key}; {result.values_resealed} values re-encrypted"
        )
        if result.retired_keys:
            verb = (
                "may now be removed from HOMESAFE_ENCRYPTION_KEYS"
                if crypto.keys_from_environment()
                else "removed from the key file"
            )
            self.stdout.write(f"keys no longer used ({verb}): {', '.join(result.retired_keys)}")
