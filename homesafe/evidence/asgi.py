"""An ASGI guard in front of Django for evidence uploads.

Django's ASGI handler reads a whole request body (spooled to a temporary file) before any view
runs, so a view can only refuse an oversize chunk after receiving it. This guard answers from
the headers alone, before a byte of the body is read: a chunk without a Content-Length is 411,
one larger than the chunk size is 413, and so is an upload-start body larger than 64 KiB.
Wrap the HTTP app with it in config/asgi.py: `"http": UploadBodyGuard(django_asgi_app)`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from homesafe.evidence.conf import CHUNK_BYTES

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PREFIX = "/api/evidence/uploads"
START_BODY_LIMIT = 64 * 1024


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
