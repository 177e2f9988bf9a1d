"""Streamed HTTP responses for evidence downloads (used by the API and the UI's views)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import cast

from asgiref.sync import sync_to_async
from django.http import HttpRequest, StreamingHttpResponse

from homesafe.evidence import selectors
from homesafe.evidence.models import EvidenceItem

# Evidence is never rendered as a page of this site: no scripts, no plugins, no same origin.
SANDBOX_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


class SegmentStreamResponse(StreamingHttpResponse):
    """A streamed response over a sync iterator that ASGI servers consume one block at a time.

    Django's own ASGI path collects a sync iterator into one list before sending a byte (a
    1 GB download would sit in memory); this pulls block by block in a worker thread instead.
    WSGI and the test client iterate it synchronously as usual.
    """

    async def __aiter__(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        parts = cast(Iterator[bytes], iter(self.streaming_content))  # type: ignore[arg-type]
        step = sync_to_async(_next_block, thread_sensitive=False)
        while True:
            part = await step(parts)
            if part is None:
                return
            yield part


def _next_block(parts: Iterator[bytes]) -> bytes | None:
    return next(parts, None)


def original_response(
    item: EvidenceItem, request: HttpRequest | None = None
) -> StreamingHttpResponse:
    """The original, byte-identical, decrypted as it streams; always a download. Memory stays
    at one block (1 MiB) whatever the size. `request` is accepted for symmetry, not needed."""
    response = SegmentStreamResponse(
        selectors.original_chunks(item), content_type="application/octet-stream"
    )
    _headers(response, size=item.size, name=selectors.download_name(item), inline=False)
    response["Digest"] = "sha-256=" + _b64_of_hex(item.sha256)
    return response


def viewing_copy_response(
    item: EvidenceItem, request: HttpRequest | None = None, *, inline: bool = True
) -> StreamingHttpResponse:
    """The metadata-stripped viewing copy (inline for <img>/<video>, or as a download)."""
    response = SegmentStreamResponse(
        selectors.viewing_copy_chunks(item), content_type=item.viewing_mime
    )
    _headers(
        response,
        size=int(item.viewing_size or 0),
        name=selectors.download_name(item, viewing=True),
        inline=inline,
    )
    return response


def _headers(response: StreamingHttpResponse, *, size: int, name: str, inline: bool) -> None:
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"


def _b64_of_hex(value: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(value)).decode()
