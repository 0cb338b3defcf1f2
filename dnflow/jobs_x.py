"""The Snakemake job of ``checkpoint collect_x``, given the ``snakemake`` object of its
``script:`` wrapper (kept here so scripts/collect_x.py stays one line and this is testable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnflow.sources.x import chunk_files, collect_window, run_records


def run_collect_x(smk: Any) -> dict:
    """Collect the window named by the output ``data/{slug}/runs/{stamp}.json``.

    The search comes from the workflow's config, not from params: params are stored in
    .snakemake/metadata and are a rerun trigger, and the token must never be near them.
    Expected failures return a failed record (exit 0); the log says what happened.
    """
    out = Path(smk.output[0])
    slug, stamp = smk.wildcards.slug, smk.wildcards.stamp
    datadir = out.parent.parent.parent
    search = smk.config["searches"][slug]
    Path(smk.log[0]).parent.mkdir(parents=True, exist_ok=True)
    with open(smk.log[0], "a", encoding="utf-8") as log:
        record = collect_window(slug, search, stamp, datadir, log=log)
    if not out.exists():  # collect_window writes exactly this path; make sure of it
        raise RuntimeError(f"run record {out} was not written")
    return record


# The input functions of rules/collect.smk, bound there to Snakemake's `checkpoints` and the
# stamps of this invocation with functools.partial (kept here: testable, and a .smk file
# that mixes rules and functions fails `snakemake --lint`).


def x_chunks(checkpoints: Any, stamps: dict[str, str], slug: str) -> list[str]:
    """The non-empty raw chunks of an X search, once its current window is collected.

    A window that brought nothing writes no chunk, so the summary's inputs stay the same
    and nothing is re-summarized."""
    checkpoints.collect_x.get(slug=slug, stamp=stamps[slug])
    return chunk_files(f"data/{slug}/raw")


def x_runs(checkpoints: Any, stamps: dict[str, str], slug: str) -> list[str]:
    """Every run record of an X search (the page's run history), current window included."""
    checkpoints.collect_x.get(slug=slug, stamp=stamps[slug])
    return run_records(f"data/{slug}")
