"""posts.parquet: one typed row per counted post, for pandas, R (arrow) and DuckDB.

Made from tweets.csv by a job of its own after the summary (rules/package.smk's
``parquet``): tweets.csv has a row per counted post in input order, ids as text; DuckDB
reads it as a stream and writes Parquet in row groups under a memory limit, so the posts
are never all held, and the summary's pass pays nothing for it. Why DuckDB and not pyarrow: the
README's "Why each dependency" has the measured costs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dnflow import fromsummary
from dnflow.outputs import PARQUET

FILE = PARQUET.name
MEMORY_LIMIT = "160MB"  # DuckDB spills beyond it (its temp folder is beside the file)
ROW_GROUP = 20_000
READ_BUFFER = 16_000_000  # bytes of tweets.csv DuckDB reads at once


def _list(col: str) -> str:
    return (f"CASE WHEN coalesce({col}, '') = '' THEN []::VARCHAR[] "
            f"ELSE string_split({col}, ' ') END")


def _text(col: str) -> str:
    return f"NULLIF({col}, '')"


def select() -> str:
    """The typed columns, from the CSV's text ones."""
    cols = [
        "id",
        "CAST(NULLIF(created_at, '') AS TIMESTAMPTZ) AS created_at",
        f"{_text('author_id')} AS author_id", f"{_text('username')} AS handle",
        f"{_text('name')} AS name", "type AS kind", "text", f"{_text('lang')} AS lang",
        f"{_text('retweet_of')} AS repost_of", f"{_text('quote_of')} AS quote_of",
        f"{_text('reply_to')} AS reply_to",
        f"{_list('hashtags')} AS hashtags", f"{_list('mentions')} AS mentions",
        f"{_list('urls')} AS urls", f"{_list('media_keys')} AS media_keys",
        *(f"TRY_CAST(NULLIF({c}, '') AS BIGINT) AS {c}"
          for c in ("retweet_count", "reply_count", "like_count", "quote_count")),
        f"{_text('source')} AS client", f"{_text('place')} AS place",
        "$platform AS platform",
    ]
    return "SELECT " + ", ".join(cols)


def write_parquet(csv_path: Path, out: Path, platform: str) -> None:
    """``out``: a row per row of tweets.csv, typed, ``platform`` in each."""
    import duckdb  # only where a summary writes it: every other job starts faster

    tmp = out.with_name(f".{out.name}.tmp")
    spill_dir = out.with_name(f".{out.name}.duckdb-tmp")
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 1,
                                 "temp_directory": str(spill_dir),
                                 "preserve_insertion_order": True})
    try:
        # an empty tweets.csv, or one of only its header: a file with no row, typed
        posts, _ = fromsummary.tweets(csv_path, READ_BUFFER)
        con.execute(
            f"COPY ({select()} FROM {posts}) TO {fromsummary.sql_text(str(tmp))} "
            f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP}, COMPRESSION zstd)",
            {"platform": platform})
    finally:
        con.close()
        shutil.rmtree(spill_dir, ignore_errors=True)
    os.replace(tmp, out)


def write_search(summary_dir: Path) -> None:
    """posts.parquet of a search's summary folder (its platform from summary.json)."""
    write_parquet(summary_dir / "tweets.csv", summary_dir / FILE,
                  fromsummary.platform(summary_dir))
