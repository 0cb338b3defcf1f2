"""Read tweet archives as they are: plain or gzip, one JSON value per line.

Streams line by line (never the whole file), never writes to the user's files, and turns
every unreadable line into a ``Skip`` naming the file and line instead of an exception.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

# A single pretty-printed API answer is one document over many lines. Anything bigger than
# this is certainly not one answer, so it is read line by line and its bad lines reported.
MAX_PRETTY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Skip:
    file: str
    line: int
    reason: str


def open_binary(path: str | Path) -> IO[bytes]:
    """Open plain or gzip by content, not by name (archives get renamed)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115


def _short(line: bytes) -> str:
    text = line[:60].decode("utf-8", "replace").strip()
    return text + ("…" if len(line) > 60 else "")


def read_json_lines(path: str | Path) -> Iterator[tuple[int, Any] | Skip]:
    """Yield ``(line_number, value)`` for each JSON line, or a ``Skip`` for bad ones.

    Blank lines are ignored. A file whose first line is not JSON but whose whole content
    is (a pretty-printed single response) yields that one value as line 1.
    """
    name = str(path)
    with open_binary(path) as f:
        first = True
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                if first and line.lstrip()[:1] in (b"{", b"["):
                    whole = _try_whole(path)
                    if whole is not None:
                        yield 1, whole
                        return
                truncated = not line.endswith(b"\n")
                why = "truncated line, invalid JSON" if truncated else f"not JSON ({e.msg})"
                yield Skip(name, n, f"{why}: {_short(line)}")
                first = False
                continue
            first = False
            yield n, value


def _try_whole(path: str | Path) -> Any | None:
    if Path(path).stat().st_size > MAX_PRETTY_BYTES:
        return None
    with open_binary(path) as f:
        data = f.read(MAX_PRETTY_BYTES + 1)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None

