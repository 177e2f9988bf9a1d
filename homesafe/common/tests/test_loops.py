"""The supervised loop runner: drains while there is work, idles, survives errors, stops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from homesafe.common import loops


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(loops, "_registry", {})
    yield


def start(names: list[str]) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=loops.run_loops, args=(names,), kwargs={"stop_event": stop, "join_timeout": 5}
    )
    thread.start()
    return thread, stop


def wait_for(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_it_runs_steps_back_to_back_while_there_is_work_then_idles() -> None:
    calls: list[float] = []
    work = [True] * 5

    def step() -> bool:
        calls.append(time.monotonic())
        return work.pop() if work else False

    loops.register_loop("drain", step, idle_seconds=30)
    thread, stop = start(["drain"])
    wait_for(lambda: len(calls) >= 6)
    time.sleep(0.2)
    assert len(calls) == 6  # five with work at once, then one idle wait of 30 s
    begun = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - begun < 2  # the idle wait is cut short


def test_it_keeps_going_after_a_step_raises_and_logs_no_exception_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(loops, "ERROR_PAUSE_FIRST", 0.01)
    calls = []
    address = "mere.contact@" + "example.org"  # the stack shows source lines, not values

    def step() -> bool:
        calls.append(1)
        if len(calls) <= 3:
            raise ValueError(f"could not reach {address}")
        return False

    loops.register_loop("flaky", step, idle_seconds=0.01)
    caplog.set_level(logging.INFO, logger="homesafe.loops")
    thread, stop = start(["flaky"])
    wait_for(lambda: len(calls) >= 6)
    stop.set()
    thread.join(5)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().split("\n")[0] for r in errors] == [
        f"loop flaky: step raised ValueError ({n} in a row); pausing {p}s"
        for n, p in ((1, 0), (2, 0), (3, 0))
    ]
    assert "test_loops.py" in errors[0].getMessage()  # where it happened...
    assert "example.org" not in caplog.text  # ...but not what the message said


def test_it_backs_off_exponentially_on_repeated_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0)
            if len(waits) >= 8:
                self.set()
            return self.is_set()

    def step() -> bool:
        raise RuntimeError

    loops.run_loop(loops.Loop("broken", step, idle_seconds=1), Stop())
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_it_runs_a_loop_in_several_threads() -> None:
    seen: set[str] = set()
    both = threading.Barrier(2)

    def step() -> bool:
        seen.add(threading.current_thread().name)
        both.wait(timeout=5)
        return False

    loops.register_loop("pair", step, idle_seconds=0.01, threads=2)
    thread, stop = start(["pair"])
    wait_for(lambda: len(seen) == 2)
    stop.set()
    both.abort()
    thread.join(5)
    assert seen == {"loop-pair-0", "loop-pair-1"}


def test_it_refuses_unknown_loop_names() -> None:
    loops.register_loop("known", lambda: False, idle_seconds=1)
    with pytest.raises(ValueError, match="unknown loops: nope"):
        loops.run_loops(["nope"], stop_event=threading.Event())
    with pytest.raises(ValueError):
        loops.register_loop("bad", lambda: False, idle_seconds=0)


def test_it_registers_the_notification_loops() -> None:
    from django.apps import apps

    apps.get_app_config("notify").ready()  # into this test's own, empty registry
    assert {"notifications", "notification-retention"} <= set(loops.registered_loops())
