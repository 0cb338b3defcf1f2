"""What each Snakemake job does, given the ``snakemake`` object of a ``script:`` wrapper.

Kept here (importable, testable) so the files under scripts/ stay one line long.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from dnflow.summary import summarize, write_failed


def run_summarize(smk: Any) -> dict:
    """Summarize a search. Any error is logged and written as a failed summary (exit 0),
    so one broken search never stops the other searches or the site."""
    outdir = Path(smk.output[0]).parent
    meta = dict(smk.params.meta)
    with open(smk.log[0], "w", encoding="utf-8") as log:
        try:
            summary = summarize(list(smk.input), outdir, meta, log=log)
        except Exception as e:  # noqa: BLE001 - reported on the page, full trace in the log
            log.write(traceback.format_exc())
            return write_failed(outdir, meta, f"{type(e).__name__}: {e}")
        log.write(f"{summary['tweets']} tweets, {summary['skipped']} lines skipped\n")
        return summary
