"""The Redis side of real-time pushes: PUBLISH from any process, one PSUBSCRIBE per ASGI process.

Every message for group G is published on the Redis channel `<prefix>G`. Each ASGI process runs
one subscriber task (started by the first WebSocket it accepts) that routes whatever arrives to
its own hub. Redis pub/sub does not keep messages: while a subscriber is cut off, pushes are
lost, so after it reconnects it tells every local socket to re-read its state.

Nothing here blocks or raises into a request when Redis is slow or away: publishing queues
the message for a publisher thread, which logs a warning (never a group's id or a message) and
drops what it cannot send; the subscriber retries with backoff.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import random
import threading
import time
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry

from homesafe.realtime.hub import Hub, encode

log = logging.getLogger(__name__)

# Redis gets this long to answer; the publisher thread must not hang on a dead server.
PUBLISH_TIMEOUT = 0.5
# After a failed publish, queued pushes are dropped at once for this long (no stacked waits).
PUBLISH_PAUSE_AFTER_FAILURE = 2.0
# Pushes waiting for the publisher thread; beyond this many, new ones are dropped.
PUBLISH_QUEUE_LIMIT = 10_000
PUBLISH_BATCH = 500
# The subscriber pings Redis when the connection has been quiet this long, and reconnects when
# a ping goes unanswered for as long again (a dead peer that sent no RST looks just like quiet).
SUBSCRIBER_IDLE_SECONDS = 15.0
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0
# Sent to every local socket after the subscriber comes back, so clients re-read their state.
RESYNC_MESSAGE = encode({"type": "realtime.resync"})


class PublishError(Exception):
    """Redis did not take the message (only raised to callers that ask with strict=True)."""


class Publisher:
    """PUBLISH to Redis from a thread of its own: `publish` queues and returns, so a request
    never waits for Redis, slow or gone. The thread sends whatever has queued up in one
    pipeline: the ten offers of a walk request cost one round trip, not ten. Messages leave in
    the order they were queued. A `strict` publish goes out at once in the caller's thread and
    raises PublishError (for callers that retry)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=PUBLISH_TIMEOUT,
            socket_timeout=PUBLISH_TIMEOUT,
            health_check_interval=30,
            # One retry on a fresh connection covers a pooled connection that Redis dropped.
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1),
        )
        self._start()
        atexit.register(self.flush, 1.0)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._changed = threading.Condition()
        self._queue: collections.deque[tuple[str, str, str]] = collections.deque()
        self._sending = False
        self._thread: threading.Thread | None = None
        self._paused_until = 0.0
        self._dropped = 0

    def publish(self, channel: str, text: str, *, group_kind: str, strict: bool) -> None:
        if strict:
            self._send([(channel, text, group_kind)], strict=True)
            return
        if self._pid != os.getpid():  # forked: the thread and its lock stayed in the parent
            self._start()
        with self._changed:
            if len(self._queue) >= PUBLISH_QUEUE_LIMIT:
                self._dropped += 1
                return
            self._queue.append((channel, text, group_kind))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="homesafe-realtime-publisher", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued has been sent (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queue or self._sending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._changed.wait(remaining):
                    return False
        return True

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                count = min(len(self._queue), PUBLISH_BATCH)
                batch = [self._queue.popleft() for _ in range(count)]
                self._sending = True
            try:
                self._send(batch, strict=False)
            except Exception as exc:  # a bug must not end the thread, and with it every push
                log.error("realtime: publishing failed (%s)", type(exc).__name__)
            finally:
                with self._changed:
                    self._sending = False
                    self._changed.notify_all()

    def _send(self, batch: list[tuple[str, str, str]], *, strict: bool) -> None:
        if not strict and time.monotonic() < self._paused_until:
            with self._changed:
                self._dropped += len(batch)
            return
        try:
            if len(batch) == 1:
                self.client.publish(batch[0][0], batch[0][1])
            else:
                pipe = self.client.pipeline(transaction=False)
                for channel, text, _kind in batch:
                    pipe.publish(channel, text)
                pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self._paused_until = time.monotonic() + PUBLISH_PAUSE_AFTER_FAILURE
            with self._changed:
                dropped, self._dropped = self._dropped + len(batch), 0
            # Group kinds only ("walk"): ids and message bodies never go to the logs.
            log.warning(
                "realtime: Redis publish failed (%s); dropped %d push(es) (%s) since the last "
                "report; pushes are best-effort, clients re-read state on reconnect",
                type(exc).__name__, dropped, ", ".join(sorted({k for _c, _t, k in batch})),
            )
            if strict:
                raise PublishError(type(exc).__name__) from exc
            return
        with self._changed:
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning(
                "realtime: Redis publish works again; %d push(es) were dropped meanwhile "
                "(Redis unreachable or too slow)", dropped,
            )


class Subscriber:
    """This process's one PSUBSCRIBE on `<prefix>*`, routing each message to `hub`."""

    def __init__(self, url: str, prefix: str, hub: Hub) -> None:
        self.url = url
        self.prefix = prefix
        self.hub = hub
        self.task: asyncio.Task[None] | None = None
        self.subscribed = threading.Event()
        self._starting = threading.Lock()
        self._failing = False
        self._connected_before = False
        self._backoff = BACKOFF_FIRST
        self._received = 0

    async def ensure_running(self, *, wait: float = 2.0) -> None:
        """Start the subscriber on this event loop unless it runs on a live loop already; on
        its first start, wait (up to `wait` seconds) until Redis confirms the subscription, so
        nothing published after a socket is accepted is missed."""
        with self._starting:  # sockets on two event loops must not start two subscribers
            task = self.task
            if task is None or task.done() or not _alive(task.get_loop()):
                self.subscribed.clear()
                self._failing = False
                self._connected_before = False
                self.task = asyncio.get_running_loop().create_task(self._run())
        deadline = time.monotonic() + wait
        while not self.subscribed.is_set() and not self._failing and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        self._backoff = BACKOFF_FIRST
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, or a protocol error: start over
                if not self._failing:
                    log.warning(
                        "realtime: Redis subscription lost (%s); retrying with backoff",
                        type(exc).__name__,
                    )
                self._failing = True
                self.subscribed.clear()
            await asyncio.sleep(self._backoff * (0.5 + random.random()))  # noqa: S311 (jitter)
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    async def _listen(self) -> None:
        client = redis.asyncio.Redis.from_url(
            self.url,
            socket_connect_timeout=5,
            socket_keepalive=True,
            client_name=subscriber_name(),  # findable in CLIENT LIST
            # This loop does the retrying, so it sees every outage and can ask for a resync.
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        pubsub = client.pubsub()
        prefix_len = len(self.prefix)
        dispatch = self.hub.dispatch
        watchdog = None
        try:
            await pubsub.psubscribe(f"{self.prefix}*")
            watchdog = asyncio.get_running_loop().create_task(self._watch(pubsub))
            while True:
                # A blocking read: a read timeout per message would cost a third of the
                # time a message takes here; the watchdog looks after dead connections.
                message: Any = await pubsub.get_message(timeout=None)
                self._received += 1
                if message is None:
                    continue
                kind = message["type"]
                if kind == "pmessage":
                    dispatch(message["channel"][prefix_len:].decode(), message["data"].decode())
                elif kind == "psubscribe":
                    self._on_subscribed()
        finally:
            if watchdog is not None:
                watchdog.cancel()
            with contextlib.suppress(Exception):  # closing what may be broken already
                await pubsub.aclose()
                await client.aclose()

    async def _watch(self, pubsub: Any) -> None:
        """Ping Redis when the subscription has been quiet; if even the ping goes unanswered,
        drop the connection, so the blocked read fails and the subscriber reconnects."""
        seen, pinged = self._received, False
        while True:
            await asyncio.sleep(SUBSCRIBER_IDLE_SECONDS)
            if self._received != seen:
                seen, pinged = self._received, False
                continue
            if not pinged:
                with contextlib.suppress(Exception):  # a broken connection fails the read too
                    await pubsub.ping()
                    pinged = True
                    continue
            log.warning("realtime: Redis did not answer a ping; reconnecting")
            with contextlib.suppress(Exception):
                await pubsub.connection.disconnect()
            return

    def _on_subscribed(self) -> None:
        if self._connected_before:
            log.warning("realtime: Redis subscription restored; asking clients to resync")
            self.hub.dispatch_all(RESYNC_MESSAGE)
        elif self._failing:
            log.warning("realtime: Redis subscription established")
        self._connected_before = True
        self._failing = False
        self._backoff = BACKOFF_FIRST
        self.subscribed.set()


def subscriber_name() -> str:
    return f"homesafe-realtime-{os.getpid()}"


def _alive(loop: asyncio.AbstractEventLoop) -> bool:
    return loop.is_running() and not loop.is_closed()
