"""Real-time pushes to WebSocket groups, for services (STYLE.md §3).

`publish_on_commit(group, message)` is the usual call: a service makes it inside its transaction,
and the push goes out only once that transaction has committed (nothing on rollback).
`publish(group, message)` sends now (e.g. a worker loop after its own commit). Neither waits
for Redis: with Redis, messages are queued for a publisher thread that sends them in order,
batched (bus.py). Group names look like `walk.<uuid>`; a
message is a JSON-able dict, sent to the browser as it is (give it a "type").

Pushes are best-effort: a client that is offline, too slow or cut off by a Redis restart misses
them. What must arrive is also written as a notification row (homesafe/notify: durable,
retried), and pages re-read their state whenever their socket (re)connects and when they get
`{"type": "realtime.resync"}`. Subscribe first, then read state, and nothing falls in between.

Without REDIS_URL, messages go straight to this process's hub (the embedded default serves
pages and runs the loops in one process; a separate `homesafe worker` needs Redis for its pushes
to reach anyone). With REDIS_URL, they are PUBLISHed on Redis and every ASGI process routes them
to its own sockets (bus.py).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from homesafe.realtime.bus import Publisher, PublishError, Subscriber
from homesafe.realtime.hub import encode, hub

__all__ = ["PublishError", "flush", "publish", "publish_on_commit", "start_listening"]

GROUP_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")

_lock = threading.Lock()
_publishers: dict[str, Publisher] = {}
_subscribers: dict[tuple[str, str], Subscriber] = {}


def publish(group: str, message: Mapping[str, Any], *, strict: bool = False) -> None:
    """Push `message` to everyone following `group`, now. Never waits for Redis nor raises
    when it is away (a warning is logged) unless `strict`: then the message goes out in this
    thread and PublishError says it did not, for callers that retry."""
    _send(group, _encode(group, message), strict=strict)


def publish_on_commit(group: str, message: Mapping[str, Any], *, using: str | None = None) -> None:
    """Push `message` to `group` once the current transaction commits; never on rollback.
    The message is encoded now, so later changes to the dict do not leak into the push."""
    text = _encode(group, message)
    transaction.on_commit(functools.partial(_send, group, text), using=using, robust=True)


async def start_listening() -> None:
    """Make sure this process receives what other processes publish (with Redis: one
    subscription per process, started here on first use). Without Redis, nothing to do."""
    if settings.REDIS_URL:
        await _subscriber(settings.REDIS_URL).ensure_running()


def flush(timeout: float = 5.0) -> bool:
    """Wait until pushes queued for Redis have been sent (tests, orderly shutdown)."""
    with _lock:
        publishers = list(_publishers.values())
    return all(publisher.flush(timeout) for publisher in publishers)


async def stop_listening() -> None:
    """Stop this process's Redis subscription, if it runs (shutdown and tests)."""
    with _lock:
        subscribers = list(_subscribers.values())
    for subscriber in subscribers:
        await subscriber.stop()


def _encode(group: str, message: Mapping[str, Any]) -> str:
    if not GROUP_NAME.fullmatch(group):
        raise ValueError("realtime group names are 1-100 characters of A-Z a-z 0-9 . _ -")
    return encode(message)


def _send(group: str, text: str, *, strict: bool = False) -> None:
    url = settings.REDIS_URL
    if not url:
        hub.dispatch(group, text)
        return
    _publisher(url).publish(
        settings.REALTIME_REDIS_PREFIX + group,
        text,
        group_kind=group.split(".", 1)[0],
        strict=strict,
    )


def _publisher(url: str) -> Publisher:
    with _lock:
        publisher = _publishers.get(url)
        if publisher is None:
            publisher = _publishers[url] = Publisher(url)
        return publisher


def _subscriber(url: str) -> Subscriber:
    key = (url, settings.REALTIME_REDIS_PREFIX)
    with _lock:
        subscriber = _subscribers.get(key)
        if subscriber is None:
            subscriber = _subscribers[key] = Subscriber(url, key[1], hub)
        return subscriber
