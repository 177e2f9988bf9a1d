"""Real `homesafe worker` processes against the test database and a loopback SMTP server:
killed mid-run, two at once, Redis unreachable, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pytest
from django.db import connection

from homesafe.notify.models import Notification
from homesafe.notify.services import notification_enqueue
from homesafe.notify.transports import IDEMPOTENCY_HEADER

ROOT = Path(__file__).resolve().parents[3]


def _database_env() -> dict[str, str]:
    """Point a child process at this test run's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"HOMESAFE_SQLITE_PATH": str(db["NAME"])}
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return {"DATABASE_URL": f"postgres://{auth}@{host}/{db['NAME']}"}


class Workers:
    def __init__(self, smtp_server: Any, tmp_path: Path) -> None:
        self.smtp = smtp_server
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, loops: str = "notifications", **extra: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMESAFE_SMTP")}
        env.pop("DATABASE_URL", None)
        env.update(_database_env())
        env.update({
            "HOMESAFE_SMTP_HOST": self.smtp.host,
            "HOMESAFE_SMTP_PORT": str(self.smtp.port),
            "HOMESAFE_SMTP_TLS": "off",
            "HOMESAFE_NOTIFY_POLL_SECONDS": "0.1",
            # Short, so rows of a killed worker come back within the test.
            "HOMESAFE_NOTIFY_LEASE_SECONDS": "2",
        })
        env.update(extra)
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "w+b")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "homesafe.cli", "worker", "--loops", loops],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.procs.append((proc, log))
        return proc

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        log = next(log for p, log in self.procs if p is proc)
        log.flush()
        return Path(log.name).read_text(errors="replace")

    def stop(self, proc: subprocess.Popen[bytes]) -> float:
        """SIGTERM; returns the seconds it took to exit (it must exit 0)."""
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, self.output(proc)
        return time.monotonic() - started

    def kill_all(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log.close()


@pytest.fixture
def workers(transactional_db: Any, smtp_server: Any, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(smtp_server, tmp_path)
    yield pool
    pool.kill_all()  # before the test database is flushed


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def enqueue_many(n: int, prefix: str) -> list[str]:
    keys = [f"walk:{prefix}{i}:overdue:c1:email" for i in range(n)]
    for key in keys:
        notification_enqueue(
            key=key, channel="email", recipient=f"contact{key.split(':')[1]}@example.org",
            kind="walk_overdue", subject="Not home yet", body="Last seen on Cuba Street",
        )
    return keys


def all_sent() -> bool:
    return not Notification.objects.exclude(state="sent").exists()


def test_it_delivers_everything_after_a_worker_is_killed_mid_run(
    workers: Workers, smtp_server: Any
) -> None:
    keys = enqueue_many(100, "k")
    smtp_server.delay = 0.02  # slow enough to kill the worker part-way
    first = workers.start()
    wait_for(lambda: len(smtp_server.messages) >= 25, "the first mails")
    first.kill()  # SIGKILL: no chance to finish a send or release a lease
    first.wait(10)
    assert len(smtp_server.messages) < 100
    smtp_server.delay = 0
    second = workers.start()
    wait_for(all_sent, "every notification to be sent", timeout=40)
    workers.stop(second)

    received = Counter(smtp_server.header_values(IDEMPOTENCY_HEADER))
    assert set(received) == set(keys)  # every notification arrived at least once
    # A crash can only cause a re-send of the same notification, recognisable by its key
    # and identical Message-ID.
    for key, count in received.items():
        if count > 1:
            ids = {str(m["Message-ID"]) for m in smtp_server.messages
                   if m[IDEMPOTENCY_HEADER] == key}
            assert len(ids) == 1
    assert sum(received.values()) - len(keys) <= 3  # at most the sends in flight at the kill


def test_it_never_sends_twice_with_two_workers_running(
    workers: Workers, smtp_server: Any
) -> None:
    keys = enqueue_many(100, "t")
    smtp_server.delay = 0.005
    pair = [workers.start(), workers.start()]
    wait_for(all_sent, "every notification to be sent", timeout=40)
    for proc in pair:
        workers.stop(proc)
    received = Counter(smtp_server.header_values(IDEMPOTENCY_HEADER))
    assert sorted(received) == sorted(keys)
    assert set(received.values()) == {1}


def test_it_sends_email_with_redis_unreachable_and_stops_promptly_on_sigterm(
    workers: Workers, smtp_server: Any
) -> None:
    keys = enqueue_many(3, "r")
    # Nothing listens on port 1: notification delivery must not depend on Redis.
    proc = workers.start(REDIS_URL="redis://127.0.0.1:1/0")
    wait_for(all_sent, "every notification to be sent", timeout=30)
    assert sorted(smtp_server.header_values(IDEMPOTENCY_HEADER)) == sorted(keys)
    assert workers.stop(proc) < 5
    output = workers.output(proc)
    assert "loops stopped" in output
    assert "@example.org" not in output and "Cuba Street" not in output
