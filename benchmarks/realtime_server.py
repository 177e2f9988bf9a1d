"""A WebSocket fan-out server for benchmarks/test_bench_realtime.py, in a process of its own.

    python benchmarks/realtime_server.py raw|homesafe PORT CONTROL_PORT

`raw`: a plain `websockets` server; each connection follows the groups in `?follow=a,b` and a
fan-out is `websockets.broadcast` to the group's connections. `homesafe`: uvicorn serving the
production ASGI application plus the test-only open diagnostic socket (which follows the same
`?follow=` groups through the hub); a fan-out is `events.publish` from a worker thread, as sync
Django code publishes (in-process without REDIS_URL, through Redis with it).

The benchmark sends newline-delimited JSON commands to CONTROL_PORT: `{"groups": [...], "seq": n}`
publishes one message per group, all stamped with time.monotonic() (CLOCK_MONOTONIC, comparable
across processes) taken once before the first is handed over: a service sends its ten offers
together, and the tenth volunteer waits for the nine sends before theirs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

POINT = [-41.29351, 174.78153]


def message(seq: int, t: float) -> dict[str, Any]:
    return {"type": "walk.position", "seq": seq, "role": "escort", "point": POINT, "t": t}


async def control(port: int, fan_out: Callable[[list[str], int], Any]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            command = json.loads(line)
            result = fan_out(command["groups"], command["seq"])
            if asyncio.iscoroutine(result):
                await result
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def run_raw(port: int, control_port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    groups: dict[str, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        follow = parse_qs(urlsplit(ws.request.path).query)["follow"][0].split(",")
        for group in follow:
            groups.setdefault(group, set()).add(ws)
        try:
            await ws.wait_closed()
        finally:
            for group in follow:
                groups[group].discard(ws)

    def fan_out(names: list[str], seq: int) -> None:
        t = time.monotonic()
        for name in names:
            broadcast(groups.get(name, ()), json.dumps(message(seq, t)))

    async with serve(handler, "127.0.0.1", port):
        await control(control_port, fan_out)


async def run_homesafe(port: int, control_port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "homesafe.realtime.tests.diagnostic_settings"
    import uvicorn

    from homesafe.realtime import events
    from homesafe.realtime.tests.diagnostic_asgi import application

    def publish_all(names: list[str], seq: int) -> None:
        t = time.monotonic()
        for name in names:
            events.publish(name, message(seq, t))

    loop = asyncio.get_running_loop()

    def fan_out(names: list[str], seq: int) -> Any:
        return loop.run_in_executor(None, publish_all, names, seq)

    server = uvicorn.Server(uvicorn.Config(
        application, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off",
        log_level="warning",
    ))
    controller = asyncio.create_task(control(control_port, fan_out))
    try:
        await server.serve()
    finally:
        controller.cancel()


if __name__ == "__main__":
    kind, web_port, control_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run((run_raw if kind == "raw" else run_homesafe)(web_port, control_port))
