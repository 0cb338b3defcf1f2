"""Read tweet archives as they are: plain or gzip, one JSON value per line.

Streams line by line (never the whole file), never writes to the user's files, and turns
every unreadable line into a ``Skip`` naming the file and line instead of an exception.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

# A single pretty-printed API answer is one document over many lines. Anything bigger than
# this is certainly not one answer, so it is read line by line and its bad lines reported.
MAX_PRETTY_BYTES = 64 * 1024 * 1024
# The caps on what one file may hold (README, "Limits"): a line longer than MAX_LINE_BYTES
# is skipped, read past in blocks, so a gzip file that inflates to gigabytes without a
# newline never sits in memory; a file (once decompressed) past MAX_STREAM_BYTES is read
# no further. DNFLOW_MAX_LINE_BYTES and DNFLOW_MAX_STREAM_BYTES override them.
MAX_LINE_BYTES = MAX_PRETTY_BYTES
MAX_STREAM_BYTES = 1 << 40
# lines are read through a 1 MiB buffer: with the default 8 KiB, splitting a big archive
# into lines took a quarter of the time of parsing them (0.95 s against 0.23 s for 1.9 GB)
READ_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class Skip:
    file: str
    line: int
    reason: str


def open_binary(path: str | Path) -> IO[bytes]:
    """Open plain or gzip by content, not by name (archives get renamed)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115


def _short(line: bytes) -> str:
    text = line[:60].decode("utf-8", "replace").strip()
    return text + ("…" if len(line) > 60 else "")


def read_json_lines(
    path: str | Path, start: int = 0, end: int | None = None,
    loads: Callable[[bytes], Any] = orjson.loads,
) -> Iterator[tuple[int, Any] | Skip]:
    """Yield ``(line_number, value)`` for each JSON line, or a ``Skip`` for bad ones.

    Blank lines are ignored. A file whose first line is not JSON but whose whole content
    is (a pretty-printed single response) yields that one value as line 1.

    ``start``/``end`` read only the bytes [start, end) of a plain file, both at line
    boundaries (see :func:`split_points`); line numbers then count from 1 at ``start``
    (add :func:`lines_before` ``(path, start)`` for the file's own numbers).

    ``loads`` parses a line (it raises ``orjson.JSONDecodeError`` for one that is not
    JSON); summaries pass the format registry's (:func:`dnflow.formats.loads`). Whatever
    else it raises (a decoder's recursion limit, say) is a skipped line too.

    Nothing here raises for what a file holds: a line over :data:`MAX_LINE_BYTES`, a
    stream past :data:`MAX_STREAM_BYTES` and a damaged gzip file are each a ``Skip``
    (the lines before the damage are yielded), and memory stays bounded by the line cap.
    """
    name = str(path)
    if start or end is not None:
        yield from _read_range(path, name, start, end, loads)
        return
    try:
        f = open_binary(path)
    except OSError as e:
        yield Skip(name, 1, f"unreadable file: {e}")
        return
    with f:
        first = True
        for n, line in _lines(f, name, start == 0):
            if line.__class__ is Skip:
                yield line
                continue
            # most lines start a JSON value; only the others need the costlier blank test
            if line[:1] not in _STARTS and not line.strip():
                continue
            try:
                value = loads(line)
            except Exception as e:  # noqa: BLE001 - a line no decoder reads is skipped
                if first and line.lstrip()[:1] in (b"{", b"["):
                    whole = _try_whole(path)
                    if whole is not None:
                        yield 1, whole
                        return
                yield _skip(name, n, line, e)
                first = False
                continue
            first = False
            yield n, value


_STARTS = (b"{", b"[")
BOM = b"\xef\xbb\xbf"
GZIP_DAMAGE = (EOFError, OSError, zlib.error)


def _limit(var: str, default: int) -> int:
    try:
        return max(int(os.environ.get(var, default)), 1)
    except ValueError:
        return default


def _lines(f: IO[bytes], name: str, at_start: bool = True,
           left: int | None = None) -> Iterator[tuple[int, bytes | Skip]]:
    """``(number, line)`` of each line of ``f`` (a ``Skip`` in place of a line over the
    cap, of the damage that ends a file, or of a stream past its cap), reading at most
    :data:`MAX_LINE_BYTES` at a time. ``left``: bytes of a range still to read (a line
    that crosses its end belongs to the next range)."""
    cap = _limit("DNFLOW_MAX_LINE_BYTES", MAX_LINE_BYTES)
    stream_cap = _limit("DNFLOW_MAX_STREAM_BYTES", MAX_STREAM_BYTES)
    readline = f.readline
    n = total = 0
    while True:
        try:
            line = readline(cap + 1)
            if not line:
                return
            n += 1
            size = len(line)
            if size > cap and line[-1:] != b"\n":
                line = None  # free it before reading the rest
                size += _to_line_end(f)
                line = Skip(name, n, f"line longer than the cap of {cap} bytes, skipped")
        except GZIP_DAMAGE as e:
            yield n + 1, Skip(name, n + 1, f"file damaged after line {n} ({_why(e)}): "
                              "the lines before were read, the rest is lost")
            return
        total += size
        if left is not None:
            left -= size
            if left < 0:
                return
        if n == 1 and at_start and line[:3] == BOM and line.__class__ is bytes:
            line = line[3:]
        yield n, line
        if left == 0:
            return
        if total > stream_cap:
            yield n + 1, Skip(name, n + 1, f"stopped after {total} bytes: past the cap of "
                              f"{stream_cap} bytes a file may hold")
            return


