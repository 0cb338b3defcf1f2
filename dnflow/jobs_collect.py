"""The Snakemake jobs of every source's collection and generated raw file, and the input
functions that wait for them (rules/collect.smk). Kept here, not in the .smk files: they
are testable, and a .smk file that mixes rules and functions fails `snakemake --lint`.

Each job dispatches to the search's source (dnflow.sources); nothing here names one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dnflow.redact import redact
from dnflow.sources import SOURCES, SourceError, source_of
from dnflow.sources.runs import run_records


def run_collect(smk: Any) -> dict:
    """Collect the window named by the output ``data/{slug}/runs/{stamp}.json``.

    The search comes from the workflow's config, not from params: params are stored in
    .snakemake/metadata and are a rerun trigger, and a token must never be near them.
    Expected failures return a failed record (exit 0); the log says what happened.
    """
    out = Path(smk.output[0])
    slug, stamp = smk.wildcards.slug, smk.wildcards.stamp
    datadir = out.parent.parent.parent
    search = smk.config["searches"][slug]
    Path(smk.log[0]).parent.mkdir(parents=True, exist_ok=True)
    with open(smk.log[0], "a", encoding="utf-8") as log:
        try:
            record = source_of(search).collect(slug, search, stamp, datadir, log)
        except SourceError:
            raise  # its text is redacted already
        except Exception as e:
            # an unexpected error's text may quote a request (its headers): redacted, and
            # without the chained traceback that would quote it again
            raise RuntimeError(redact(f"{type(e).__name__}: {e}")) from None
    if not out.exists():  # the source must write exactly this path; make sure it did
        raise RuntimeError(f"run record {out} was not written")
    return record


def run_generate(smk: Any) -> None:
    """Write a search's generated raw file (a source's ``generates``)."""
    slug = smk.wildcards.slug
    search = smk.config["searches"][slug]
    with open(smk.log[0], "w", encoding="utf-8") as log:
        source_of(search).generate(smk.output[0], slug, search, log)


def generate_params(searches: dict[str, dict], slug: str) -> str:
    """The generate job's param: what its file depends on (a change regenerates it)."""
    return json.dumps(source_of(searches[slug]).generate_params(slug, searches[slug]),
                      sort_keys=True)


def generated_names() -> str:
    """A wildcard pattern matching every source's generated raw file name."""
    return "|".join(re.escape(s.generates) for s in SOURCES if s.generates) or "(?!)"


# Bound in rules/collect.smk to Snakemake's `checkpoints` and this invocation's stamps
# with functools.partial.


def collected(checkpoints: Any, stamps: dict[str, str], slug: str) -> None:
    """Wait for the current window's collection job of a search whose source collects."""
    if slug in stamps:
        checkpoints.collect.get(slug=slug, stamp=stamps[slug])


def collected_runs(checkpoints: Any, stamps: dict[str, str], slug: str) -> list[str]:
    """Every run record of a search (the page's run history), current window included;
    none for a source without a collection job."""
    if slug not in stamps:
        return []
    collected(checkpoints, stamps, slug)
    return run_records(f"data/{slug}")


def api_slot(searches: dict[str, dict], source: str, wildcards: Any) -> int:
    """One ``<source>_api`` unit for a collection job of that source's search, else 0."""
    return int(searches[wildcards.slug]["source"] == source)
