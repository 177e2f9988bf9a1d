"""Capability tokens in paths never reach a log handler."""

from __future__ import annotations

import logging

from homesafe.common.logs import RedactCapabilityPaths, redact_capabilities


def test_tokens_in_watch_and_drop_paths_are_replaced() -> None:
    assert redact_capabilities("Internal Server Error: /w/abcDEF123_-/") == (
        "Internal Server Error: /w/[token]/"
    )
    assert redact_capabilities("GET /drop/Zx9-tok/ 500") == "GET /drop/[token]/ 500"
    assert redact_capabilities("/walk/1234/ and /reports/") == "/walk/1234/ and /reports/"


def test_the_filter_rewrites_arguments_and_drops_the_request() -> None:
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "%s: %s", ("Boom", "/drop/secret1/"), None
    )
    record.request = object()  # type: ignore[attr-defined]
    assert RedactCapabilityPaths().filter(record)
    assert record.getMessage() == "Boom: /drop/[token]/"
    assert record.request is None  # type: ignore[attr-defined]


def test_the_console_handler_applies_the_filter() -> None:
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactCapabilityPaths) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING must attach the filter to the console handler"
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "%s: %s", ("Boom", "/w/tok3n/"), None
    )
    assert handlers[0].filter(record)
    assert "tok3n" not in record.getMessage()