def _to_line_end(f: IO[bytes]) -> int:
    """Read past the end of the current line in blocks; the bytes read."""
    size = 0
    while True:
        block = f.readline(READ_BUFFER)
        size += len(block)
        if not block or block[-1:] == b"\n":
            return size


def _why(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= 120 else text[:120] + "…"


def _skip(name: str, n: int, line: bytes, e: Exception) -> Skip:
    truncated = not line.endswith(b"\n")
    if truncated:
        why = "truncated line, invalid JSON"
    elif isinstance(e, orjson.JSONDecodeError):
        why = f"not JSON ({e.msg})"
    else:
        why = f"unreadable JSON ({type(e).__name__}: {_why(e)})"
    return Skip(name, n, f"{why}: {_short(line)}")


def _read_range(path: str | Path, name: str, start: int, end: int | None,
                loads: Callable[[bytes], Any]):
    with open(path, "rb", buffering=READ_BUFFER) as f:
        f.seek(start)
        left = end - start if end is not None else None
        for n, line in _lines(f, name, start == 0, left):
            if line.__class__ is Skip:
                yield line
            elif line[:1] in _STARTS or line.strip():
                try:
                    yield n, loads(line)
                except Exception as e:  # noqa: BLE001 - a line no decoder reads is skipped
                    yield _skip(name, n, line, e)


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def splittable(path: str | Path) -> bool:
    """A plain file of one JSON value per line, which byte ranges can share out.

    Not gzip (no random access) and not a pretty-printed single document (its first
    non-blank line is JSON on its own).
    """
    if is_gzip(path):
        return False
    with open(path, "rb", buffering=READ_BUFFER) as f:
        for n, line in _lines(f, str(path)):
            if line.__class__ is Skip:
                return False
            if line.strip():
                try:
                    orjson.loads(line)
                except orjson.JSONDecodeError:
                    return False
                return True
            if n > 1000:  # only blank lines so far: read it whole, as one
                return False
    return False


def split_points(path: str | Path, targets: list[int]) -> list[int]:
    """The first line boundary at or after each target byte offset (sorted, deduplicated)."""
    size = Path(path).stat().st_size
    out: list[int] = []
    with open(path, "rb") as f:
        for target in targets:
            if target <= 0:
                continue
            f.seek(target - 1)
            _to_line_end(f)  # to the end of the line holding byte target-1
            pos = f.tell()
            if pos < size and (not out or pos > out[-1]):
                out.append(pos)
    return out


def lines_before(path: str | Path, offset: int) -> int:
    """How many lines end before byte ``offset`` (to turn range line numbers into file ones)."""
    count = 0
    left = offset
    with open(path, "rb") as f:
        while left > 0:
            block = f.read(min(left, 1 << 22))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count


GZIP_MAY_WRAP = 200 * 2**20


def uncompressed_size(path: str | Path) -> int:
    """Bytes of JSON a file holds: its size, or a gzip file's recorded size (an estimate)."""
    size = Path(path).stat().st_size
    if not is_gzip(path):
        return size
    with open(path, "rb") as f:
        f.seek(max(size - 4, 0))
        isize = int.from_bytes(f.read(4), "little")
    # ISIZE is modulo 4 GiB and only the last member's: fall back to a typical ratio. A
    # file this big may hold more than 4 GiB (JSON compresses 10 to 20 times): then ISIZE
    # says nothing, and a big search must not be taken for a small one (dnflow.spill)
    if size >= GZIP_MAY_WRAP:
        return max(isize, size * 10)
    return isize if isize >= size else size * 6


def _try_whole(path: str | Path) -> Any | None:
    if Path(path).stat().st_size > MAX_PRETTY_BYTES:
        return None
    try:
        with open_binary(path) as f:
            data = f.read(MAX_PRETTY_BYTES + 1)
        if len(data) > MAX_PRETTY_BYTES:
            return None
        if data[:3] == BOM:
            data = data[3:]
        return orjson.loads(data)
    except (orjson.JSONDecodeError, *GZIP_DAMAGE):  # then it is read line by line
        return None

