"""The base of homesafe's WebSocket consumers (STYLE.md §9).

A socket is refused (HTTP 403 at the handshake, the same answer for every reason) unless its
Origin is this site, its user is logged in (or the subclass lets anonymous sockets through to
`authorize`), and `authorize()` names at least one group. The socket then follows those groups
in this process's hub, which writes their messages to it as JSON text frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from django.http.request import split_domain_port, validate_host
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from homesafe.accounts.middleware import STAFF_STARTED
from homesafe.common.errors import NotFound
from homesafe.realtime import events
from homesafe.realtime.hub import DEFAULT_OUTBOX_LIMIT, Outbox, hub

# Close codes after the handshake: a client that fell behind should reconnect (and re-read
# state); one that sent something unreadable should not.
CLOSE_TRY_AGAIN = 1013
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_SESSION_ENDED = 4401


class HomesafeSocket(AsyncJsonWebsocketConsumer):
    """Subclasses implement `authorize()` (through the object's access checkpoint, wrapped in
    `database_sync_to_async`) and, if clients send messages, `receive_json(content)`; they do
    not override `connect()`, which this class does not call. Frames that are not a JSON
    object close the socket (1003)."""

    #: Let sockets without a logged-in user reach `authorize()`, which then decides alone
    #: (trusted contacts follow a walk through a watch held in their session, not an account).
    allow_anonymous: ClassVar[bool] = False
    #: Messages that may wait for a slow client before it is disconnected.
    outbox_limit: ClassVar[int] = DEFAULT_OUTBOX_LIMIT
    # Not a configured alias, so Channels gives this consumer no channel layer: pushes come
    # from the hub, and with channels_redis every socket would hold a Redis subscription.
    channel_layer_alias = "homesafe.realtime:hub"

    outbox: Outbox | None = None
    _session_timer: asyncio.TimerHandle | None = None
    _closing: asyncio.Task[None] | None = None

    async def authorize(self) -> list[str]:
        """The groups this socket may follow; none (or NotFound/Http404/PermissionDenied)
        refuses it. `self.scope["user"]` carries `is_verified()` as on HTTP requests."""
        return []

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        if not origin_allowed(self.scope):
            await self.close()
            return
        user = await socket_user(self.scope)
        groups: list[str] = []
        if user.is_authenticated or self.allow_anonymous:
            try:
                groups = list(await self.authorize())
            except (NotFound, Http404, PermissionDenied, ObjectDoesNotExist):
                groups = []
        if not groups:
            await self.close()
            return
        await events.start_listening()
        # Follow first, write after the handshake: nothing published meanwhile is missed.
        self.outbox = Outbox(
            self._send_text, limit=self.outbox_limit, on_overflow=self._fell_behind, start=False
        )
        for group in groups:
            hub.join(group, self.outbox)
        try:
            await self.accept()
        except BaseException:  # the client left during authorization: forget it here too
            self._stop_pushes()
            raise
        self.outbox.start()
        self._end_with_staff_session()

    def follow(self, group: str) -> None:
        """Start following another group (after checking access, as `authorize` does)."""
        if self.outbox is not None and not self.outbox.closed:
            hub.join(group, self.outbox)

    def unfollow(self, group: str) -> None:
        if self.outbox is not None:
            hub.leave(group, self.outbox)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        await self.receive_json(content, **kwargs)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self._stop_pushes()
        await self.disconnect(message.get("code", 1000))
        raise StopConsumer()

    async def _send_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    async def _fell_behind(self) -> None:
        self._stop_pushes()
        await self._close_quietly(CLOSE_TRY_AGAIN)

    async def _close_quietly(self, code: int) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.close(code=code)

    def _stop_pushes(self) -> None:
        if self.outbox is not None:
            hub.leave_all(self.outbox)
            self.outbox.close()
        if self._session_timer is not None:
            self._session_timer.cancel()
            self._session_timer = None

    def _end_with_staff_session(self) -> None:
        # HTTP logs staff out after STAFF_SESSION_SECONDS (StaffSessionMiddleware); a socket
        # opened just before that must not outlive it.
        session = self.scope.get("session")
        started = session.get(STAFF_STARTED) if session is not None else None
        if started is None or self.outbox is None:
            return
        remaining = float(started) + settings.STAFF_SESSION_SECONDS - time.time()
        self._session_timer = self.outbox.loop.call_later(max(remaining, 0), self._session_ended)

    def _session_ended(self) -> None:
        self._session_timer = None
        self._stop_pushes()
        self._closing = asyncio.get_running_loop().create_task(
            self._close_quietly(CLOSE_SESSION_ENDED)
        )


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Same-site sockets only: the Origin header names the host this request was sent to (or
    is one of CSRF_TRUSTED_ORIGINS, exactly), and that host is an allowed host.

    A missing Origin is refused as well. Browsers always send one, so only non-browser clients
    lack it, and they can send the site's own; one rule is easier to trust than an exception."""
    origin = host = ""
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            origin = value.decode("latin-1").strip()
        elif name == b"host":
            host = value.decode("latin-1").strip().lower()
    if not origin or not host or origin == "null":
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or "@" in parts.netloc:
        return False
    default_port = ":443" if parts.scheme == "https" else ":80"
    origin_host = parts.netloc.lower().removesuffix(default_port)
    if origin_host != host.removesuffix(default_port):
        return False
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def socket_user(scope: dict[str, Any]) -> Any:
    """The socket's user, prepared as the HTTP middleware would: `is_verified()` and
    `otp_device` as django-otp sets them, and anonymous once a staff session has run out."""
    return await database_sync_to_async(_socket_user)(scope)


def _socket_user(scope: dict[str, Any]) -> Any:
    user: Any = scope.get("user")
    session = scope.get("session")
    if user is not None and user.is_authenticated and session is not None:
        started = session.get(STAFF_STARTED)
        if started is not None and time.time() - float(started) > settings.STAFF_SESSION_SECONDS:
            user = scope["user"] = AnonymousUser()
    if user is None:
        user = scope["user"] = AnonymousUser()
    device = None
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if user.is_authenticated and persistent_id:
        device = Device.from_persistent_id(persistent_id)
        if device is not None and (device.user_id != user.pk or not device.confirmed):
            device = None
    user.otp_device = device
    user.is_verified = functools.partial(_is_verified, user)
    return user


def _is_verified(user: Any) -> bool:
    return user.otp_device is not None
