"""Shared test setup: named personas and small helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# homesafe/common/pytest_env.py (loaded with -p, see pyproject) gives each run its own data dir.


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Empty this run's cache keys. On Redis, never FLUSHDB: the server may hold other data."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        keys = list(client.scan_iter(match=f"*{settings.CACHES['default']['KEY_PREFIX']}*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
    yield


class Personas:
    """A member, a volunteer, two caseworkers of different organisations, an org admin, a
    police liaison and a stranger. Staff have a confirmed authenticator (`otp_secret`)."""

    password = "correct horse battery staple"

    def __init__(self) -> None:
        from homesafe.accounts.models import Organisation, Role
        from homesafe.accounts.services import membership_grant

        self.org = Organisation.objects.create(name="Rainbow Safety", slug="rainbow")
        self.other_org = Organisation.objects.create(name="Other Org", slug="other")
        self.member = self.make_user("member@example.org")
        membership_grant(user=self.member, organisation=self.org, role=Role.MEMBER)
        self.volunteer = self.make_user("volunteer@example.org")
        membership_grant(user=self.volunteer, organisation=self.org, role=Role.VOLUNTEER)
        self.caseworker = self.make_user("caseworker@example.org", staff=True)
        membership_grant(user=self.caseworker, organisation=self.org, role=Role.CASEWORKER)
        self.admin = self.make_user("admin@example.org", staff=True)
        membership_grant(user=self.admin, organisation=self.org, role=Role.ORG_ADMIN)
        self.police = self.make_user("police@example.org", staff=True)
        membership_grant(user=self.police, organisation=self.org, role=Role.POLICE_LIAISON)
        self.other_caseworker = self.make_user("other-cw@example.org", staff=True)
        membership_grant(
            user=self.other_caseworker, organisation=self.other_org, role=Role.CASEWORKER
        )
        self.stranger = self.make_user("stranger@example.org")

    def make_user(self, email: str, *, staff: bool = False) -> Any:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from homesafe.accounts.models import User

        user = User.objects.create_user(email=email, password=self.password)
        if staff:
            TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        return user

    @staticmethod
    def totp_now(user: Any) -> str:
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.get(user=user, confirmed=True)
        return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def personas(db: Any) -> Personas:
    return Personas()


def login_verified(client: Any, user: Any) -> Any:
    """Log a client in as `user` with a verified second factor (as after a real OTP step)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def verified_login() -> Any:
    return login_verified


# --- real servers and a real browser ---------------------------------------------------------

ARTIFACTS = os.path.join(os.path.dirname(__file__), "test-artifacts")
CHROMIUM = os.environ.get("HOMESAFE_CHROMIUM", "/usr/bin/chromium")


class AsgiServer:
    """homesafe's ASGI app served by a real uvicorn on a loopback port, in a thread."""

    def __init__(self) -> None:
        import socket
        import threading

        import uvicorn

        from config.asgi import application

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        # Sync views and database_sync_to_async ran in asgiref's one shared thread, which keeps
        # its database connection; closed here, or PostgreSQL cannot drop the test database.
        from asgiref.sync import SyncToAsync
        from django.db import connections

        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
        # Each HTTP request ran in a thread of its own (Django's ThreadSensitiveContext); those
        # threads are gone, but their connections close only when collected.
        import gc

        gc.collect()


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[AsgiServer]:
    """A live uvicorn over the test database (transactional: other threads see the data)."""
    server = AsgiServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (which cannot download browsers here).

    Module scope: Playwright's sync API keeps an event loop running in the main thread while
    it is open, which would break later tests that run their own (asyncio.run)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/test, which installs it")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def screenshot(page: Any, name: str) -> str:
    os.makedirs(os.path.join(ARTIFACTS, "screenshots"), exist_ok=True)
    path = os.path.join(ARTIFACTS, "screenshots", f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path


def axe_violations(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """Run axe-core (from node_modules) in the page; return violations of the given impacts."""
    source_path = os.path.join(os.path.dirname(__file__), "node_modules", "axe-core", "axe.min.js")
    if not os.path.exists(source_path):
        pytest.fail("node_modules/axe-core is missing: run scripts/test, which runs npm ci")
    with open(source_path, encoding="utf-8") as fh:
        page.evaluate(fh.read())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


# --- a real SMTP server on loopback ----------------------------------------------------------


class SmtpServer:
    """aiosmtpd on a free loopback port, keeping every message it accepted.

    `reply` set to an SMTP reply (e.g. "451 4.3.0 try later") refuses messages with it;
    `delay` slows each message down; `stop()`/`start()` take the server off the network."""

    def __init__(self) -> None:
        import socket
        import threading

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.host = "127.0.0.1"
        self.messages: list[Any] = []
        self.reply: str | None = None
        self.delay = 0.0
        self._lock = threading.Lock()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio
        from email import message_from_bytes

        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply:
            return self.reply
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def header_values(self, header: str) -> list[str]:
        with self._lock:
            # Long values are folded onto continuation lines; keys hold no whitespace.
            return ["".join(str(m[header]).split()) for m in self.messages]

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, with Django's SMTP backend pointed at it."""
    import logging

    # aiosmtpd logs every envelope at INFO; tests assert on what homesafe logs, not on that.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield server
    server.stop()
