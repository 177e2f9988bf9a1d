"""Real-time fan-out: homesafe's hub behind uvicorn against a raw `websockets` server.

Run: .venv/bin/python -m pytest benchmarks/test_bench_realtime.py --benchmark-only -q -s
The ratios go into benchmarks/RESULTS.md.

Each server runs in a process of its own (benchmarks/realtime_server.py) with 1,000 real
WebSocket clients connected from this process; client `i` follows `vol.<i>` and, for i < 900,
`pos.<i // 3>`. The servers are measured in turns (offer by offer; position runs raw,
homesafe, raw, homesafe), so a noisy neighbour hurts all of them alike.

(a) Offer delivery: one message to each of 10 random volunteers out of the 1,000, one offer at a
    time; latency = receipt here - the server's clock when it starts handing the 10 over
    (`events.publish` each for homesafe, `websockets.broadcast` each for raw).
    Goal: homesafe p99 <= 3x raw.
(b) Live positions: 300 walks with 3 watchers each; a round publishes one position per walk (900
    deliveries), at most two rounds in flight. deliveries per CPU-second of the server process
    (plus Redis's CPU for the Redis target). Goal: homesafe >= 20% of raw.

Targets: `homesafe-local` (no REDIS_URL: the embedded default) always; `homesafe-redis` too when
REDIS_URL is set (publish -> Redis -> the server's one subscription -> hub).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 1_000
WALKS, WATCHERS = 300, 3
OFFERS, OFFER_SIZE = 300, 10
ROUNDS, IN_FLIGHT = 40, 2
REPEATS = 2
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, name: str, kind: str, env: dict[str, str]) -> None:
        self.name = name
        self.port, self.control_port = _free_port(), _free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "realtime_server.py"), kind,
             str(self.port), str(self.control_port)],
            cwd=ROOT, env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.control_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Result:
    offer_latencies: list[float] = field(default_factory=list)
    deliveries: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0
    redis_cpu: float = 0.0

    def p(self, q: float) -> float:
        data = sorted(self.offer_latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000

    @property
    def per_cpu(self) -> float:
        return self.deliveries / max(self.server_cpu + self.redis_cpu, 1e-9)


def _redis_cpu() -> float:
    url = os.environ.get("REDIS_URL")
    if not url:
        return 0.0
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


class Fleet:
    """The 1,000 clients of one server and what they received."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sockets: list[Any] = []
        self.readers: list[asyncio.Task[None]] = []
        self.received: dict[int, int] = defaultdict(int)
        self.latencies: dict[int, list[float]] = defaultdict(list)
        self.waiters: dict[int, tuple[int, asyncio.Future[None]]] = {}

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        origin = f"http://127.0.0.1:{self.server.port}"
        gate = asyncio.Semaphore(50)

        async def one(i: int) -> None:
            follow = f"vol.{i}" + (f",pos.{i // WATCHERS}" if i < WALKS * WATCHERS else "")
            async with gate:
                ws = await connect(
                    f"ws://127.0.0.1:{self.server.port}/ws/diag-open/?follow={follow}",
                    origin=origin, proxy=None, open_timeout=60,  # type: ignore[arg-type]
                )
            self.sockets.append(ws)
            self.readers.append(asyncio.create_task(self._read(ws)))

        await asyncio.gather(*(one(i) for i in range(CLIENTS)))
        self.control_reader, self.control = await asyncio.open_connection(
            "127.0.0.1", self.server.control_port
        )

    async def _read(self, ws: Any) -> None:
        async for frame in ws:
            now = time.monotonic()
            data = json.loads(frame)
            seq = data["seq"]
            self.latencies[seq].append(now - data["t"])
            count = self.received[seq] = self.received[seq] + 1
            waiter = self.waiters.get(seq)
            if waiter is not None and count >= waiter[0] and not waiter[1].done():
                waiter[1].set_result(None)

    async def publish(self, groups: list[str], seq: int, expected: int) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        self.waiters[seq] = (expected, done)
        self.control.write(json.dumps({"groups": groups, "seq": seq}).encode() + b"\n")
        await self.control.drain()
        return done

    async def close(self) -> None:
        self.control.close()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()


