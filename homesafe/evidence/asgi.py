"""The ASGI layer in front of Django for evidence uploads.

Django's ASGI handler reads a whole request body (spooled to a temporary file) before any view
runs, so a view can only refuse an oversize chunk after receiving it, and receiving a chunk
never overlaps hashing, encrypting and writing it. This layer does two things:

- It answers from the headers alone, before a byte of the body is read: a chunk without a
  Content-Length is 411, one larger than the chunk size is 413, and so is an upload-start body
  larger than 64 KiB.
- It receives every chunk but the last (PATCH /api/evidence/uploads/<id>) itself: the same
  service (`services.upload_append`) runs in a worker thread and reads the body from a small
  bounded buffer that this side fills as the bytes arrive, so the network, hashing, encryption
  and the disk work at the same time. Answers (JSON, status codes, Upload-Offset and
  Upload-Length headers) are the same as the Django route's (homesafe/evidence/api.py
  `upload_chunk`), which stays the documented endpoint and still receives the last chunk (it
  remembers the receipt in the uploader's session) and anything this layer does not take.

CSRF: this layer does not check the CSRF token, and it need not. A forged cross-site request
is dangerous only when the browser adds ambient authority (a cookie) that the server trusts;
here no cookie and no session is read. The capability is the upload id in the path (256
random bits, stored only as a hash), given only to whoever started the upload; that start
POST stays in Django with its session and CSRF checks. A page that knows the id could as well
send the chunk from anywhere, and a cross-site PATCH needs a CORS preflight the site never
grants anyway. The last chunk, which writes the receipt into the session, keeps the CSRF
check of the Django route.

Chunks run in a small pool of worker threads (ChunkWorkers) that keep their database
connection between chunks; when all are busy, chunks go to the Django route.

Wrap the HTTP app with it in config/asgi.py: `"http": UploadBodyGuard(django_asgi_app)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.utils import translation

from homesafe.common.errors import DomainError
from homesafe.evidence.conf import CHUNK_BYTES

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

logger = logging.getLogger("homesafe.evidence")

PREFIX = "/api/evidence/uploads"
START_BODY_LIMIT = 64 * 1024
# Bytes received but not yet taken by the worker; past this, stop reading from the socket.
BUFFER_BYTES = 4 * 1024 * 1024
# A client that sends nothing for this long has gone; the chunk is dropped as if cut off.
STALL_SECONDS = 60.0

# Chunks received here at once (each holds a thread, a chunk lease and a small buffer). When
# all are busy (say, with clients that send slowly), further chunks go to the Django route,
# which receives the whole body before it needs a thread.
WORKERS = 16
# A worker keeps its database connection while chunks keep coming (an upload's chunks follow
# one another, and opening and closing a connection per chunk took about a fifth of the
# time of an 8 MiB chunk on SQLite); after this long without a chunk, it closes it.
IDLE_SECONDS = 1.0


class ChunkWorkers:
    """The threads that run the synchronous service for chunks received here."""

    def __init__(self, limit: int, idle: float) -> None:
        self.limit, self.idle = limit, idle
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._outstanding = 0

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any] | None:
        """Run fn(*args) in a worker; None (and nothing run) if every worker is busy."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._outstanding >= self.limit:
                return None
            self._outstanding += 1
            if self._outstanding > self._threads and self._threads < self.limit:
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"evidence-chunk-{self._threads}", daemon=True
                ).start()
        self._jobs.put((loop, future, fn, args))
        return future

    def release_connections(self) -> None:
        """Have every worker close its database connection now (tests, before the database
        is dropped)."""
        with self._lock:
            count = self._threads
        gate = threading.Barrier(count + 1, timeout=30)
        for _ in range(count):
            self._jobs.put((None, None, _close_and_wait, (gate,)))
        gate.wait()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.idle)
            except queue.Empty:
                connections.close_all()
                job = self._jobs.get()
            loop, future, fn, args = job
            if loop is None:
                fn(*args)
                continue
            try:
                result, error = fn(*args), None
            except BaseException as exc:  # handed to the waiting request
                result, error = None, exc
                connections.close_all()
            with self._lock:
                self._outstanding -= 1
            with contextlib.suppress(RuntimeError):  # the event loop is gone (shutdown)
                loop.call_soon_threadsafe(_settle, future, result, error)


