"""Domain errors: services raise these; the API and views turn them into clear 4xx answers."""

from __future__ import annotations

from django.utils.translation import gettext as _


class DomainError(Exception):
    """A request the domain refuses. `code` is stable; `message` is for people."""

    status = 400

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class NotFound(DomainError):
    """The object does not exist or the caller may not know that it does."""

    status = 404

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("Not found."), code="not_found")

