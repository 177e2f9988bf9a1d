"""Logging filters that keep secrets in paths out of the logs.

Some addresses carry a capability in their path: a trusted contact's watch link (/w/<token>/) and
a bystander's drop box (/drop/<token>/). Django's request logger writes the path of any request
that fails with a 5xx; this filter replaces the token before a handler sees the record.
"""

from __future__ import annotations

import logging
import re

_CAPABILITY_PATH = re.compile(r"/(w|drop)/[^/\s?#\"']+")


def redact_capabilities(text: str) -> str:
    return _CAPABILITY_PATH.sub(r"/\1/[token]", text)


class RedactCapabilityPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_capabilities(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_capabilities(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: redact_capabilities(v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        # The request object rides along for handlers that mail it; none of ours needs it.
        if hasattr(record, "request"):
            record.request = None
        return True
