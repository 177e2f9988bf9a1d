"""Scale-out through Redis: two separate uvicorn processes over the same test database, a
socket on one, pushes published elsewhere. Needs REDIS_URL (the PostgreSQL + Redis CI pass)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from websockets.sync.client import connect

from homesafe.realtime import events
from homesafe.realtime.tests.conftest import session_cookie

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs REDIS_URL: scale-out goes through Redis (runs in the PostgreSQL + Redis pass)",
)


class ServerProcess:
    """`python -m uvicorn` serving the production app plus the diagnostic sockets."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "homesafe.realtime.tests.diagnostic_settings"
        name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite":
            env["HOMESAFE_SQLITE_PATH"] = str(name)
        else:  # the test database, not the one DATABASE_URL names
            parts = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "homesafe.realtime.tests.diagnostic_asgi:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--ws", "websockets-sansio",
             "--lifespan", "off", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while self.request("GET", "/healthz") != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{self.output()}")
            time.sleep(0.1)

    def request(self, method: str, path: str, body: Any = None) -> int | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


@pytest.fixture
def two_servers(transactional_db: Any) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    a = ServerProcess()
    try:
        b = ServerProcess()
    except Exception:
        a.stop()
        raise
    yield a, b
    for server in (a, b):
        server.stop()


def test_a_push_published_anywhere_reaches_a_socket_on_another_process(
    two_servers: Any, personas: Any
) -> None:
    a, b = two_servers
    assert settings.REDIS_URL
    group, other = f"test.{uuid.uuid4().hex}", f"test.{uuid.uuid4().hex}"
    with connect(
        f"ws://127.0.0.1:{b.port}/ws/diag/?follow={group}",
        origin=b.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": session_cookie(personas.member)},
        proxy=None,
    ) as ws:
        # From this test process, straight through Redis.
        events.publish(group, {"type": "test", "from": "test process"})
        assert json.loads(ws.recv(timeout=10)) == {"type": "test", "from": "test process"}

        # From a request handled by process A: a view publishing on commit, as services do.
        assert a.request("POST", "/diag/publish/", {
            "group": group, "message": {"type": "test", "from": "process A"},
        }) == 204, a.output()
        assert json.loads(ws.recv(timeout=10)) == {"type": "test", "from": "process A"}

        # Other groups' pushes do not reach it.
        assert a.request("POST", "/diag/publish/", {
            "group": other, "message": {"type": "test", "from": "elsewhere"},
        }) == 204
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)
    assert "Traceback" not in a.output() + b.output(), a.output() + b.output()
