"""The Snakemake jobs of every source's collection and generated raw file, and the input
functions that wait for them (rules/collect.smk). Kept here, not in the .smk files: they
are testable, and a .smk file that mixes rules and functions fails `snakemake --lint`.

Each job dispatches to the search's source (dnflow.sources); nothing here names one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from dnflow.redact import redact
from dnflow.sources import SOURCES, SourceError, source_of
from dnflow.sources.runs import failed_run, run_records


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
            record = source_of(search).collect(slug, search, stamp, datadir, Echo(log))
            if not out.exists():  # the source must write exactly this path
                raise RuntimeError(f"run record {out} was not written")
        except Exception as e:
            # an unexpected error's text may quote a request (its headers): redacted, and
            # without the chained traceback that would quote it again. Written as a failed
            # run, so the summary and the site go on with what is archived, and the next
            # run tries the window again (its next attempt: runs.attempt_stamp)
            error = str(e) if isinstance(e, SourceError) else redact(f"{type(e).__name__}: {e}")
            log.write(f"FAILED: {error}\n")
            record = failed_run(out, slug, stamp, error)
    return record


class Echo:
    """A job log that also shows the terminal a line every ``DNFLOW_PROGRESS_SECONDS``
    (30 s), and the last ones ("done: …", "FAILED: …"): a long collection shows it is
    alive where it was started, and the log keeps every line."""

    def __init__(self, log: TextIO, terminal: TextIO | None = None) -> None:
        self.log, self.terminal = log, terminal or sys.stderr
        self.every = float(os.environ.get("DNFLOW_PROGRESS_SECONDS") or 30)
        self.last = time.monotonic()

    def write(self, text: str) -> None:
        self.log.write(text)
        now = time.monotonic()
        if now - self.last >= self.every or ": done:" in text or ": FAILED" in text:
            self.last = now
            self.terminal.write(f"dnflow: {text}")
            self.terminal.flush()

    def flush(self) -> None:
        self.log.flush()


def run_generate(smk: Any) -> None:
    """Write a search's generated raw file (a source's ``generates``)."""
    slug = smk.wildcards.slug
    search = smk.config["searches"][slug]
    with open(smk.log[0], "w", encoding="utf-8") as log:
        try:
            source_of(search).generate(smk.output[0], slug, search, log)
        except Exception as e:
            # the log's last line is the reason the site gives (dnflow.site.rescue)
            log.write(redact(f"FAILED: {type(e).__name__}: {e}") + "\n")
            raise


def generate_params(searches: dict[str, dict], slug: str) -> str:
    """The generate job's param: what its file depends on (a change regenerates it)."""
    return json.dumps(source_of(searches[slug]).generate_params(slug, searches[slug]),
                      sort_keys=True)


def generated_names() -> str:
    """A wildcard pattern matching every source's generated raw file name."""
    return "|".join(re.escape(s.generates) for s in SOURCES if s.generates) or "(?!)"


LINKS = "links"
"""data/<slug>/links/: brace-free names of the search's input files whose paths hold braces."""


def brace_free(slug: str, paths: list[str], datadir: str | Path = "data") -> list[str]:
    """The input paths as Snakemake can take them: a path with ``{`` or ``}`` in it (which
    Snakemake would read as a wildcard, stopping every search) becomes a symbolic link
    under data/<slug>/links/ to it, named by a digest of the path. The summary reports
    the path the link points to (:func:`shown_path`)."""
    out = []
    for p in paths:
        if "{" not in p and "}" not in p:
            out.append(p)
            continue
        digest = hashlib.blake2b(os.path.abspath(p).encode("utf-8", "surrogateescape"),
                                 digest_size=8).hexdigest()
        link = Path(datadir, slug, LINKS, digest + _BRACES.sub("_", Path(p).suffix))
        # relative where the user's path is, so the summary names it as they did
        target = p if os.path.isabs(p) else os.path.relpath(p, link.parent)
        if not (link.is_symlink() and os.readlink(link) == target):
            link.parent.mkdir(parents=True, exist_ok=True)
            tmp = link.with_name(f".{link.name}.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            os.symlink(target, tmp)
            os.replace(tmp, link)
        out.append(str(link))
    return out


_BRACES = re.compile(r"[{}]")


def shown_path(path: str) -> str:
    """A summary input's path as the user named it: the target of a :func:`brace_free`
    link, else the path itself."""
    parent = Path(path).parent
    if parent.name == LINKS and Path(path).is_symlink():
        return os.path.normpath(os.path.join(parent, os.readlink(path)))
    return path


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
