"""The networks of a search: who mentions, reposts, quotes and replies to whom, and which
hashtags are used together (edge lists for Gephi, and network.gexf).

Made by a job of their own after the summary (rules/package.smk, ``networks``), with
DuckDB from the summary's tweets.csv, which has a row per counted post with the
accounts it points at: the summary's pass pays nothing for them (docs/performance.md).
DuckDB reads the file as a stream, sums under a memory limit (spilling beyond it) and
the files are written from the query results a block of rows at a time.

- **Accounts** are keyed by their platform id; an account known only by a handle (a
  mention, an "RT @handle:" repost whose original the archive lacks) is ``@`` and its
  case-folded handle (Python's ``str.casefold``, as mentions.csv folds). Such a handle
  becomes the id of the account the search saw with that handle first (an author, or a
  repost's original's author, in tweets.csv's order), so an account mentioned by handle
  and posting under its id is one node.
- **Edges.** A post adds 1 to each distinct edge it makes: author → each mentioned
  account (not a repost: its mentions are its original's); a repost: reposter → the
  original's author; a quote: → the quoted post's author; a reply: → the replied-to
  post's author (on Bluesky the DID of the at-URI where the record gives no account).
  ``first`` and ``last``: the times of the first and last of those posts.
- **Hashtags together:** each pair of distinct case-folded hashtags of one post (a
  repost's original's), weighted by posts.
- **Order:** weight descending, then source, then target (code points).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dnflow import fromsummary
from dnflow.counting import Output, write_csv
from dnflow.networks.gexf import GexfFile
from dnflow.rows import TWEETS_CSV_HEADER

EDGE_HEADER = ("source", "target", "weight", "first", "last")
# key letter → the network's name (its file: edges-<name>.csv)
KINDS = {"M": "mentions", "R": "retweets", "Q": "quotes", "P": "replies"}
FILES = {k: f"edges-{name}.csv" for k, name in KINDS.items()}
HASHTAGS_FILE = "edges-hashtags.csv"
GEXF_FILE = "network.gexf"
FOLDER = "networks"  # data/<slug>/networks/: the summarize rule owns summary/
# DuckDB spills beyond it (its database and temp folder are beside the files): with
# Python and DuckDB's own, the job peaks under 300 MB (docs/performance.md)
MEMORY_LIMIT = "100MB"
BLOCK = 10_000  # result rows fetched at once
READ_BUFFER = 8_000_000  # bytes of tweets.csv DuckDB reads at once

_ACCOUNTS = ("source", "target")
# what each file holds, for the publishing levels (dnflow.publish): account networks
# at ids with small accounts pseudonymous, hashtags at every level, the GEXF (handles
# as labels) only at everything
OUTPUTS = (
    Output(FILES["M"], EDGE_HEADER, "who mentions whom: source, target, {posts}, first, "
           "last", level="ids", accounts=_ACCOUNTS),
    Output(FILES["R"], EDGE_HEADER, "who {repost}s whom (the original's author)",
           level="ids", accounts=_ACCOUNTS),
    Output(FILES["Q"], EDGE_HEADER, "who quotes whom (the quoted {post}'s author)",
           level="ids", accounts=_ACCOUNTS),
    Output(FILES["P"], EDGE_HEADER, "who replies to whom", level="ids",
           accounts=_ACCOUNTS),
    Output(HASHTAGS_FILE, EDGE_HEADER, "hashtags used in one {post} together "
           "(undirected)", level="counts"),
    Output(GEXF_FILE, (), "the account networks in one GEXF 1.3 file, for Gephi"),
)
NAMES = tuple(o.name for o in OUTPUTS)

# the accounts a post points at, and the hashtags it counts (tweets.csv's text columns)
_FOLD = ("CREATE MACRO fold(x) AS CASE WHEN strlen(x) = length(x) THEN lower(x) "
         "ELSE py_casefold(x) END")
_DID = ("CREATE MACRO did(u) AS CASE WHEN starts_with(u, 'at://') "
        "THEN nullif(split_part(substr(u, 6), '/', 1), '') END")
# X's "RT @handle: …" (Python: text[4:text.find(":", 4)], the colon past the 5th char)
_RT = ("CREATE MACRO rt_handle(x) AS CASE WHEN starts_with(x, 'RT @') AND "
       "strpos(substr(x, 5), ':') > 1 THEN '@' || fold(substr(x, 5, "
       "strpos(substr(x, 5), ':') - 1)) END")
_POSTS = """
CREATE TABLE posts AS SELECT
  CASE WHEN author_id <> '' THEN author_id
       WHEN username <> '' THEN '@' || fold(username) END AS src,
  nullif(author_id, '') AS aid, nullif(username, '') AS handle,
  nullif(created_at, '') AS t,
  retweet_of <> '' AS repost,
  CASE WHEN retweet_of <> '' THEN coalesce(nullif(retweet_of_author_id, ''),
       '@' || fold(nullif(retweet_of_username, '')), rt_handle(text)) END AS rt,
  nullif(retweet_of_author_id, '') AS ro_id, nullif(retweet_of_username, '') AS ro_handle,
  CASE WHEN retweet_of = '' AND quote_of <> '' THEN
       coalesce(nullif(quote_of_author_id, ''), did(quote_of)) END AS qt,
  CASE WHEN retweet_of = '' AND reply_to <> '' THEN
       coalesce(nullif(reply_to_author_id, ''), did(reply_to)) END AS pt,
  CASE WHEN retweet_of = '' THEN nullif(mentions, '') END AS mentions,
  CASE WHEN retweet_of <> '' AND (retweet_of_author_id <> ''
       OR retweet_of_username <> '') THEN retweet_of_hashtags
       ELSE hashtags END AS tags
