"""What each summary job does: ``python -m dnflow.jobs summarize …`` (rules/summarize.smk).

A ``shell:`` job running this module starts in about a tenth of a second; a ``script:``
job first imports Snakemake to unpickle its ``snakemake`` object, which for a hundred
small searches was most of the build (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dnflow.children import die_with_parent
from dnflow.deletions import read as read_deletions
from dnflow.jobs_collect import shown_path
from dnflow.sources.archive import uncompressed_size
from dnflow.summary import PARALLEL_MIN_BYTES, summarize, write_failed

# processes a big search's summary asks for (rules/summarize.smk); Snakemake caps it at
# --cores, and `--set-threads summarize=N` overrides it
BIG_SEARCH_THREADS = 2


def summarize_threads(files: list[str]) -> int:
    """1 for a small search (most of them), BIG_SEARCH_THREADS past the size where the
    summary shares its input between processes."""
    try:
        size = sum(uncompressed_size(f) for f in files)
    except OSError:
        return 1
    return BIG_SEARCH_THREADS if size >= PARALLEL_MIN_BYTES else 1


def state_dir(outdir: str | Path) -> Path:
    """data/<slug>/state: what an incremental rerun needs, beside (never inside) the
    summary folder, whose files Snakemake deletes before the job runs."""
    return Path(outdir).parent / "state"


def retry_path(outdir: str | Path) -> Path:
    """data/<slug>/summary.retry: the token of the search's last failed summary."""
    return Path(outdir).parent / "summary.retry"


def retry_token(slug_dir: str | Path) -> str:
    """The rule's ``retry`` param (rules/summarize.smk): the last failure's token.

    A failed summary is still an output (the page and the index show the failure), so
    Snakemake would take it as done. Each failure writes a new token; the next run sees
    the param changed and summarizes again. A summary that succeeds leaves the token as
    it was planned with, so the run after it has nothing to redo."""
    try:
        return (Path(slug_dir) / "summary.retry").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _mark_failed(outdir: Path) -> None:
    path = retry_path(outdir)
    tmp = path.with_name(".summary.retry.tmp")
    tmp.write_text(f"{time.time_ns():x}-{os.getpid():x}\n", encoding="ascii")
    os.replace(tmp, path)


def summarize_search(files: list[str], outdir: str | Path, meta: dict, log_path: str,
                     threads: int = 1, deletion_files: list[str] | None = None) -> dict:
    """Summarize a search. Any error is logged and written as a failed summary (exit 0),
    so one broken search never stops the other searches or the site; the failure's
    token (:func:`retry_token`) makes the next run try it again."""
    outdir = Path(outdir)
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            removing = read_deletions(deletion_files) if deletion_files else None
            summary = summarize(files, outdir, meta, log=log, workers=max(threads, 1),
                                state_dir=state_dir(outdir), removing=removing)
        except Exception as e:  # noqa: BLE001 - reported on the page, full trace in the log
            log.write(traceback.format_exc())
            failed = write_failed(outdir, meta, f"{type(e).__name__}: {e}", files)
            _mark_failed(outdir)
            log.write("failed: the next run summarizes this search again\n")
            return failed
        log.write(f"{summary['tweets']} tweets, {summary['skipped']} lines skipped\n")
        if summary.get("changed_while_read"):
            _mark_failed(outdir)  # not failed, but the next run must count them again
        return summary


def failed_summaries(slugs: list[str], log_pattern: str, workdir: str | Path = ".") -> list[str]:
    """One line per search whose summary failed: its error and the log with the trace.

    The summarize job exits 0 on a failure (summarize_search), so neither Snakemake nor
    Slurm reports it; the Snakefile prints these lines when a run ends. The log
    is the rule's ``log:``, written where the job ran (on a cluster, the shared
    filesystem). A summary that is not on this machine (S3 storage) is passed over.
    """
    lines = []
    for slug in slugs:
        try:
            summary = json.loads((Path(workdir) / "data" / slug / "summary" / "summary.json")
                                 .read_bytes())
        except (OSError, ValueError):
            continue
        if summary.get("status") == "failed":
            log = log_pattern.format(slug=slug)
            lines.append(f"dnflow: search '{slug}' failed: {summary.get('error')} "
                         f"(the trace is in {log})")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dnflow.jobs")
    sub = ap.add_subparsers(dest="job", required=True)
    s = sub.add_parser("summarize", help="count one search (rules/summarize.smk)")
    s.add_argument("--outdir", required=True, help="data/<slug>/summary")
    s.add_argument("--log", required=True)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--meta", default="{}", help="summary.json's fields about the search (JSON)")
    s.add_argument("--deletions", nargs="*", default=[],
                   help="the search's deletions files (dnflow.deletions)")
    s.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    files = [shown_path(f) for f in a.files]
    supervised(lambda: summarize_search(files, a.outdir, json.loads(a.meta), a.log,
                                        a.threads, a.deletions),
               files, a.outdir, json.loads(a.meta), a.log)
    return 0


def supervised(job: Callable[[], Any], files: list[str], outdir: str | Path, meta: dict,
               log_path: str) -> None:
    """Run a summary in a forked child, so that when it is killed (the OOM killer, a
    signal) this small parent still writes a failed summary saying so: the page and the
    index build, and the next run tries again. A job that raises is the child's own
    business (summarize_search writes its failed summary)."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: do the work, never return into the caller
        code = 1
        try:
            die_with_parent(parent)
            job()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        why = (f"the summary process was killed by {sig}"
               + (" (out of memory?)" if sig == "SIGKILL" else ""))
    else:
        why = f"the summary process ended with exit code {os.WEXITSTATUS(status)}"
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"failed: {why}; the next run summarizes this search again\n")
    write_failed(outdir, meta, why, files)
    _mark_failed(Path(outdir))


if __name__ == "__main__":
    sys.exit(main())
