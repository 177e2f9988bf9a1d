"""In/Out schemas of the evidence API (docs/evidence-protocol in the lead's notes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class UploadIn(Schema):
    target: dict[str, Any] = Field(
        description=(
            '{"dropbox": token} | {"followup": true} | {"submitted": true} | {"report": uuid}'
        )
    )
    filename: str = Field(max_length=1000)
    size: int
    content_type: str = Field(default="", max_length=200)


class UploadOut(Schema):
    upload: str
    chunk_size: int
    offset: int
    expires_at: dt.datetime


class OffsetOut(Schema):
    offset: int
    size: int | None = None
    item: str | None = None
    receipt: dict[str, Any] | None = None


class ItemOut(Schema):
    id: str
    kind: str
    mime: str
    sha256: str
    size: int
    received_at: dt.datetime
    source: str
    viewing_copy: bool
    viewing_status: str
    viewing_reason: str


class ItemDetailOut(ItemOut):
    filename: str
    metadata: dict[str, Any]
    custody: list[dict[str, Any]]


class DropBoxIn(Schema):
    expires_in_hours: int = Field(default=72, ge=1, le=720)
    label: str = Field(default="", max_length=200)


class DropBoxOut(Schema):
    id: str
    token: str | None = None
    link: str | None = None
    expires_at: dt.datetime
    closed_at: dt.datetime | None = None


class TreeHeadOut(Schema):
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str
    key_id: str
    public_key: str


class ErrorOut(Schema):
    error: str
    message: str
    offset: int | None = None
