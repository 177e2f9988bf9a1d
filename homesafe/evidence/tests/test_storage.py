"""Segment encryption: round trips at every boundary, and any edit of the stored file fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from homesafe.evidence import storage
from homesafe.evidence.conf import SEGMENT_BYTES


def write(path: Path, data: bytes, key: bytes, name: str, pieces: int = 3) -> None:
    step = max(SEGMENT_BYTES, (len(data) // pieces) // SEGMENT_BYTES * SEGMENT_BYTES)
    offset = 0
    while offset < len(data):
        writer = storage.SegmentWriter(path, key=key, name=name, size=len(data), offset=offset)
        writer.write(data[offset : offset + step])
        writer.close()
        offset += step


@pytest.mark.parametrize(
    "size", [1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 5 * SEGMENT_BYTES + 17]
)
def test_it_round_trips_and_seeks(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    key, name = storage.new_data_key(), storage.new_storage_name()
    path = tmp_path / name
    write(path, data, key, name)
    assert path.stat().st_size == storage.disk_size(size)
    assert b"".join(storage.iter_plaintext(path, key=key, name=name, size=size)) == data
    reader = storage.EncryptedReader(path, key=key, name=name, size=size)
    reader.seek(size // 2)
    assert reader.read() == data[size // 2 :]
    reader.close()


def test_it_detects_flipped_reordered_moved_and_truncated_segments(tmp_path: Path) -> None:
    size = 3 * SEGMENT_BYTES + 100
    data = os.urandom(size)
    key, name = storage.new_data_key(), storage.new_storage_name()
    path = tmp_path / name
    write(path, data, key, name)
    original = path.read_bytes()
    h, seg = len(storage.HEADER), storage.DISK_SEGMENT

    def fails(raw: bytes, *, as_name: str = name, as_size: int = size) -> bool:
        path.write_bytes(raw)
        try:
            b"".join(storage.iter_plaintext(path, key=key, name=as_name, size=as_size))
        except storage.StorageError:
            return True
        return False

    flipped = bytearray(original)
    flipped[h + seg + 500] ^= 1
    assert fails(bytes(flipped))
    swapped = (
        original[:h]
        + original[h + seg : h + 2 * seg]
        + original[h : h + seg]
        + original[h + 2 * seg :]
    )
    assert fails(swapped)
    # Cut after three whole segments and claim that is the whole file: the third was not final.
    assert fails(original[: h + 3 * seg], as_size=3 * SEGMENT_BYTES)
    assert fails(original[:-1])
    assert fails(original, as_name=storage.new_storage_name())
    assert not fails(original)


def test_a_writer_restarting_at_a_boundary_cuts_off_a_half_written_chunk(tmp_path: Path) -> None:
    size = 4 * SEGMENT_BYTES
    data = os.urandom(size)
    key, name = storage.new_data_key(), storage.new_storage_name()
    path = tmp_path / name
    writer = storage.SegmentWriter(path, key=key, name=name, size=size, offset=0)
    writer.write(data[: 2 * SEGMENT_BYTES])
    writer.write(os.urandom(SEGMENT_BYTES + 10))  # a chunk that never completed
    writer.close()
    writer = storage.SegmentWriter(path, key=key, name=name, size=size, offset=2 * SEGMENT_BYTES)
    writer.write(data[2 * SEGMENT_BYTES :])
    writer.close()
    assert b"".join(storage.iter_plaintext(path, key=key, name=name, size=size)) == data
