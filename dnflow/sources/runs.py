"""Run records and raw chunks of a source that collects (rules/collect.smk).

Every collection job of a search writes ``data/<slug>/runs/<stamp>.json`` (its run record,
``status`` ok or failed) and, when posts came, raw chunks ``data/<slug>/raw/<window>.jsonl``.
The layout is the same for every source, so the rules, the site and the retry of a failed
window need not know which source collected. The files of one window while it is being
collected (:class:`WindowPaths`), how they are written (:func:`write_atomic`), the log
lines (:func:`logger`) and the bounds of waiting (:class:`Backoff`) are shared here too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from dnflow import __version__, atomic
from dnflow.redact import redact

Log = Callable[[str], None]


def _read_json(path: Path) -> Any | None:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def chunk_files(raw_dir: str | Path) -> list[str]:
    """The completed, non-empty chunks of a search, oldest window first."""
    raw = Path(raw_dir)
    if not raw.is_dir():
        return []
    return [str(p) for p in sorted(raw.glob("*.jsonl"))
            if not p.name.startswith(".") and p.stat().st_size > 0]


def run_records(search_dir: str | Path) -> list[str]:
    """Every run record of a search (all windows and attempts), in window order."""
    runs = Path(search_dir, "runs")
    return [str(p) for p in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def _split_stamp(name: str) -> tuple[str, int]:
    window, _, attempt = name.partition("~")
    return window, int(attempt) if attempt else 1


def failed_run(path: Path, slug: str, stamp: str, error: str) -> dict[str, Any]:
    """Write the record of a collection job that stopped on an unexpected error (a source
    writes its own expected failures). An error writing it is raised: the run then fails
    and the site is built without it (dnflow.site.rescue)."""
    window, attempt = _split_stamp(stamp)
    now = now_iso()
    record = {"slug": slug, "window": window, "attempt": attempt, "started": now,
              "finished": now, "status": "failed", "error": error, "new_tweets": 0,
              "dnflow": __version__}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dump_json(record))
    return record


def attempt_stamp(search_dir: str | Path, window: str) -> str:
    """The record name Snakemake should ask for now: the window itself, or, when its
    earlier attempts failed, the next attempt (``<window>~2``, ``~3`` …). Read-only, so a
    dry run changes nothing, and a failed attempt stays in the history."""
    runs = Path(search_dir, "runs")
    n = 1
    while True:
        name = window if n == 1 else f"{window}~{n}"
        rec = _read_json(runs / f"{name}.json")
        if rec is None or rec.get("status") != "failed":
            return name
        n += 1


# ---------------------------------------------------------------- a window's files


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path: Path, data: bytes) -> None:
    atomic.write_bytes(path, data, fsync=True)


def dump_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@dataclass
class WindowPaths:
    """The files of one window of one search (``base`` is data/<slug>)::

        raw/<window>.jsonl                 the chunk: only once complete
        raw/.<window>.partial.jsonl        pages so far, while running or after a failure
        raw/.<window>.checkpoint.json      the resume point
        runs/<window>[~<attempt>].json     the run record
    """

    base: Path
    window: str

    @property
    def raw(self) -> Path:
        return self.base / "raw"

    @property
    def chunk(self) -> Path:
        return self.raw / f"{self.window}.jsonl"

    @property
    def partial(self) -> Path:
        return self.raw / f".{self.window}.partial.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.raw / f".{self.window}.checkpoint.json"

    def record(self, name: str) -> Path:
        return self.base / "runs" / f"{name}.json"

    def chunk_of(self, stamp: str) -> Path:
        """The chunk of one attempt (a source whose every attempt keeps its own)."""
        return self.raw / f"{stamp}.jsonl"


def logger(log: TextIO | Log | None, slug: str, stamp: str) -> Log:
    """Progress lines, each with the time and the search, flushed at once (tail -f)."""
    if log is None:
        return lambda line: None
    if callable(log) and not hasattr(log, "write"):
        return log  # type: ignore[return-value]

    def write(line: str) -> None:
        log.write(f"{now_iso()} {slug} {stamp}: {redact(line)}\n")  # type: ignore[union-attr]
        log.flush()  # type: ignore[union-attr]

    return write


def start_window(slug: str, stamp: str, datadir: str | Path,
                 env: Mapping[str, str] | None, log: TextIO | Log | None
                 ) -> tuple[Mapping[str, str], WindowPaths, Log]:
    """What every source's ``collect_window`` starts from: its environment (the process's
    by default), the window's files (``stamp`` may name an attempt) and its log."""
    return (os.environ if env is None else env,
            WindowPaths(Path(datadir) / slug, _split_stamp(stamp)[0]),
            logger(log, slug, stamp))


