"""Evidence refusals, each a clear 4xx (homesafe.common.errors.DomainError)."""

from __future__ import annotations

from homesafe.common.errors import DomainError


class TooLarge(DomainError):
    status = 413


class Unsupported(DomainError):
    status = 415


class OffsetConflict(DomainError):
    """The client's Upload-Offset is not the server's: it should resume from `offset`."""

    status = 409

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message, code="offset_mismatch")
        self.offset = offset


class ChecksumMismatch(DomainError):
    status = 460


class Busy(DomainError):
    status = 409


class RateLimited(DomainError):
    status = 429
