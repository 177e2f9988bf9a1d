"""What a file is, decided from its bytes only (never its name or the client's header).

Refused on purpose, each with a 415:
- anything whose first bytes are not one of the allowed formats (ALLOWED below);
- polyglots a browser or an unzip tool would treat as something else: markup or script
  (`<html`, `<script`, `<svg`, `<?php`, ...) in the first 1 KiB, where content sniffers
  look, and a ZIP archive (a well-formed end-of-central-directory record at the end of the
  file, which is what ZIP, JAR, DOCX and APK readers look for) appended to any format;
- images whose header declares more pixels than EVIDENCE_MAX_IMAGE_PIXELS (decompression
  bombs), checked from the header before anything is decoded.
Trailing bytes after an image's end marker are otherwise allowed (phones append motion-photo
video there); viewers only ever get a re-encoded copy, never the original bytes inline.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileType:
    mime: str
    kind: str  # photo, video, audio, document
    extension: str


JPEG = FileType("image/jpeg", "photo", "jpg")
PNG = FileType("image/png", "photo", "png")
GIF = FileType("image/gif", "photo", "gif")
WEBP = FileType("image/webp", "photo", "webp")
HEIC = FileType("image/heic", "photo", "heic")
HEIF = FileType("image/heif", "photo", "heif")
MP4 = FileType("video/mp4", "video", "mp4")
MOV = FileType("video/quicktime", "video", "mov")
WEBM = FileType("video/webm", "video", "webm")
MKV = FileType("video/x-matroska", "video", "mkv")
MP3 = FileType("audio/mpeg", "audio", "mp3")
M4A = FileType("audio/mp4", "audio", "m4a")
OGG = FileType("audio/ogg", "audio", "ogg")
WAV = FileType("audio/wav", "audio", "wav")
PDF = FileType("application/pdf", "document", "pdf")

ALLOWED = (JPEG, PNG, GIF, WEBP, HEIC, HEIF, MP4, MOV, WEBM, MKV, MP3, M4A, OGG, WAV, PDF)

# Declared types accepted at upload start (only a first filter; the bytes decide).
DECLARED_PREFIXES = ("image/", "video/", "audio/")
DECLARED_EXACT = ("application/pdf", "application/octet-stream", "")

HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
HEIF_BRANDS = {b"mif1", b"msf1"}
M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
QT_BRANDS = {b"qt  "}
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso3",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"M4VH",
    b"M4VP",
    b"3gp4",
    b"3gp5",
    b"3gp6",
    b"3g2a",
    b"dash",
    b"mp71",
    b"MSNV",
    b"XAVC",
}
MOV_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

MARKUP = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|svg|object|embed|meta|\?php)",
    re.IGNORECASE,
)
# Content sniffers (browsers, old and new) decide from the first bytes; scanning further would
# reject genuine photos whose compressed data happens to spell a tag.
MARKUP_WINDOW = 1024


class Refused(Exception):
    """Not an allowed file; the message is safe to show (it never quotes the content)."""


def declared_type_allowed(content_type: str, filename: str) -> bool:
    """A cheap first filter on what the client says, before any byte arrives."""
    ct = (content_type or "").split(";")[0].strip().lower()
    return ct.startswith(DECLARED_PREFIXES) or ct in DECLARED_EXACT


def identify(head: bytes) -> FileType:
    """The allowed type these first bytes start, or Refused."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else MKV
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head[4:8] in MOV_ATOMS and struct.unpack(">I", head[:4])[0] >= 8:
        return MOV
    if head.startswith(b"ID3") or (
        len(head) >= 2 and head[0] == 0xFF and head[1] in (0xFB, 0xF3, 0xF2, 0xFA, 0xE3)
    ):
        return MP3
    raise Refused("This kind of file is not accepted. Send photos, video, audio or PDF.")


def _iso_bmff(head: bytes) -> FileType:
    box_size = struct.unpack(">I", head[:4])[0]
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head), 256), 4)}
    brands = {major} | compatible
    if major in HEIC_BRANDS or (major in HEIF_BRANDS and brands & HEIC_BRANDS):
        return HEIC
    if major in HEIF_BRANDS:
        return HEIF
    if major in M4A_BRANDS:
        return M4A
    if major in QT_BRANDS:
        return MOV
    if major in MP4_BRANDS or brands & MP4_BRANDS:
        return MP4
    raise Refused("This kind of file is not accepted. Send photos, video, audio or PDF.")


def check_head(head: bytes) -> FileType:
    """Identify the first chunk and refuse markup polyglots and image bombs seen in it."""
    ftype = identify(head)
    if ftype is not PDF and MARKUP.search(head[:MARKUP_WINDOW]):
        raise Refused("This file also contains web page or script code and is not accepted.")
    if ftype.kind == "photo" and ftype not in (HEIC, HEIF):
        check_image_dimensions(io.BytesIO(head), partial=True)
    return ftype


def check_image_dimensions(fh: IO[bytes], *, partial: bool = False) -> None:
    """Read only the image header and refuse a declared size over the pixel limit."""
    from homesafe.evidence.conf import max_image_pixels

    limit = max_image_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fh) as img:  # header only; nothing is decoded here
                width, height = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Refused("This image is too large to accept.") from exc
    except Exception as exc:
        if partial:
            return  # the header may lie beyond the first chunk: checked again when complete
        raise Refused("This image could not be read.") from exc
    if width * height > limit or width <= 0 or height <= 0:
        raise Refused("This image is too large to accept.")


def check_tail(tail: bytes, *, total_size: int) -> None:
    """Refuse a ZIP archive hidden at the end (what every ZIP reader looks for first)."""
    start = len(tail)
    while True:
        pos = tail.rfind(b"PK\x05\x06", 0, start)
        if pos < 0:
            return
        if pos + 22 <= len(tail):
            comment_len = struct.unpack("<H", tail[pos + 20 : pos + 22])[0]
            if pos + 22 + comment_len == len(tail):
                raise Refused("This file also contains a ZIP archive and is not accepted.")
        start = pos
