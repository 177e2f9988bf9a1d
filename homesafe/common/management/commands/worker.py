"""`homesafe worker [--loops a,b]`: run the background loops until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from homesafe.common.loops import registered_loops, run_loops

logger = logging.getLogger("homesafe.loops")


class Command(BaseCommand):
    help = "Run the background loops (notifications, walk deadlines, retention) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loops", default="", help="comma-separated loop names (default: all registered)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = [n.strip() for n in options["loops"].split(",") if n.strip()] or None
        known = registered_loops()
        unknown = sorted(set(names or []) - set(known))
        if unknown:
            raise CommandError(
                f"unknown loops: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        if not settings.REDIS_URL:
            logger.warning(
                "no REDIS_URL: realtime pushes from this worker reach no browser (they only "
                "travel between processes through Redis); alerts by email, SMS and push do"
            )
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()
            # A second signal ends the process at once: at-least-once delivery makes that
            # safe (a row mid-send is re-sent when its lease runs out).
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        run_loops(names, stop_event=stop)
