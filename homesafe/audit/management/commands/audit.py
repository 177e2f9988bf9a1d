"""`homesafe audit verify`: check the audit chain; exit non-zero on any break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from homesafe.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. `verify` checks the hash chain end to end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(problem)
            raise CommandError(f"audit chain broken ({len(result.problems)} problem(s) shown)")
        self.stdout.write(f"audit chain intact: {result.entries} entries")