def checked_checkpoint(cp: dict | None, paths: WindowPaths, log: Log) -> dict | None:
    """The checkpoint to resume from: none when the partial file is missing or shorter
    than it says (the pages it speaks of are not all there: trust neither)."""
    if cp is not None and (not paths.partial.exists()
                           or paths.partial.stat().st_size < cp.get("bytes", 0)):
        log("checkpoint and partial file disagree: starting the window afresh")
        return None
    return cp


# ---------------------------------------------------------------- waiting


def read_secret_file(var: str, path: str, error: type[Exception]) -> str:
    """The text of the file a ``*_FILE`` variable names (a secret: never in a message);
    ``error`` with a one-line reason when it cannot be read."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{var}: {path}: cannot read it "
                    f"({getattr(e, 'strerror', None) or type(e).__name__})") from None


def first_line_secret(var: str, path: str, what: str, error: type[Exception]) -> str:
    """The first line of that file, which must hold ``what``."""
    lines = read_secret_file(var, path, error).splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise error(f"{var}: {path} is empty (it should hold {what} on its first line)")
    return value


@dataclass
class Stats:
    """What a client's retries cost in one run (each client adds its own figures)."""

    requests: int = 0
    retries: int = 0
    waits: float = 0.0  # seconds slept, retries and rate-limit pauses together
    rate_limit_waits: int = 0

    def slept(self, state: Any, rate_limited: Callable[[BaseException], bool]) -> tuple:
        """Count tenacity's coming sleep; (the exception retried, the wait)."""
        exc = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        self.retries += 1
        self.waits += wait
        if exc is not None and rate_limited(exc):
            self.rate_limit_waits += 1
        return exc, wait


@dataclass
class Backoff:
    """How long to wait and when to give up. Every wait of a run counts against
    ``max_wait`` (seconds), so a run ends in bounded time whatever the server does."""

    base: float = 2.0  # first wait of the exponential series (5xx, resets, 429 w/o reset)
    cap: float = 120.0  # longest single exponential wait
    jitter: float = 1.0  # added to rate-limit waits, so parallel clients do not stampede
    max_wait: float = 1800.0  # total seconds one run may spend waiting (two 429 windows)
    max_attempts: int = 6  # tries of one request before giving up (5xx, connection, 429…)
    reset_cap: float = 960.0  # a reset further away than one 15-min window is clock skew

    def exp(self, attempt: int) -> float:
        """The wait before try ``attempt + 1`` when the server named none."""
        return min(self.cap, self.base * 2 ** (attempt - 1))

    def gives_up(self, attempt: int, waited: float, upcoming: float) -> bool:
        """Whether to stop after try ``attempt``, with ``waited`` seconds spent by the
        run so far and ``upcoming`` more asked for."""
        return attempt >= self.max_attempts or waited + upcoming > self.max_wait

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, prefix: str = "DNFLOW_X",
                 **defaults: Any) -> Backoff:
        """``defaults`` (the source's own), overridden by ``<prefix>_MAX_WAIT``,
        ``<prefix>_BACKOFF`` (base), ``<prefix>_JITTER`` and ``<prefix>_ATTEMPTS``
        (tests and demos shrink them)."""
        env = os.environ if env is None else env
        b = cls(**defaults)
        for name, attr, kind in (("MAX_WAIT", "max_wait", float), ("BACKOFF", "base", float),
                                 ("JITTER", "jitter", float), ("ATTEMPTS", "max_attempts", int)):
            if env.get(f"{prefix}_{name}"):
                setattr(b, attr, kind(env[f"{prefix}_{name}"]))
        return b


class ResetWaits:
    """The tenacity hooks the API clients share. An answer that says when its rate limit
    resets is waited out to then (capped by ``reset_cap``: further is clock skew; with
    jitter, so parallel clients do not stampede); any other retry waits exponentially;
    the run gives up as its Backoff says. A client has ``backoff``, ``stats``, ``clock``
    and ``rng``, and says which of its exceptions carry a reset time (:meth:`reset_of`)."""

    backoff: Backoff
    stats: Stats
    clock: Callable[[], float]
    rng: Any  # random.Random

    def reset_of(self, exc: BaseException) -> float | None:
        """The time (epoch seconds) the limit ``exc`` reports resets at, if it says."""
        return None

    def _until(self, reset: float) -> float:
        wait = min(max(reset - self.clock(), 0.0), self.backoff.reset_cap)
        return wait + self.rng.uniform(0, self.backoff.jitter)

    def _wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        reset = self.reset_of(exc) if exc is not None else None
        if reset is not None:
            return max(self._until(reset), 0.1)
        return self.backoff.exp(state.attempt_number)

    def _stop(self, state: Any) -> bool:
        return self.backoff.gives_up(state.attempt_number, self.stats.waits,
                                     state.upcoming_sleep)
