"""Run records and raw chunks of a source that collects (rules/collect.smk).

Every collection job of a search writes ``data/<slug>/runs/<stamp>.json`` (its run record,
``status`` ok or failed) and, when posts came, raw chunks ``data/<slug>/raw/<window>.jsonl``.
The layout is the same for every source, so the rules, the site and the retry of a failed
window need not know which source collected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


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