FROM ({source})
"""
# an "@handle" → the id of the account first seen with it (an author, then the original's
# author of its repost: rowid * 2 and rowid * 2 + 1)
_ALIASES = """
CREATE TABLE aliases AS SELECT h, arg_min(id, o) AS id FROM (
  SELECT '@' || fold(handle) AS h, aid AS id, rowid * 2 AS o FROM posts
  WHERE aid IS NOT NULL AND handle IS NOT NULL
  UNION ALL
  SELECT '@' || fold(ro_handle), ro_id, rowid * 2 + 1 FROM posts
  WHERE ro_id IS NOT NULL AND ro_handle IS NOT NULL
) GROUP BY h
"""
# in two statements: one holding every hash table at once needs more memory than
# DuckDB can spill (measured: 100 MB was too little for 1M posts in one)
_RAW_EDGES = """
CREATE TABLE raw AS
  SELECT 'R' AS kind, src, rt AS tgt, t FROM posts WHERE rt IS NOT NULL
  UNION ALL SELECT 'Q', src, qt, t FROM posts WHERE qt IS NOT NULL
  UNION ALL SELECT 'P', src, pt, t FROM posts WHERE pt IS NOT NULL
  UNION ALL SELECT 'M', src, '@' || m, t FROM (
    SELECT DISTINCT rowid, src, t, unnest(string_split(fold(mentions), ' ')) AS m
    FROM posts WHERE mentions IS NOT NULL) WHERE m <> ''
"""
_EDGES = """
CREATE TABLE edges AS
SELECT kind, coalesce(a.id, raw.src) AS source, coalesce(b.id, raw.tgt) AS target,
       count(*) AS weight, min(t) AS first, max(t) AS last