def _close_and_wait(gate: threading.Barrier) -> None:
    connections.close_all()
    gate.wait()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


workers = ChunkWorkers(WORKERS, IDLE_SECONDS)


class UploadBodyGuard:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and str(scope.get("path", "")).startswith(PREFIX):
            refusal = self.refusal(scope)
            if refusal is not None:
                status, code, message = refusal
                await _answer(send, status, code, message)
                return
            upload_id = chunk_upload_id(scope)
            if upload_id is not None and await _stream_chunk(scope, receive, send, upload_id):
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope: Scope) -> tuple[int, str, str] | None:
        method = scope.get("method", "")
        chunk = method == "PATCH" and scope["path"].startswith(PREFIX + "/")
        start = method == "POST" and scope["path"].rstrip("/") == PREFIX
        if not (chunk or start):
            return None
        lengths = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if len(lengths) != 1 or not lengths[0].strip().isdigit():
            return 411, "length_required", "Send a Content-Length header."
        limit = CHUNK_BYTES if chunk else START_BODY_LIMIT
        if int(lengths[0]) > limit:
            return 413, "chunk_too_large", "That chunk is too large."
        return None


def chunk_upload_id(scope: Scope) -> str | None:
    """The upload id of a chunk PATCH this layer may receive itself, else None."""
    if scope.get("method") != "PATCH":
        return None
    rest = str(scope["path"])[len(PREFIX) :]
    if not rest.startswith("/") or "/" in rest[1:] or not rest[1:]:
        return None
    return rest[1:]


