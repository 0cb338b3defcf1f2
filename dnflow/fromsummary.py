"""What the jobs after the summary (posts.parquet: dnflow.parquet; the networks:
dnflow.networks) read from a search's summary folder: its platform, and tweets.csv as a
DuckDB relation, every column as text.

One reading for both, so that a tweets.csv they are given is read the same way: one
written before the accounts' columns were added (its own, shorter header), one that is
empty (a search that failed before writing a row) or has only its header.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnflow.rows import TWEETS_CSV_HEADER


def platform(summary_dir: Path) -> str:
    """The name of the search's platform, from its summary.json (:func:`platform_name`)."""
    return platform_name(json.loads((summary_dir / "summary.json").read_text(
        encoding="utf-8")))


def platform_name(summary: Mapping[str, Any]) -> str:
    """The name of a search's platform; "" for a search without posts (no row of its
    files has a platform to name)."""
    from dnflow.sources import platform_of  # the registries: only when a job needs them

    return platform_of(summary).name if summary.get("tweets") else ""


def header(csv_path: Path) -> list[str]:
    """tweets.csv's own header: [] for a missing or empty file."""
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def sql_text(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def tweets(csv_path: Path, buffer_size: int) -> tuple[str, list[str]]:
    """The relation (for a FROM) of tweets.csv's rows, every column as text, and its
    columns: the file's own, or for a missing or empty file every column of
    TWEETS_CSV_HEADER and no row. An empty field reads as NULL, or as '' where quoted.

    ``buffer_size``: how many bytes DuckDB reads at once (a row must fit in it; more
    is faster, and costs that much memory)."""
    columns = header(csv_path)
    if not columns:
        return ("(SELECT " + ", ".join(f"''::VARCHAR AS {c}" for c in TWEETS_CSV_HEADER)
                + " WHERE false)", list(TWEETS_CSV_HEADER))
    names = "[" + ", ".join(sql_text(c) for c in columns) + "]"
    # one thread, in the file's order (rowid is "first seen"); strict, so a broken row
    # is an error and not a shifted one
    return (f"read_csv({sql_text(str(csv_path))}, header=true, names={names}, "
            "all_varchar=true, quote='\"', escape='\"', parallel=false, strict_mode=true, "
            f"max_line_size=4000000, buffer_size={buffer_size})", columns)
