"""A long summary says it is alive: every so often, a line in the job log and on the
terminal with the posts counted so far, the rate, the share of the input read and when
it should end (issue 15, class 9).

Nothing on the hot path: a thread wakes every ``DNFLOW_PROGRESS_SECONDS`` (30 s) and
reads the counters the pass keeps anyway (its tally's posts) and what the kernel counts
of the bytes this process and its workers have read (Linux: /proc/<pid>/io ``rchar``).
A summary shorter than the interval prints nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

INTERVAL_ENV = "DNFLOW_PROGRESS_SECONDS"
INTERVAL = 30.0


def _rchar(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/io", "rb") as f:
            for line in f:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(c) for c in task.read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def bytes_read(pid: int | None = None) -> int | None:
    """Bytes read by a process and its children (None where the system does not say)."""
    pid = os.getpid() if pid is None else pid
    own = _rchar(pid)
    if own is None:
        return None
    return own + sum(_rchar(c) or 0 for c in _children(pid))


def _amount(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class Progress:
    """Reports ``posts()`` and the share of ``total_bytes`` read, from a thread.

    ``posts``: the posts this process has counted (its workers' are estimated from the
    bytes they read). Use as a context manager around the pass."""

    def __init__(self, posts: Callable[[], int], total_bytes: int, log: TextIO | None,
                 every: float | None = None, terminal: TextIO | None = None) -> None:
        self.posts, self.total, self.log = posts, total_bytes, log
        self.every = every if every is not None else float(
            os.environ.get(INTERVAL_ENV) or INTERVAL)
        self.terminal = terminal if terminal is not None else sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.shown = self.done = 0

    def __enter__(self) -> Progress:
        self.start_time = time.monotonic()
        self.start_bytes = bytes_read()
        self.start_own = _rchar(os.getpid())
        self._thread = threading.Thread(target=self._run, name="dnflow-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                line = self.line()
                for out in (self.log, self.terminal):
                    if out is not None:
                        out.write(line + "\n")
                        if hasattr(out, "flush"):
                            out.flush()
            except Exception:  # noqa: BLE001 - a progress line is never worth a failure
                return

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start_time, 1e-9)
        posts = self.posts()
        read = bytes_read()
        text = f"progress: {posts:,} posts counted"
        if read is None or self.start_bytes is None or not self.total:
            return text + f" in {_duration(elapsed)} ({posts / elapsed:,.0f}/s)"
        # a worker that has ended takes its bytes with it: figures never go back
        done = self.done = max(read - self.start_bytes, self.done)
        own = max((_rchar(os.getpid()) or 0) - (self.start_own or 0), 1)
        if done > own and posts:  # workers read too: their posts, by the bytes they read
            posts = int(posts * done / own)
            text = "progress: about"
        else:
            text = "progress:"
        posts = self.shown = max(posts, self.shown)
        text += f" {posts:,} posts counted"
        share = min(done / self.total, 1.0)
        rate = done / elapsed
        text += (f", {posts / elapsed:,.0f}/s; {share:.0%} of {_amount(self.total)} read "
                 f"({_amount(rate)}/s)")
        if 0 < share < 1 and rate > 0:
            text += f", about {_duration((self.total - done) / rate)} to go"
        return text