FROM raw LEFT JOIN aliases a ON raw.src = a.h LEFT JOIN aliases b ON raw.tgt = b.h
WHERE raw.src IS NOT NULL
GROUP BY ALL
"""
_PAIRS = """
WITH tags AS (
  SELECT DISTINCT rowid AS r, t, unnest(string_split(fold(tags), ' ')) AS tag
  FROM posts WHERE contains(tags, ' ')
)
SELECT x.tag, y.tag, count(*) AS weight, min(x.t), max(x.t)
FROM tags x JOIN tags y ON x.r = y.r AND x.tag < y.tag
WHERE x.tag <> ''
GROUP BY ALL ORDER BY weight DESC, x.tag, y.tag
"""
# every account of an edge or an author, with an author's posts, the handle of its
# newest post (equal times: the later row) and followers (users.csv, by that handle)
_NODES = """
WITH authors AS (
  SELECT src AS a, count(*) AS posts,
         arg_max(handle, coalesce(t, '') || lpad(rowid::VARCHAR, 20, '0')) AS handle
  FROM posts WHERE src IS NOT NULL GROUP BY src
), accounts AS (
  SELECT source AS a FROM edges UNION SELECT target FROM edges
  UNION SELECT a FROM authors
)
SELECT accounts.a, authors.posts, authors.handle, u.followers
FROM accounts LEFT JOIN authors USING (a)
LEFT JOIN users u ON u.username = authors.handle
ORDER BY accounts.a
"""


def _source(csv_path: Path) -> str:
    """The SELECT of tweets.csv's text columns (a tweets.csv written before the accounts'
    columns were added reads as if they were empty)."""
    posts, columns = fromsummary.tweets(csv_path, READ_BUFFER)
    # an empty field is read as NULL or as '' (quoted): '' here, for every test below
    cols = ", ".join(f"coalesce({c}, '') AS {c}" if c in columns else f"'' AS {c}"
                     for c in TWEETS_CSV_HEADER)
    return f"SELECT {cols} FROM {posts}"


def _users(path: Path) -> str:
    if not path.is_file() or path.stat().st_size == 0:
        return ("SELECT NULL::VARCHAR AS username, NULL::BIGINT AS followers "
                "WHERE false")
    return (f"SELECT username, max(TRY_CAST(followers AS BIGINT)) AS followers "
            f"FROM read_csv({fromsummary.sql_text(str(path))}, header=true, all_varchar=true, "
            "quote='\"', escape='\"') GROUP BY username")


def _blocks(cur: Any) -> Iterator[list[tuple]]:
    while rows := cur.fetchmany(BLOCK):
        yield rows


def _write_edges(path: Path, blocks: Iterator[list[tuple]], gexf: GexfFile | None = None,
                 network: str = "") -> int:
    """An edge list of the blocks of rows (each also added to ``gexf``); how many."""
    n = 0

    def rows() -> Iterator[tuple]:
        nonlocal n
        for block in blocks:
            if gexf is not None:
                gexf.edges(network, block)
            n += len(block)
            yield from block  # first and last may be None: the csv module writes ""

    write_csv(path, EDGE_HEADER, rows())
    return n


def write_networks(tweets_csv: Path, users_csv: Path | None, outdir: Path,
                   platform: str) -> dict[str, int]:
    """The five edge lists and network.gexf of a search's tweets.csv in ``outdir``; how
    many edges each list has."""
    import duckdb  # only where networks are made: every other job starts faster

    outdir.mkdir(parents=True, exist_ok=True)
    spill_dir = outdir / ".duckdb-tmp"
    shutil.rmtree(spill_dir, ignore_errors=True)  # a killed job's
    spill_dir.mkdir()
    # a database on disk, not in memory: its tables leave memory for the file when they
    # outgrow the limit, whatever the size of the search
    con = duckdb.connect(str(spill_dir / "networks.duckdb"), config={
        "memory_limit": MEMORY_LIMIT, "threads": 1, "temp_directory": str(spill_dir),
        "preserve_insertion_order": True})
    counts: dict[str, int] = {}
    try:
        con.execute("SET enable_progress_bar = false")  # none in the job's log
        con.create_function("py_casefold", str.casefold, ["VARCHAR"], "VARCHAR",
                            side_effects=False)
        for macro in (_FOLD, _DID, _RT):
            con.execute(macro)
        con.execute(_POSTS.format(source=_source(tweets_csv)))
        # only the posts' rowids need the file's order ("first seen"): the rest is sorted
        # by ORDER BY, and keeping insertion order costs memory DuckDB cannot spill
        con.execute("SET preserve_insertion_order = false")
        con.execute(_ALIASES)
        con.execute(_RAW_EDGES)
        con.execute(_EDGES)
        con.execute("DROP TABLE raw")
        con.execute(f"CREATE TABLE users AS {_users(users_csv or Path('-'))}")
        # each network's edges sorted once: its rows are its edge list's and the GEXF's
        # (the nodes' results read first: one connection, one result at a time)
        with GexfFile(outdir / GEXF_FILE, platform) as gexf:
            gexf.nodes(_blocks(con.execute(_NODES)))
            for kind, name in KINDS.items():
                cur = con.execute("SELECT source, target, weight, first, last FROM edges "
                                  "WHERE kind = ? ORDER BY weight DESC, source, target",
                                  [kind])
                counts[name] = _write_edges(outdir / FILES[kind], _blocks(cur), gexf,
                                            name)
        counts["hashtags"] = _write_edges(outdir / HASHTAGS_FILE,
                                          _blocks(con.execute(_PAIRS)))
    finally:
        con.close()
        shutil.rmtree(spill_dir, ignore_errors=True)
    return counts


def write_search(summary_dir: Path, outdir: Path) -> dict[str, int]:
    """The networks of a search's summary folder (its platform from summary.json)."""
    counts = write_networks(summary_dir / "tweets.csv", summary_dir / "users.csv", outdir,
                            fromsummary.platform(summary_dir))
    os.utime(outdir)
    return counts
