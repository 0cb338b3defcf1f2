"""posts.parquet: one typed row per counted post, for pandas, R (arrow) and DuckDB.

Made from tweets.csv once the pass has written it (it has a row per counted post in
input order, ids as text): DuckDB reads it as a stream and writes Parquet in row groups
under a memory limit, so the posts are never all held. Why DuckDB and not pyarrow: the
README's "Why each dependency" has the measured costs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dnflow.counting import COUNTS, Count, Output

FILE = "posts.parquet"
MEMORY_LIMIT = "160MB"  # DuckDB spills beyond it (its temp folder is beside the file)
ROW_GROUP = 20_000

# tweets.csv's columns as DuckDB reads them: every one as text, typed in the SELECT
_COLUMNS = ("id", "created_at", "author_id", "username", "name", "type", "text", "lang",
            "retweet_of", "quote_of", "reply_to", "hashtags", "mentions", "urls",
            "media_keys", "retweet_count", "reply_count", "like_count", "quote_count",
            "source", "place")


def _list(col: str) -> str:
    return (f"CASE WHEN coalesce({col}, '') = '' THEN []::VARCHAR[] "
            f"ELSE string_split({col}, ' ') END")


def _text(col: str) -> str:
    return f"NULLIF({col}, '')"


def select(platform: str) -> str:
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
    import duckdb  # only where a summary writes it: every other job starts faster

    tmp = out.with_name(f".{out.name}.tmp")
    spill_dir = out.with_name(f".{out.name}.duckdb-tmp")
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 1,
                                 "temp_directory": str(spill_dir),
                                 "preserve_insertion_order": True})
    try:
        names = "[" + ", ".join(f"'{c}'" for c in _COLUMNS) + "]"
        con.execute(
            f"COPY ({select(platform)} FROM read_csv($path, header=true, names={names}, "
            "all_varchar=true, quote='\"', escape='\"', parallel=false, "
            "strict_mode=true, max_line_size=4000000, buffer_size=16000000)) "
            f"TO '{_sql_path(tmp)}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP}, "
            f"COMPRESSION zstd)",
            {"path": str(csv_path), "platform": platform})
    finally:
        con.close()
        shutil.rmtree(spill_dir, ignore_errors=True)
    os.replace(tmp, out)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


@COUNTS.register
class PostsParquet(Count):
    """No part of its own: the file is tweets.csv, typed (the count is the pass's)."""

    name = "parquet"
    outputs = (Output(FILE, (), "one typed row per {post} (Parquet: pandas, R, DuckDB)",
                      zipped=False),)

    def start(self) -> Any:
        return None

    def take(self, part: Any, posts: Any) -> Any:
        if part is None and posts:
            return posts[0].platform
        return part

    def merge(self, part: Any, later: Any) -> Any:
        return part if part is not None else later

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        write_parquet(outdir / "tweets.csv", outdir / FILE, part or "")
