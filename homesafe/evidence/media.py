"""Viewing copies and metadata extraction.

Viewers never get the original bytes inline: images are decoded and re-encoded by Pillow with
no EXIF, XMP, ICC-embedded comments or GPS; video and audio are remuxed by ffmpeg (Debian's
package, found with shutil.which) with every metadata block and data track dropped. The
metadata worth keeping (capture time, GPS, device) is extracted first into the item's
encrypted `metadata` field, for the caseworker only.

Video and audio need a seekable plaintext input (an MP4's index may sit at its end), so the
original is decrypted into an owner-only work file that is deleted as soon as ffmpeg is done.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, cast

from PIL import Image, ImageOps

from homesafe.evidence import sniff, storage
from homesafe.evidence.conf import evidence_dir, max_image_pixels
from homesafe.evidence.models import EvidenceItem, ViewingCopy
from homesafe.evidence.selectors import ffmpeg_available

logger = logging.getLogger("homesafe.evidence")

VIEW_MAX_SIDE = 4096
FFMPEG_TIMEOUT = 30 * 60
NO_FFMPEG = (
    "Viewing copies of video and audio need ffmpeg, which is not installed on this server. "
    "Download the original instead."
)
NO_HEIC = "HEIC photos cannot be converted for viewing on this server. Download the original."
DOCUMENT = "Documents are offered as the original file only."
FAILED = "No viewing copy could be made from this file. Download the original."

# EXIF tags (TIFF/EXIF numbering)
TAG_MAKE, TAG_MODEL, TAG_SOFTWARE, TAG_DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
TAG_EXIF_IFD, TAG_GPS_IFD = 0x8769, 0x8825
TAG_DATETIME_ORIGINAL, TAG_OFFSET_ORIGINAL = 0x9003, 0x9011


def work_dir() -> Path:
    path = evidence_dir() / "work"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def _work_file(suffix: str) -> Iterator[Path]:
    path = work_dir() / f"{secrets.token_hex(12)}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _reader(item: EvidenceItem) -> storage.EncryptedReader:
    return storage.EncryptedReader(
        storage.store_path(item.storage_name),
        key=base64.b64decode(item.data_key),
        name=item.storage_name,
        size=item.size,
    )


def make_viewing_copy(item: EvidenceItem) -> None:
    """Make the item's viewing copy and extract its metadata; records the outcome on the row."""
    metadata: dict[str, Any] = {}
    try:
        if item.kind == "photo":
            if item.mime in (sniff.HEIC.mime, sniff.HEIF.mime):
                _finish(item, ViewingCopy.UNAVAILABLE, reason=NO_HEIC, metadata=metadata)
                return
            metadata, made = _image_copy(item)
        elif item.kind in ("video", "audio"):
            if not ffmpeg_available():
                _finish(item, ViewingCopy.UNAVAILABLE, reason=NO_FFMPEG, metadata=metadata)
                return
            metadata, made = _av_copy(item)
        else:
            _finish(item, ViewingCopy.UNAVAILABLE, reason=DOCUMENT, metadata=metadata)
            return
    except Exception as exc:
        # The exception's text could quote file content; the class is enough to diagnose.
        logger.warning("evidence %s: viewing copy failed (%s)", item.pk, type(exc).__name__)
        _finish(item, ViewingCopy.FAILED, reason=FAILED, metadata=metadata)
        return
    if made is None:
        _finish(item, ViewingCopy.FAILED, reason=FAILED, metadata=metadata)
        return
    plain, mime = made
    try:
        name = storage.new_storage_name()
        key = storage.new_data_key()
        size = storage.encrypt_file(plain, storage.store_path(name), key=key, name=name)
    finally:
        plain.unlink(missing_ok=True)
    item.viewing_storage_name = name
    item.viewing_data_key = base64.b64encode(key).decode()
    item.viewing_mime = mime
    item.viewing_size = size
    _finish(item, ViewingCopy.READY, reason="", metadata=metadata)


def _finish(item: EvidenceItem, status: str, *, reason: str, metadata: dict[str, Any]) -> None:
    item.viewing_status = status
    item.viewing_reason = reason
    item.viewing_lease_until = None
    item.metadata = metadata or None
    item.save(
        update_fields=[
            "viewing_status",
            "viewing_reason",
            "viewing_lease_until",
            "metadata",
            "viewing_storage_name",
            "viewing_data_key",
            "viewing_mime",
            "viewing_size",
        ]
    )


# --- images ------------------------------------------------------------------------------