async def offers(fleets: list[Fleet], results: dict[str, Result], seq0: int) -> None:
    """One offer at a time, taking turns between the servers offer by offer, so a burst of
    load from elsewhere on the machine lands on all of them alike."""
    rng = random.Random(seq0)
    for k in range(OFFERS):
        chosen = [f"vol.{i}" for i in rng.sample(range(CLIENTS), OFFER_SIZE)]
        for fleet in fleets:
            done = await fleet.publish(chosen, seq0 + k, OFFER_SIZE)
            await asyncio.wait_for(done, 10)
            results[fleet.server.name].offer_latencies.extend(fleet.latencies.pop(seq0 + k))
            await asyncio.sleep(0.002)


async def positions(fleet: Fleet, result: Result, seq0: int) -> None:
    walks = [f"pos.{w}" for w in range(WALKS)]
    per_round = WALKS * WATCHERS
    cpu0, redis0, started = fleet.server.cpu_seconds(), _redis_cpu(), time.monotonic()
    in_flight: list[asyncio.Future[None]] = []
    for r in range(ROUNDS):
        if len(in_flight) >= IN_FLIGHT:
            await asyncio.wait_for(in_flight.pop(0), 30)
        in_flight.append(await fleet.publish(walks, seq0 + r, per_round))
    for done in in_flight:
        await asyncio.wait_for(done, 30)
    result.wall += time.monotonic() - started
    result.server_cpu += fleet.server.cpu_seconds() - cpu0
    if fleet.server.name.endswith("redis"):
        result.redis_cpu += _redis_cpu() - redis0
    result.deliveries += ROUNDS * per_round


async def measure(servers: list[Server]) -> dict[str, Result]:
    fleets = [Fleet(s) for s in servers]
    for fleet in fleets:
        await fleet.connect()
    results = {s.name: Result() for s in servers}
    seq = 0
    for _ in range(REPEATS):
        await offers(fleets, results, seq)
        seq += OFFERS
        for fleet in fleets:
            await positions(fleet, results[fleet.server.name], seq)
            seq += ROUNDS
    for fleet in fleets:
        await fleet.close()
    return results


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    started = [Server("raw", "raw", env), Server("homesafe-local", "homesafe", env)]
    try:
        if os.environ.get("REDIS_URL"):
            started.append(Server("homesafe-redis", "homesafe", dict(os.environ)))
        yield started
    finally:
        for server in started:
            server.stop()


def test_bench_realtime_fan_out(benchmark: Any, servers: list[Server], capsys: Any) -> None:
    results: dict[str, Result] = {}

    def run() -> None:
        results.update(asyncio.run(measure(servers)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    raw = results["raw"]
    lines = [
        f"{'server':<16} {'offer p50 ms':>12} {'offer p99 ms':>12} {'p99/raw':>8} "
        f"{'deliv/s wall':>12} {'deliv/CPU-s':>12} {'vs raw':>7} {'redis CPU-s':>11}"
    ]
    for name, r in results.items():
        lines.append(
            f"{name:<16} {r.p(0.5):>12.3f} {r.p(0.99):>12.3f} {r.p(0.99) / raw.p(0.99):>8.2f} "
            f"{r.deliveries / r.wall:>12.0f} {r.per_cpu:>12.0f} {r.per_cpu / raw.per_cpu:>7.2f} "
            f"{r.redis_cpu:>11.2f}"
        )
        benchmark.extra_info[name] = {
            "offer_p50_ms": round(r.p(0.5), 3),
            "offer_p99_ms": round(r.p(0.99), 3),
            "offer_p99_ratio": round(r.p(0.99) / raw.p(0.99), 2),
            "positions_deliveries_per_s": round(r.deliveries / r.wall),
            "positions_deliveries_per_cpu_s": round(r.per_cpu),
            "positions_cpu_ratio": round(r.per_cpu / raw.per_cpu, 2),
            "median_offer_ms": round(statistics.median(r.offer_latencies) * 1000, 3),
        }
    with capsys.disabled():
        print("\n" + "\n".join(lines))
