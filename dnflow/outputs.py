"""The manifest of a search's summary files (data/<slug>/summary/): written once, here.

The summarize rule's outputs, the tests and the benchmarks take the list from
``manifest()``: the pass's own files, then every registered count's (dnflow.counting),
in registry order. The page's downloads and its zip take ``downloads()``: those and
the files made from them afterwards by jobs of their own (``PRODUCTS``).
"""

from __future__ import annotations

from pathlib import Path

from dnflow.counting import COUNTS, Output, sections

# written by the pass itself, not by a count
SUMMARY = Output("summary.json", (), "every number on this page, the files read and the "
                 "run history", level="counts")
# streamed as the pass reads (dnflow.summary): a row per post, or per skipped line
POSTS = Output("tweets.csv", (), "one row per {post} (ids as text)", zipped=False,
               grows=True)
# an id is published at ids, unless it spells out a small account's handle (a Mastodon
# status URI: dnflow.publish)
IDS = Output("tweet-ids.txt", (), "one id per line, for hydrating", grows=True,
             level="ids", scan=("id",))
SKIPPED = Output("skipped.csv", ("file", "line", "reason"),
                 "lines that were not {posts}: file, line, reason", grows=True,
                 level="counts")


# made from the summary by a job of its own (rules/package.smk), not by the pass
PARQUET = Output("posts.parquet", (), "one typed row per {post} (Parquet: pandas, R, "
                 "DuckDB)", zipped=False)
PRODUCTS = (PARQUET,)


def manifest() -> list[Output]:
    """Every file the summary's pass writes, in the order the page lists them."""
    out = [SUMMARY, POSTS, IDS]
    for count in COUNTS:
        out.extend(count.outputs)
    out.append(SKIPPED)
    names = [o.name for o in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"summary files written by two counts: {', '.join(sorted(dup))}")
    return out


def names() -> list[str]:
    return [o.name for o in manifest()]


def downloads() -> list[Output]:
    """Every file of a search the page offers: the pass's, then the products made from
    them (``PRODUCTS``), then the networks (dnflow.networks)."""
    from dnflow import networks

    return [*manifest(), *PRODUCTS, *networks.OUTPUTS]


def path(summary_dir: Path, output: Output) -> Path:
    """Where a search's file is: its summary folder, or the networks' folder beside it
    (data/<slug>/networks: a job of its own writes them)."""
    from dnflow import networks

    if output.name in networks.NAMES:
        return summary_dir.parent / networks.FOLDER / output.name
    return summary_dir / output.name


def index_files() -> list[str]:
    """What the site's index and compare page read of every search: its summary, its
    timeline (the index's sparkline) and the files of every section compared across
    searches (``Section.compare``)."""
    return [SUMMARY.name, COUNTS["timeline"].outputs[0].name,
            *dict.fromkeys(s.csv for s in sections() if s.compare)]
