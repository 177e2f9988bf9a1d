"""publish / publish_on_commit: after commit only, best-effort when Redis is away."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from typing import Any

import pytest
from django.db import transaction

from homesafe.realtime import events
from homesafe.realtime.hub import hub


class Follower:
    """A connection of this process's hub, on an event loop of its own thread."""

    def __init__(self, group: str) -> None:
        import threading

        self.group = group
        self.frames: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._join(), self.loop).result(5)

    async def _join(self) -> None:
        from homesafe.realtime.hub import Outbox

        async def send(text: str) -> None:
            self.frames.append(text)

        self.outbox = Outbox(send)
        hub.join(self.group, self.outbox)

    def wait_for(self, count: int, timeout: float = 5) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.frames

    async def _leave(self) -> None:
        hub.leave_all(self.outbox)
        self.outbox.close()
        await asyncio.sleep(0.01)  # let the writer task take its cancellation

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._leave(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def follower(settings: Any) -> Any:
    settings.REDIS_URL = ""  # the in-process backend: what reaches the hub is what was sent
    f = Follower(f"walk.{uuid.uuid4()}")
    yield f
    f.close()


def test_it_publishes_on_commit_only(transactional_db: Any, follower: Any) -> None:
    with transaction.atomic():
        events.publish_on_commit(follower.group, {"type": "walk.state", "n": 1})
        time.sleep(0.05)
        assert follower.frames == []  # not before the commit
    assert follower.wait_for(1) == ['{"type":"walk.state","n":1}']


def test_it_publishes_nothing_on_rollback(transactional_db: Any, follower: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish_on_commit(follower.group, {"type": "walk.state", "n": 1})
        raise RuntimeError("the service failed half-way")
    with transaction.atomic():
        events.publish_on_commit(follower.group, {"type": "walk.state", "n": 2})
    assert follower.wait_for(1) == ['{"type":"walk.state","n":2}']
    time.sleep(0.05)
    assert len(follower.frames) == 1


def test_it_encodes_the_message_when_published_not_when_sent(
    transactional_db: Any, follower: Any
) -> None:
    message: dict[str, Any] = {"type": "walk.state", "state": "active"}
    with transaction.atomic():
        events.publish_on_commit(follower.group, message)
        message["state"] = "changed later"
    assert follower.wait_for(1) == ['{"type":"walk.state","state":"active"}']


def test_publish_sends_now(follower: Any) -> None:
    events.publish(follower.group, {"type": "notification", "id": uuid.UUID(int=1)})
    assert follower.wait_for(1) == [
        '{"type":"notification","id":"00000000-0000-0000-0000-000000000001"}'
    ]


@pytest.mark.parametrize("group", ["", "walk 1", "walk.*", "x" * 101, "walk/1"])
def test_it_refuses_bad_group_names(group: str) -> None:
    with pytest.raises(ValueError):
        events.publish(group, {"type": "x"})


def test_it_refuses_messages_that_are_not_json(settings: Any) -> None:
    settings.REDIS_URL = ""
    with pytest.raises(TypeError):
        events.publish("walk.a", {"type": "x", "when": object()})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _realtime_warnings(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("homesafe.realtime") and r.levelno == logging.WARNING]


def test_it_returns_at_once_and_logs_when_redis_is_down(settings: Any, caplog: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    group = f"walk.{uuid.uuid4()}"
    caplog.set_level(logging.WARNING, logger="homesafe.realtime")
    started = time.monotonic()
    events.publish(group, {"type": "walk.position", "point": "-41.29,174.78"})
    assert time.monotonic() - started < 0.05  # queued: the request never waits for Redis
    assert events.flush()
    [text] = [t for t in _realtime_warnings(caplog) if "Redis publish failed" in t]
    assert "Redis publish failed" in text and "(walk)" in text
    assert group.split(".")[1] not in text and "174.78" not in text  # no ids, no places

    # Later pushes are dropped at once for a moment instead of each waiting for a timeout.
    started = time.monotonic()
    for _ in range(100):
        events.publish(group, {"type": "walk.position"})
    assert events.flush()
    assert time.monotonic() - started < 0.5


def test_publish_on_commit_never_breaks_the_request_when_redis_is_down(
    transactional_db: Any, settings: Any, caplog: Any
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    caplog.set_level(logging.WARNING, logger="homesafe.realtime")
    with transaction.atomic():
        events.publish_on_commit(f"walk.{uuid.uuid4()}", {"type": "walk.state"})
    assert events.flush()
    assert any("Redis publish failed" in text for text in _realtime_warnings(caplog))


def test_strict_publish_raises_for_callers_that_retry(settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    with pytest.raises(events.PublishError):
        events.publish("walk.a", {"type": "x"}, strict=True)


def test_it_sends_queued_pushes_in_order_in_few_round_trips(settings: Any) -> None:
    from homesafe.realtime.bus import Publisher

    sent: list[list[str]] = []

    class Pipeline:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def publish(self, channel: str, text: str) -> None:
            self.texts.append(text)

        def execute(self) -> None:
            time.sleep(0.01)  # a round trip
            sent.append(self.texts)

    class Client:
        def pipeline(self, transaction: bool) -> Pipeline:
            return Pipeline()

        def publish(self, channel: str, text: str) -> None:
            time.sleep(0.01)
            sent.append([text])

    publisher = Publisher(f"redis://127.0.0.1:{_closed_port()}/0")
    publisher.client = Client()  # type: ignore[assignment]
    for n in range(50):
        publisher.publish("homesafe:rt:walk.a", str(n), group_kind="walk", strict=False)
    assert publisher.flush()
    assert [t for batch in sent for t in batch] == [str(n) for n in range(50)]
    assert len(sent) <= 3