class StreamBody:
    """A request body read by a worker thread (`read`) and filled by a task on the event loop
    (the pump) as ASGI `http.request` messages arrive.

    At most about BUFFER_BYTES wait between the two; a dropped connection (or a client that
    stalls for STALL_SECONDS) makes `read` return b"" early, which the service treats as a
    chunk that ended early (the upload stays at its previous offset)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive) -> None:
        self._loop = loop
        self._receive = receive
        self._parts: deque[bytes] = deque()
        self._held = 0
        self._ended = False  # the whole body arrived
        self._cut = False  # the client went away (or stalled)
        self._finished = False  # the reader wants no more bytes
        self._cond = threading.Condition()
        self._space = asyncio.Event()
        self.pump: asyncio.Task[None] | None = None

    # --- worker side

    def start(self) -> None:
        """Begin receiving (called by the worker once it will read the body)."""
        self._loop.call_soon_threadsafe(self._start_pump)

    def read(self, size: int = -1, /) -> bytes:
        with self._cond:
            while not self._parts and not (self._ended or self._cut):
                if not self._cond.wait(timeout=STALL_SECONDS):
                    self._cut = True
            if not self._parts or self._cut:
                return b""
            out = []
            want = size if size >= 0 else self._held
            while self._parts and want > 0:
                part = self._parts.popleft()
                if len(part) > want:
                    self._parts.appendleft(part[want:])
                    part = part[:want]
                out.append(part)
                want -= len(part)
                self._held -= len(part)
            if self._held < BUFFER_BYTES:
                self._wake_pump()
        return out[0] if len(out) == 1 else b"".join(out)

    def finish(self) -> None:
        """The reader is done: bytes still arriving are dropped, not held."""
        with self._cond:
            self._finished = True
            self._parts.clear()
            self._held = 0
        self._wake_pump()

    def _wake_pump(self) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is gone (shutdown)
            self._loop.call_soon_threadsafe(self._space.set)

    # --- event-loop side

    @property
    def complete(self) -> bool:
        """True once the whole body arrived (the connection can serve another request)."""
        return self._ended

    def cut(self) -> None:
        with self._cond:
            self._cut = True
            self._cond.notify_all()

    def _start_pump(self) -> None:
        if self.pump is None:
            self.pump = asyncio.ensure_future(self._run_pump())

    async def _run_pump(self) -> None:
        try:
            while True:
                message = await self._receive()
                if message.get("type") != "http.request":
                    self.cut()  # http.disconnect
                    return
                data = message.get("body", b"")
                more = bool(message.get("more_body", False))
                with self._cond:
                    if data and not self._finished:
                        self._parts.append(data)
                        self._held += len(data)
                    if not more:
                        self._ended = True
                    self._cond.notify_all()
                if not more:
                    return
                await self._room()
        except BaseException:
            self.cut()
            raise

    async def _room(self) -> None:
        while True:
            with self._cond:
                if self._held < BUFFER_BYTES or self._finished:
                    return
                self._space.clear()
            await self._space.wait()


@dataclass
class Outcome:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    offset: int | None = None
    size: int | None = None
    language: str = ""
    to_django: bool = False


def _receive_chunk(scope: Scope, upload_id: str, body: StreamBody) -> Outcome:
    """The worker: the checks of the Django route, then the service, reading `body`."""
    from homesafe.evidence import access, api, services
    from homesafe.evidence.errors import OffsetConflict

    for conn in connections.all(initialized_only=True):
        # As Django does before a request: drop a connection that failed or sits in a
        # transaction (never expected between chunks).
        if conn.in_atomic_block or (conn.errors_occurred and not conn.is_usable()):
            conn.close()
    request = ASGIRequest(scope, io.BytesIO())
    language = translation.get_language_from_request(request)
    outcome = Outcome(language=language)
    try:
        with translation.override(language):
            upload = access.access_upload(upload_id)
            outcome.size = upload.size
            offset, length, checksum = api.chunk_headers(request)
            if offset == upload.offset and offset + length >= upload.size:
                # The last chunk finalises the item and remembers its receipt in the
                # uploader's session: the Django route does that, unchanged.
                outcome.to_django = True
                return outcome
            body.start()
            try:
                result = services.upload_append(
                    upload=upload, offset=offset, body=body, length=length, checksum=checksum
                )
            except OffsetConflict as exc:
                outcome.status = 409
                outcome.offset = exc.offset
                outcome.body = {"error": exc.code, "message": exc.message, "offset": exc.offset}
                return outcome
            outcome.offset = result.offset
            outcome.body = {"offset": result.offset}
            if result.item is not None:  # not reached: the last chunk goes to Django
                outcome.body.update(item=str(result.item.pk), receipt=result.receipt)
            return outcome
    except DomainError as exc:
        outcome.status = exc.status
        outcome.body = {"error": exc.code, "message": exc.message}
        if exc.field:
            outcome.body["field"] = exc.field
        return outcome
    finally:
        body.finish()


async def _stream_chunk(scope: Scope, receive: Receive, send: Send, upload_id: str) -> bool:
    """Receive one chunk here; False (nothing of the body read) if Django should take it."""
    loop = asyncio.get_running_loop()
    body = StreamBody(loop, receive)
    job = workers.run(_receive_chunk, scope, upload_id, body)
    if job is None:
        return False
    try:
        outcome = await asyncio.shield(job)
    except asyncio.CancelledError:
        body.cut()  # the worker stops reading at once and leaves the upload as it was
        if body.pump is not None:
            body.pump.cancel()
        raise
    except Exception:
        body.cut()
        logger.exception("evidence chunk failed")
        outcome = Outcome(
            status=500, body={"error": "server_error", "message": "Something went wrong."}
        )
    pump = body.pump
    if pump is not None and not pump.done():
        if outcome.status == 200:
            # Every byte was read; the end of the body is a message away.
            await asyncio.wait({pump}, timeout=1.0)
        if not pump.done():
            pump.cancel()
    if outcome.to_django:
        return False
    headers = [(b"cache-control", b"no-store")]
    if outcome.offset is not None and outcome.size is not None:
        headers += [
            (b"upload-offset", str(outcome.offset).encode()),
            (b"upload-length", str(outcome.size).encode()),
        ]
    if outcome.language:
        headers += [(b"content-language", outcome.language.encode())]
    if not body.complete:
        # Answered before the whole body arrived: do not reuse the connection.
        headers += [(b"connection", b"close")]
    await _send_json(send, outcome.status, outcome.body, headers)
    return True


def _security_headers() -> list[tuple[bytes, bytes]]:
    """What Django's middleware would add to this JSON answer."""
    headers = [(b"vary", b"Accept-Language, Cookie")]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", str(settings.SECURE_REFERRER_POLICY).encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        coop = str(settings.SECURE_CROSS_ORIGIN_OPENER_POLICY).encode()
        headers.append((b"cross-origin-opener-policy", coop))
    headers.append((b"x-frame-options", str(settings.X_FRAME_OPTIONS).encode()))
    return headers


async def _send_json(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
                *_security_headers(),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
