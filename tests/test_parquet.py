"""posts.parquet (dnflow.parquet, its own job after the summary): read back with DuckDB,
it is tweets.csv typed: the same posts in the same order, every value the same."""

import csv
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dnflow.outputs import downloads, names
from dnflow.parquet import write_parquet, write_search
from dnflow.summary import summarize

from .golden.cases import CORPUS

FILES = [CORPUS / "twarc-csv" / "test-data" / "2sets.jsonl",
         CORPUS / "derived" / "v1.1" / "tweepy_v1.1_cassette_tweets.jsonl",
         CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json"]


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _text(v: str) -> str | None:
    return v or None


def _list(v: str) -> list[str]:
    return v.split(" ") if v else []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parquet_reads_back_as_tweets_csv(tmp_path, path):
    summary = summarize([path], tmp_path, {"slug": "p", "source": "archive"})
    write_search(tmp_path)
    rows = _csv(tmp_path / "tweets.csv")
    assert len(rows) == summary["tweets"] > 0
    got = duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{tmp_path / 'posts.parquet'}')").fetchall()
    cols = [d[0] for d in duckdb.connect().execute(
        f"DESCRIBE SELECT * FROM read_parquet('{tmp_path / 'posts.parquet'}')").fetchall()]
    assert len(got) == len(rows)
    platform = "bluesky" if "bluesky" in path.name else "x"
    for row, values in zip(rows, got, strict=True):
        p = dict(zip(cols, values, strict=True))
        assert p["id"] == row["id"] and isinstance(p["id"], str)
        want_time = (datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
                     if row["created_at"] else None)
        assert p["created_at"] == want_time
        assert p["created_at"] is None or p["created_at"].utcoffset().total_seconds() == 0
        assert p["author_id"] == _text(row["author_id"])
        assert p["handle"] == _text(row["username"])
        assert p["kind"] == row["type"] and p["text"] == row["text"]
        for a, b in (("lang", "lang"), ("repost_of", "retweet_of"), ("quote_of", "quote_of"),
                     ("reply_to", "reply_to"), ("client", "source"), ("place", "place")):
            assert p[a] == _text(row[b]), a
        for key in ("hashtags", "mentions", "urls", "media_keys"):
            assert p[key] == _list(row[key]), key
        for key in ("retweet_count", "reply_count", "like_count", "quote_count"):
            assert p[key] == (int(row[key]) if row[key] else None), key
        assert p["platform"] == platform


def test_parquet_is_a_download_and_typed(tmp_path):
    # a download, but not the pass's: the summary pays nothing for it
    assert "posts.parquet" in [o.name for o in downloads()]
    assert "posts.parquet" not in names()
    summarize([FILES[0]], tmp_path, {"slug": "p"})
    assert not (tmp_path / "posts.parquet").exists()
    write_search(tmp_path)
    types = dict(duckdb.connect().execute(
        f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
        f"read_parquet('{tmp_path / 'posts.parquet'}'))").fetchall())
    assert types["id"] == "VARCHAR" and types["author_id"] == "VARCHAR"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["hashtags"] == "VARCHAR[]" and types["like_count"] == "BIGINT"


def test_a_search_without_posts_gives_an_empty_file(tmp_path):
    empty = CORPUS / "twarc-csv" / "test-data" / "empty.json"
    summarize([empty], tmp_path, {"slug": "e"})
    write_search(tmp_path)
    n = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path / 'posts.parquet'}')").fetchone()
    assert n == (0,)


def test_quotes_and_odd_text_survive(tmp_path):
    src = tmp_path / "tweets.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        w.writerow(["id", "created_at", "author_id", "username", "name", "type", "text",
                    "lang", "retweet_of", "quote_of", "reply_to", "hashtags", "mentions",
                    "urls", "media_keys", "retweet_count", "reply_count", "like_count",
                    "quote_count", "source", "place"])
        w.writerow(["1", "2026-01-02T03:04:05Z", "9", "a", 'say "hi",\r\nthen', "tweet",
                    'a "quote", a comma\nand a line', "en", "", "", "", "x y", "", "", "",
                    1, 2, 3, 4, "", ""])
    write_parquet(src, tmp_path / "p.parquet", "x")
    (name, text, tags, when) = duckdb.connect().execute(
        f"SELECT name, text, hashtags, created_at FROM read_parquet('{tmp_path / 'p.parquet'}')"
    ).fetchone()
    assert name == 'say "hi",\r\nthen' and text == 'a "quote", a comma\nand a line'
    assert tags == ["x", "y"] and when == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("content", ["", "header", "old header"])
def test_an_empty_or_header_only_tweets_csv_gives_an_empty_typed_file(tmp_path, content):
    """A search that failed before writing a row (an empty tweets.csv), one without a
    post (its header alone), one of before the accounts' columns: a Parquet file with no
    row, typed as a full one is."""
    from dnflow.rows import TWEETS_CSV_HEADER

    full = tmp_path / "full"
    full.mkdir()
    summarize([FILES[0]], full, {"slug": "p"})
    write_search(full)
    columns = {"": [], "header": TWEETS_CSV_HEADER,
               "old header": TWEETS_CSV_HEADER[:TWEETS_CSV_HEADER.index("place") + 1]}
    src = tmp_path / "tweets.csv"
    src.write_text(",".join(columns[content]) + "\n" if content else "")
    write_parquet(src, tmp_path / "posts.parquet", "")

    def described(path: Path) -> list[tuple]:
        return duckdb.connect().execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"read_parquet('{path}'))").fetchall()

    assert described(tmp_path / "posts.parquet") == described(full / "posts.parquet")
    n = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path / 'posts.parquet'}')").fetchone()
    assert n == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "posts.parquet",
                                                           "tweets.csv"]