def _ratio(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = value
        return float(num) / float(den)


def _gps(gps: Any) -> dict[str, float] | None:
    try:
        lat = sum(_ratio(x) / 60**i for i, x in enumerate(gps[2]))
        lon = sum(_ratio(x) / 60**i for i, x in enumerate(gps[4]))
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    out = {"lat": round(lat, 7), "lon": round(lon, 7)}
    if 6 in gps:
        with suppress(TypeError, ValueError, ZeroDivisionError):
            out["altitude"] = round(_ratio(gps[6]), 1)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ").strip()[:200]


def image_metadata(img: Image.Image) -> dict[str, Any]:
    """Capture time, GPS and device from an image's EXIF."""
    exif = img.getexif()
    out: dict[str, Any] = {}
    sub = exif.get_ifd(TAG_EXIF_IFD)
    taken = sub.get(TAG_DATETIME_ORIGINAL) or exif.get(TAG_DATETIME)
    if taken:
        out["captured_at"] = _text(taken)
        if sub.get(TAG_OFFSET_ORIGINAL):
            out["captured_offset"] = _text(sub[TAG_OFFSET_ORIGINAL])
    device = " ".join(_text(exif[t]) for t in (TAG_MAKE, TAG_MODEL) if exif.get(t))
    if device:
        out["device"] = device
    if exif.get(TAG_SOFTWARE):
        out["software"] = _text(exif[TAG_SOFTWARE])
    gps = _gps(exif.get_ifd(TAG_GPS_IFD))
    if gps:
        out["gps"] = gps
    return out


def _image_copy(item: EvidenceItem) -> tuple[dict[str, Any], tuple[Path, str] | None]:
    reader = _reader(item)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(cast(IO[bytes], reader))
            if img.width * img.height > max_image_pixels():
                return {}, None
            metadata = image_metadata(img)
            if img.format == "JPEG":
                img.draft("RGB", (VIEW_MAX_SIDE, VIEW_MAX_SIDE))
            img.seek(0)
            frame = ImageOps.exif_transpose(img)
            frame.thumbnail((VIEW_MAX_SIDE, VIEW_MAX_SIDE))
            alpha = frame.mode in ("RGBA", "LA", "PA") or (
                frame.mode == "P" and "transparency" in frame.info
            )
            clean = frame.convert("RGBA" if alpha else "RGB")
        # A fresh image built from pixels only: no EXIF, XMP, ICC, comments or text chunks.
        pixels = Image.new(clean.mode, clean.size)
        pixels.paste(clean)
        out = work_dir() / f"{secrets.token_hex(12)}.{'png' if alpha else 'jpg'}"
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            if alpha:
                pixels.save(fh, "PNG", optimize=False)
            else:
                pixels.save(fh, "JPEG", quality=88)
        return metadata, (out, "image/png" if alpha else "image/jpeg")
    finally:
        reader.close()


# --- video and audio ----------------------------------------------------------------------

AV_OUTPUT = {
    "video/mp4": (".mp4", "video/mp4"),
    "video/quicktime": (".mp4", "video/mp4"),
    "video/webm": (".webm", "video/webm"),
    "video/x-matroska": (".mkv", "video/x-matroska"),
    "audio/mpeg": (".mp3", "audio/mpeg"),
    "audio/mp4": (".m4a", "audio/mp4"),
    "audio/ogg": (".ogg", "audio/ogg"),
    "audio/wav": (".wav", "audio/wav"),
}


def _decrypt_to(item: EvidenceItem, path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        for block in storage.iter_plaintext(
            storage.store_path(item.storage_name),
            key=base64.b64decode(item.data_key),
            name=item.storage_name,
            size=item.size,
        ):
            fh.write(block)


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's view of a file (format, streams and their tags) as JSON."""
    ffprobe = shutil.which("ffprobe")
    if not ffprobe:
        return {}
    done = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return {}
    try:
        return dict(json.loads(done.stdout or b"{}"))
    except ValueError:
        return {}


def _iso6709(text: str) -> dict[str, float] | None:
    import re

    match = re.match(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?", text.strip())
    if not match:
        return None
    out = {"lat": round(float(match.group(1)), 7), "lon": round(float(match.group(2)), 7)}
    if match.group(3):
        out["altitude"] = round(float(match.group(3)), 1)
    return out


def av_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """Capture time, GPS and device from ffprobe's tags (QuickTime/MP4 and Matroska keys)."""
    tags: dict[str, str] = {}
    for stream in info.get("streams", []):
        tags.update({k.lower(): str(v) for k, v in (stream.get("tags") or {}).items()})
    tags.update({k.lower(): str(v) for k, v in (info.get("format", {}).get("tags") or {}).items()})
    out: dict[str, Any] = {}
    taken = (
        tags.get("com.apple.quicktime.creationdate")
        or tags.get("creation_time")
        or tags.get("date")
    )
    if taken:
        out["captured_at"] = taken[:64]
    location = tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")
    if location:
        gps = _iso6709(location)
        if gps:
            out["gps"] = gps
    make = tags.get("com.apple.quicktime.make") or tags.get("make")
    model = tags.get("com.apple.quicktime.model") or tags.get("model")
    device = " ".join(x for x in (make, model) if x)
    if device:
        out["device"] = device[:200]
    duration = info.get("format", {}).get("duration")
    if duration:
        with suppress(ValueError):
            out["duration_seconds"] = round(float(duration), 2)
    return out


def _av_copy(item: EvidenceItem) -> tuple[dict[str, Any], tuple[Path, str] | None]:
    ffmpeg = shutil.which("ffmpeg")
    suffix, mime = AV_OUTPUT.get(item.mime, (None, None))
    if not ffmpeg or suffix is None or mime is None:
        return {}, None
    out = work_dir() / f"{secrets.token_hex(12)}{suffix}"
    with _work_file(".src") as src:
        _decrypt_to(item, src)
        metadata = av_metadata(probe(src))
        args = [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(src),
            "-map",
            "0:v?",
            "-map",
            "0:a?",
            "-dn",
            "-sn",
            "-map_metadata",
            "-1",
            "-map_metadata:s",
            "-1",
            "-map_chapters",
            "-1",
            "-c",
            "copy",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
        ]
        if suffix in (".mp4", ".m4a"):
            args += ["-movflags", "+faststart"]
        if suffix == ".mp3":
            args += ["-write_id3v1", "0", "-id3v2_version", "0"]
        args.append(str(out))
        done = subprocess.run(args, capture_output=True, timeout=FFMPEG_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        out.unlink(missing_ok=True)
        return metadata, None
    os.chmod(out, 0o600)
    return metadata, (out, mime)
