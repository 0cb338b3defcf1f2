"""Refresh windows: which chunk a search whose source collects is due to collect *now*.

A search with ``every: 6h`` owns one raw chunk per 6-hour window of UTC time, named by the
window's start (``2026-11-28T06``). Snakemake asks for the current window's run record; if
it exists nothing runs, so cron may call ``snakemake`` as often as it likes and each search
still refreshes on its own schedule. Windows are aligned on the Unix epoch, so every
machine and every run agrees on the stamp without any state.

``DNFLOW_NOW`` (ISO 8601) replaces the clock: tests and demos move time forward with it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from dnflow.sources import collecting

ONCE = "once"
"""The stamp of a search without ``every``: it is collected once and never refreshed."""

_EVERY = re.compile(r"^([1-9][0-9]*)(m|h|d)$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
# the stamp shows as much of the time as the unit needs; no ':' so it is a safe file name
_FORMAT = {"m": "%Y-%m-%dT%H%M", "h": "%Y-%m-%dT%H", "d": "%Y-%m-%d"}


def parse_every(every: str) -> timedelta:
    """``"15m"`` → 15 minutes, ``"6h"``, ``"1d"``; ValueError otherwise."""
    m = _EVERY.match(every or "")
    if not m:
        raise ValueError(f"{every!r} is not a window like 15m, 6h or 1d")
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


def parse_time(value: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; a naive time is taken as UTC) → aware UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def now(env: Mapping[str, str] | None = None) -> datetime:
    """The current time in UTC, or ``DNFLOW_NOW`` when it is set."""
    env = os.environ if env is None else env
    fixed = env.get("DNFLOW_NOW")
    if fixed:
        try:
            return parse_time(fixed)
        except ValueError as e:
            raise ValueError(f"DNFLOW_NOW={fixed!r} is not an ISO 8601 time") from e
    return datetime.now(UTC)


def window_start(every: str, at: datetime) -> datetime:
    """Start of the window of length ``every`` that contains ``at`` (epoch-aligned, UTC)."""
    step = int(parse_every(every).total_seconds())
    ts = int(at.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(ts - ts % step, UTC)


def stamp(every: str | None, at: datetime | None = None) -> str:
    """The chunk name of the window containing ``at`` (default: :func:`now`)."""
    if not every:
        return ONCE
    at = now() if at is None else at
    unit = parse_every(every) and every[-1]
    return window_start(every, at).strftime(_FORMAT[unit])


def current_stamps(searches: Mapping[str, Mapping], at: datetime | None = None) -> dict[str, str]:
    """``{slug: stamp}`` for every search whose source has a collection job
    (dnflow.sources: ``collects``), all taken at the same instant."""
    at = now() if at is None else at
    return {slug: stamp(searches[slug].get("every"), at) for slug in collecting(searches)}


def month_of(at: datetime) -> str:
    """Calendar month (UTC) a budget is counted in: ``2026-11``."""
    return at.astimezone(UTC).strftime("%Y-%m")
