"""`homesafe demo`: (re)seed the Wellington demo data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "(Re)seed the Wellington demo data; --otp EMAIL prints a demo account's current code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--otp", metavar="EMAIL")

    def handle(self, *args: Any, **options: Any) -> None:
        from homesafe import demo

        if settings.PRODUCTION:
            # Demo accounts have a published password: never on a real deployment.
            raise CommandError("demo data is refused in production mode (HOMESAFE_PRODUCTION)")

        if options.get("otp"):
            self.stdout.write(demo.demo_otp(options["otp"]))
            return
        try:
            summary = demo.seed()
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary)
