"""The process-local hub: fan-out to many connections, slow ones dropped, any-thread dispatch."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from homesafe.realtime.hub import Hub, Outbox


class Recorder:
    """A connection's send side that keeps what it was sent."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.got = asyncio.Event()

    async def send(self, text: str) -> None:
        self.frames.append(text)
        self.got.set()


async def _settle(until: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not until():
            await asyncio.sleep(0.001)


def test_it_dispatches_to_every_connection_in_the_group_and_no_other() -> None:
    async def scenario() -> None:
        hub = Hub()
        followers = [Recorder() for _ in range(1000)]
        others = [Recorder() for _ in range(10)]
        boxes = [Outbox(r.send) for r in followers]
        for box in boxes:
            hub.join("walk.a", box)
        for r in others:
            hub.join("walk.b", Outbox(r.send))

        assert hub.dispatch("walk.a", {"type": "walk.position", "n": 1}) == 1000
        await _settle(lambda: all(r.frames for r in followers))
        assert {r.frames[0] for r in followers} == {'{"type":"walk.position","n":1}'}
        assert all(not r.frames for r in others)
        assert hub.dispatch("walk.nobody", {"type": "x"}) == 0

    asyncio.run(scenario())


def test_it_encodes_uuids_and_keeps_the_order_of_messages() -> None:
    async def scenario() -> None:
        hub, recorder = Hub(), Recorder()
        hub.join("walk.a", Outbox(recorder.send))
        walk_id = uuid.uuid4()
        for n in range(50):
            hub.dispatch("walk.a", {"n": n, "walk": walk_id})
        await _settle(lambda: len(recorder.frames) == 50)
        assert recorder.frames[0] == f'{{"n":0,"walk":"{walk_id}"}}'
        assert [int(f.split(",")[0][5:]) for f in recorder.frames] == list(range(50))

    asyncio.run(scenario())


def test_a_slow_connection_does_not_hold_up_the_others_and_is_dropped() -> None:
    async def scenario() -> None:
        hub = Hub()
        never = asyncio.Event()
        dropped: list[str] = []

        async def stuck_send(text: str) -> None:
            await never.wait()  # a client that stopped reading: the socket never drains

        async def on_overflow() -> None:
            hub.leave_all(slow)
            dropped.append("slow")

        slow = Outbox(stuck_send, limit=8, on_overflow=on_overflow)
        fast = [Recorder() for _ in range(20)]
        hub.join("walk.a", slow)
        for r in fast:
            hub.join("walk.a", Outbox(r.send, limit=8))

        for n in range(100):
            hub.dispatch("walk.a", {"n": n})
            await asyncio.sleep(0)  # the fast ones keep up: one message at a time
        await _settle(lambda: all(len(r.frames) == 100 for r in fast), timeout=2)
        await _settle(lambda: dropped == ["slow"], timeout=2)
        assert slow.closed
        assert slow not in hub.members("walk.a")
        assert len(hub.members("walk.a")) == 20

    asyncio.run(scenario())


def test_it_dispatches_from_other_threads_onto_the_connections_loop() -> None:
    async def scenario() -> None:
        hub, recorder = Hub(), Recorder()
        hub.join("walk.a", Outbox(recorder.send))
        loop_thread = threading.get_ident()
        seen_on: list[int] = []
        original = recorder.send

        async def send(text: str) -> None:
            seen_on.append(threading.get_ident())
            await original(text)

        recorder.send = send  # type: ignore[method-assign]
        hub.join("walk.b", Outbox(recorder.send))
        threads = [
            threading.Thread(target=hub.dispatch, args=("walk.b", {"from": i})) for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        await _settle(lambda: len(recorder.frames) == 8)
        assert set(seen_on) == {loop_thread}

    asyncio.run(scenario())


def test_it_stops_writing_to_a_connection_whose_send_fails() -> None:
    async def scenario() -> None:
        hub = Hub()
        calls: list[str] = []

        async def broken(text: str) -> None:
            calls.append(text)
            raise OSError("client went away")

        box = Outbox(broken)
        hub.join("walk.a", box)
        hub.dispatch("walk.a", {"n": 1})
        await _settle(lambda: box.closed)
        hub.dispatch("walk.a", {"n": 2})
        await asyncio.sleep(0.01)
        assert calls == ['{"n":1}']

    asyncio.run(scenario())


def test_it_leaves_groups_one_by_one_or_all_at_once() -> None:
    async def scenario() -> None:
        hub = Hub()
        box = Outbox(Recorder().send)
        for group in ("walk.a", "walk.b", "volunteer.c"):
            hub.join(group, box)
        hub.leave("walk.a", box)
        assert hub.groups_of(box) == {"walk.b", "volunteer.c"}
        assert hub.members("walk.a") == ()
        hub.leave_all(box)
        assert hub.groups_of(box) == set()
        assert hub.members("walk.b") == () and hub.members("volunteer.c") == ()
        hub.leave_all(box)  # twice is fine (disconnect after an overflow)
        box.close()

    asyncio.run(scenario())


def test_dispatch_all_reaches_each_connection_once() -> None:
    async def scenario() -> None:
        hub, recorder = Hub(), Recorder()
        box = Outbox(recorder.send)
        hub.join("walk.a", box)
        hub.join("walk.b", box)
        assert hub.dispatch_all({"type": "realtime.resync"}) == 1
        await _settle(lambda: recorder.frames == ['{"type":"realtime.resync"}'])

    asyncio.run(scenario())
