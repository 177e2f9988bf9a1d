"""The Redis subscriber against a fake Redis that takes the subscription and then goes silent
(a peer that vanished without closing the connection): it must notice and reconnect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from homesafe.realtime import bus
from homesafe.realtime.hub import Hub


class SilentRedis:
    """Answers the connection set-up and PSUBSCRIBE like Redis, then nothing (not even PING)."""

    def __init__(self) -> None:
        self.connections = 0
        self.pings = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                command = await _read_command(reader)
                name = command[0].upper()
                if name == b"PSUBSCRIBE":
                    pattern = command[1]
                    writer.write(b"*3\r\n$10\r\npsubscribe\r\n$%d\r\n%s\r\n:1\r\n"
                                 % (len(pattern), pattern))
                elif name == b"PING":
                    self.pings += 1  # and no answer
                else:
                    writer.write(b"+OK\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def _read_command(reader: asyncio.StreamReader) -> list[bytes]:
    header = await reader.readuntil(b"\r\n")
    parts = []
    for _ in range(int(header[1:-2])):
        size = int((await reader.readuntil(b"\r\n"))[1:-2])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


def test_the_subscriber_reconnects_when_redis_stops_answering(
    monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setattr(bus, "SUBSCRIBER_IDLE_SECONDS", 0.1)
    monkeypatch.setattr(bus, "BACKOFF_FIRST", 0.01)
    caplog.set_level(logging.WARNING, logger="homesafe.realtime")
    fake = SilentRedis()

    async def scenario() -> None:
        server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        subscriber = bus.Subscriber(f"redis://127.0.0.1:{port}/0", "test:rt:", Hub())
        await subscriber.ensure_running()
        assert subscriber.subscribed.is_set()
        async with asyncio.timeout(5):
            while fake.connections < 2:
                await asyncio.sleep(0.01)
        await subscriber.stop()
        server.close()

    asyncio.run(scenario())
    assert fake.pings >= 1
    messages = [r.getMessage() for r in caplog.records]
    assert "realtime: Redis did not answer a ping; reconnecting" in messages
