"""Supervised background loops.

An app registers a step, a function that does one small unit of work and returns True if
there was work (`handle_one_notification`). `run_loops` runs each step in its own threads:
again at once while it finds work, after `idle_seconds` when it found none. A step that raises
is logged and retried after a growing pause; a loop never dies of it. Stopping waits for the
current step only. Any number of processes may run the same loops: steps claim their rows.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections, connection

logger = logging.getLogger("homesafe.loops")

ERROR_PAUSE_FIRST = 1.0
ERROR_PAUSE_MAX = 60.0


@dataclass(frozen=True)
class Loop:
    name: str
    step: Callable[[], bool]
    idle_seconds: float
    threads: int = 1


_registry: dict[str, Loop] = {}
_registry_lock = threading.Lock()


def register_loop(
    name: str, step: Callable[[], bool], idle_seconds: float, *, threads: int = 1
) -> None:
    """Add a loop (from an AppConfig.ready). Registering a name again replaces it."""
    if threads < 1 or idle_seconds <= 0:
        raise ValueError("a loop needs at least one thread and a positive idle time")
    with _registry_lock:
        _registry[name] = Loop(name, step, idle_seconds, threads)


def registered_loops() -> dict[str, Loop]:
    with _registry_lock:
        return dict(_registry)


def _log_failure(name: str, exc: Exception, in_a_row: int, pause: float) -> None:
    # The exception's text is left out on purpose: messages can quote personal data (an
    # address in an SMTP error, a value in a database error). Class and stack are enough.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "loop %s: step raised %s (%d in a row); pausing %.0fs\n%s",
        name, type(exc).__name__, in_a_row, pause, stack,
    )


def run_loop(loop: Loop, stop_event: threading.Event) -> None:
    """Run one loop in the current thread until stop_event is set."""
    failures = 0
    try:
        while not stop_event.is_set():
            # Between steps, never inside one: drops connections that broke or grew too old.
            close_old_connections()
            try:
                busy = loop.step()
            except Exception as exc:
                failures += 1
                pause = min(ERROR_PAUSE_MAX, ERROR_PAUSE_FIRST * 2 ** (failures - 1))
                _log_failure(loop.name, exc, failures, pause)
                stop_event.wait(pause)
                continue
            failures = 0
            if not busy:
                stop_event.wait(loop.idle_seconds)
    finally:
        connection.close()


def run_loops(
    names: Iterable[str] | None = None,
    *,
    stop_event: threading.Event,
    join_timeout: float | None = None,
) -> None:
    """Run the named loops (all registered ones by default) until stop_event is set, then wait
    for their current steps to finish (at most join_timeout seconds)."""
    loops = registered_loops()
    wanted = list(loops) if names is None else list(names)
    unknown = sorted(set(wanted) - set(loops))
    if unknown:
        raise ValueError(f"unknown loops: {', '.join(unknown)} (known: {', '.join(sorted(loops))})")
    threads: list[threading.Thread] = []
    for name in wanted:
        loop = loops[name]
        for number in range(loop.threads):
            thread = threading.Thread(
                target=run_loop,
                args=(loop, stop_event),
                name=f"loop-{name}-{number}",
                daemon=True,  # a step stuck past join_timeout must not keep the process alive
            )
            thread.start()
            threads.append(thread)
    logger.info("loops running: %s", ", ".join(f"{n} x{loops[n].threads}" for n in wanted))
    # Wait in short slices: the main thread must stay free to run signal handlers.
    while not stop_event.wait(0.5):
        pass
    for thread in threads:
        thread.join(join_timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        logger.warning("loops still busy at shutdown: %s", ", ".join(stuck))
    else:
        logger.info("loops stopped")
