"""Checksums of saved state: damaged bytes mean a recount, never wrong published data.

A state file can be damaged without changing size (a flipped digit in ids, counts or
users.csv); its length alone would let it through. Whole files (marshal'd states,
tables) carry a CRC-32 trailer; the files a state appends to (tweets.csv, ids) have a
CRC-32 recorded in the state, carried on over each append (zlib.crc32 continues from a
previous value), so saving costs only the new bytes.
"""

from __future__ import annotations

import zlib
from pathlib import Path

_TRAILER = 4
_BLOCK = 1 << 24


def seal(data: bytes) -> bytes:
    """``data`` with its CRC-32 after it (a copy: :func:`write_sealed` writes big data)."""
    return data + zlib.crc32(data).to_bytes(_TRAILER, "little")


def write_sealed(path: Path, data: bytes) -> None:
    """Write ``data`` and its CRC-32 to ``path`` (without copying ``data``)."""
    with open(path, "wb") as f:
        f.write(data)
        f.write(zlib.crc32(data).to_bytes(_TRAILER, "little"))


def unseal(raw: bytes) -> memoryview:
    """What :func:`seal` sealed, without a copy; ValueError when the bytes were damaged."""
    data = memoryview(raw)[:-_TRAILER]
    if len(raw) < _TRAILER or zlib.crc32(data) != int.from_bytes(raw[-_TRAILER:], "little"):
        raise ValueError("damaged: its checksum does not match")
    return data


def crc_range(path: Path, start: int, stop: int, value: int = 0) -> int:
    """The CRC-32 of ``path``'s bytes [start, stop), carried on from ``value`` (the CRC of
    the bytes before ``start``)."""
    with open(path, "rb") as f:
        f.seek(start)
        left = stop - start
        while left > 0:
            block = f.read(min(left, _BLOCK))
            if not block:
                raise ValueError(f"{path} is shorter than {stop} bytes")
            value = zlib.crc32(block, value)
            left -= len(block)
    return value
