"""This process's WebSocket connections by group, and fan-out to them.

Channels' channel-layer groups were measured here 25 to 100 times slower than a raw `websockets`
broadcast, so fan-out stays in the process: one subscription per process (events.py) hands each
message to `hub.dispatch`, which writes to the local connections that follow the group. A
message is encoded to JSON once per group, never once per connection.

Every connection has a small outbox written by its own task, so one slow client never holds up
the others; a client that falls more than `limit` messages behind is dropped (its socket is
closed and it re-reads state when it reconnects) instead of being buffered without bound.
`dispatch` may be called from any thread: sync Django code (views in the ASGI thread pool, the
worker loops) hands messages to each connection's event loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder

log = logging.getLogger(__name__)

DEFAULT_OUTBOX_LIMIT = 64


class LocalConnection(Protocol):
    """What the hub needs of a connection: its event loop, and a non-blocking `put` of one
    JSON text frame, called on that loop only."""

    loop: asyncio.AbstractEventLoop

    def put(self, text: str) -> None: ...


def encode(message: Mapping[str, Any]) -> str:
    """The JSON text frame of a message (UUIDs, datetimes and decimals as Django writes them)."""
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"))


class Outbox:
    """One connection's bounded queue of text frames and the task that writes them in order.

    `send` writes one frame (and may wait for the socket to drain). When more than `limit`
    frames are waiting, the outbox stops taking frames and calls `on_overflow` once. Create it
    on the connection's event loop; frames queue up until `start()` (so a socket can follow its
    groups before its handshake is answered) and `close()` stops the writer.
    """

    __slots__ = ("loop", "limit", "closed", "_send", "_on_overflow", "_pending", "_wakeup",
                 "_task", "_overflow_task")

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        *,
        limit: int = DEFAULT_OUTBOX_LIMIT,
        on_overflow: Callable[[], Coroutine[Any, Any, None]] | None = None,
        start: bool = True,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.limit = limit
        self.closed = False
        self._send = send
        self._on_overflow = on_overflow
        self._pending: collections.deque[str] = collections.deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._overflow_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        if start:
            self.start()

    def start(self) -> None:
        if self._task is None and not self.closed:
            self._task = self.loop.create_task(self._write_all())

    def put(self, text: str) -> None:
        if self.closed:
            return
        if len(self._pending) >= self.limit:
            self._overflow()
            return
        self._pending.append(text)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def close(self) -> None:
        self.closed = True
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()

    def _overflow(self) -> None:
        self.close()
        if self._on_overflow is not None:
            self._overflow_task = self.loop.create_task(self._on_overflow())

    async def _write_all(self) -> None:
        pending = self._pending
        try:
            while True:
                while pending:
                    await self._send(pending.popleft())
                self._wakeup = self.loop.create_future()
                await self._wakeup
                self._wakeup = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away mid-send: nothing left to write to
            log.debug("realtime: stopped writing to a connection (%s)", type(exc).__name__)
            self.closed = True
            pending.clear()


class Hub:
    """Group name -> the local connections following it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, set[LocalConnection]] = {}
        self._joined: dict[LocalConnection, set[str]] = {}

    def join(self, group: str, conn: LocalConnection) -> None:
        with self._lock:
            self._groups.setdefault(group, set()).add(conn)
            self._joined.setdefault(conn, set()).add(group)

    def leave(self, group: str, conn: LocalConnection) -> None:
        with self._lock:
            self._forget(group, conn)
            groups = self._joined.get(conn)
            if groups is not None:
                groups.discard(group)
                if not groups:
                    del self._joined[conn]

    def leave_all(self, conn: LocalConnection) -> None:
        with self._lock:
            for group in self._joined.pop(conn, ()):
                self._forget(group, conn)

    def groups_of(self, conn: LocalConnection) -> set[str]:
        with self._lock:
            return set(self._joined.get(conn, ()))

    def members(self, group: str) -> tuple[LocalConnection, ...]:
        with self._lock:
            return tuple(self._groups.get(group, ()))

    def dispatch(self, group: str, message: str | Mapping[str, Any]) -> int:
        """Hand a message (a dict, or its JSON text) to every local connection following
        `group`, without waiting for any of them. Returns how many connections it went to."""
        members = self.members(group)
        if members:
            _deliver(members, message if isinstance(message, str) else encode(message))
        return len(members)

    def dispatch_all(self, message: str | Mapping[str, Any]) -> int:
        """Hand a message to every local connection once (e.g. "re-read your state")."""
        with self._lock:
            members = tuple(self._joined)
        if members:
            _deliver(members, message if isinstance(message, str) else encode(message))
        return len(members)

    def _forget(self, group: str, conn: LocalConnection) -> None:
        conns = self._groups.get(group)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._groups[group]


def _deliver(members: Iterable[LocalConnection], text: str) -> None:
    try:
        here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    elsewhere: dict[asyncio.AbstractEventLoop, list[LocalConnection]] = {}
    for conn in members:
        if conn.loop is here:
            conn.put(text)
        else:
            elsewhere.setdefault(conn.loop, []).append(conn)
    for loop, conns in elsewhere.items():
        # RuntimeError: that loop has shut down, and its connections with it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_put_all, conns, text)


def _put_all(conns: list[LocalConnection], text: str) -> None:
    for conn in conns:
        conn.put(text)


hub = Hub()
