"""Production shape: separate web and worker processes. Two uvicorn processes and a worker on
PostgreSQL + Redis pass offers and live positions between them; with Redis unreachable, SOS
and overdue alerts still go out by email and no request fails."""

from __future__ import annotations

import json
import os
import secrets
import socket
import string
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from websockets.sync.client import ClientConnection, connect

from homesafe.notify.models import Notification
from homesafe.notify.tests.test_worker import Workers, _database_env, wait_for
from homesafe.realtime.tests.conftest import session_cookie
from homesafe.walks.models import DueKind, Walk
from homesafe.walks.tests.conftest import COURTENAY, HOME

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebProcess:
    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.update(_database_env())
        env.update(extra)
        self.log = open(tmp_path / f"web-{self.port}.log", "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--lifespan",
                "off",
                "--ws",
                "websockets-sansio",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._up, f"web process on {self.port}", timeout=30)

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


class Browser:
    """A logged-in session speaking to the API as the pages do (session cookie + CSRF)."""

    def __init__(self, user: Any) -> None:
        alphabet = string.ascii_letters + string.digits  # Django's CSRF secret alphabet
        self.csrf = "".join(secrets.choice(alphabet) for _ in range(32))
        self.cookie = f"{session_cookie(user)}; {settings.CSRF_COOKIE_NAME}={self.csrf}"

    def call(self, web: WebProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            web.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Cookie": self.cookie,
                "X-CSRFToken": self.csrf,
                "Content-Type": "application/json",
                "Origin": web.url,
                "Referer": web.url + "/",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                raw = answer.read()
                is_json = answer.headers.get_content_type() == "application/json"
                return answer.status, json.loads(raw or b"null") if is_json else raw
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")[:500]

    def socket(self, web: WebProcess) -> ClientConnection:
        return connect(  # type: ignore[call-overload]
            web.url.replace("http://", "ws://") + "/ws/walks/live/",
            origin=web.url,
            additional_headers={"Cookie": self.cookie},
            proxy=None,
            open_timeout=10,
        )


def _next_of(ws: ClientConnection, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
            return message


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Any]:
    started: list[WebProcess] = []

    def start(**extra: str) -> WebProcess:
        process = WebProcess(tmp_path, **extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


WALK = {
    "start": {"lat": COURTENAY[0], "lng": COURTENAY[1]},
    "destination": {"lat": HOME[0], "lng": HOME[1]},
    "party_size": 2,
}


@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="the scale-out shape runs in the PostgreSQL + Redis pass of .ci/run",
)
def test_two_web_processes_and_a_worker_share_offers_and_positions(
    web: Any,
    workers: Workers,
    smtp_server: Any,
    world: Any,
) -> None:
    assert connection.vendor == "postgresql"
    a, b = web(), web()
    worker = workers.start(loops="walk-deadlines,notifications")
    volunteer = world.volunteer("v@example.org", north_m=150, east_m=0)
    escort, member = Browser(volunteer.user), Browser(world.member)

    with escort.socket(b) as ws_b:
        status, walk = member.call(a, "POST", "/api/walks", WALK)  # through process A
        assert status == 201, walk
        offer = _next_of(ws_b, "offer.new")["offer"]  # ...reaches the volunteer on B
        assert offer["walk_id"] == walk["id"] and offer["party_size"] == 2
        status, accepted = escort.call(b, "POST", f"/api/volunteer/offers/{offer['id']}/accept")
        assert status == 200 and accepted["state"] == "active", accepted
        ws_b.send(json.dumps({"type": "refresh"}))
        with member.socket(a) as ws_a:
            escort.call(b, "POST", "/api/volunteer/position", {"lat": -41.2941, "lng": 174.7810})
            seen = _next_of(ws_a, "walk.position", role="escort")
            assert seen["point"]["lat"] == -41.2941
            member.call(
                a, "POST", f"/api/walks/{walk['id']}/position", {"lat": -41.2946, "lng": 174.7805}
            )
            moved = _next_of(ws_b, "walk.position", role="requester")
            assert moved["point"]["lat"] == -41.2946
            status, _ = member.call(a, "POST", f"/api/walks/{walk['id']}/sos")
            assert status == 200
            wait_for(lambda: len(smtp_server.messages) >= 3, "the SOS emails from the worker")
    workers.stop(worker)
    assert {str(m["To"]) for m in smtp_server.messages} >= {
        "flatmate@example.org",
        "sister@example.org",
        "oncall@example.org",
    }


def test_alerts_go_out_by_email_with_redis_unreachable(
    web: Any,
    workers: Workers,
    smtp_server: Any,
    world: Any,
) -> None:
    dead_redis = {"REDIS_URL": "redis://127.0.0.1:1/0"}
    site = web(**dead_redis)
    worker = workers.start(loops="walk-deadlines,notifications", **dead_redis)
    member = Browser(world.member)

    status, walk = member.call(site, "POST", "/api/walks", {**WALK, "kind": "watched"})
    assert status == 201, walk
    for path in ("/walk/", f"/walk/{walk['id']}/", "/healthz"):
        status, _ = member.call(site, "GET", path)
        assert status == 200, (path, status)
    status, body = member.call(site, "POST", f"/api/walks/{walk['id']}/sos")
    assert status == 200, body
    wait_for(
        lambda: Notification.objects.filter(kind="walk_sos", state="sent").count() == 3,
        "SOS emails",
        timeout=30,
    )

    # The same walk then runs past its grace period: the overdue escalation goes out too.
    Walk.objects.filter(pk=walk["id"]).update(due_at=timezone.now(), due_kind=DueKind.ESCALATE)
    wait_for(
        lambda: Notification.objects.filter(kind="walk_overdue", state="sent").count() == 3,
        "overdue emails",
        timeout=30,
    )
    workers.stop(worker)
    alerts = [m for m in smtp_server.messages if "Follow a walk" not in str(m["Subject"])]
    assert len(alerts) == 6  # SOS and overdue, each to two contacts and the on-call caseworker
    assert " 500 " not in site.output() and "Traceback" not in site.output()
