"""`homesafe demo`: (re)seed the Wellington demo data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "(Re)seed the Wellington demo data; --otp EMAIL prints a demo account's current code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--otp", metavar="EMAIL")

    def handle(self, *args: Any, **options: Any) -> None:
        from homesafe import demo

        if options.get("otp"):
            self.stdout.write(demo.demo_otp(options["otp"]))
            return
        summary = demo.seed()
        self.stdout.write(summary)
