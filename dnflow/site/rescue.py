"""The site after a run that stopped on failed jobs (the Snakefile's ``onerror``).

The index needs every search's page, so one failed job anywhere upstream (a demo
generator, a collection job, a summary process killed, a page) would leave no
``site/index.html`` at all. When a run fails, this builds the index, compare page and feed
from every summary there is. A search whose job failed is marked failed there with its
reason (the last line of that job's log); one with no summary gets a page saying so,
made from a failed stand-in summary that lives only in a temporary folder: data/ holds
nothing Snakemake did not write, so the next run does the missing work again.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnflow.redact import redact
from dnflow.sources.runs import run_records

log = logging.getLogger(__name__)

# Snakemake's report of a failed job: "Error in rule <name>:" then indented fields
_ERROR = re.compile(r"^Error in rule (\w+):\s*$")
_FIELD = re.compile(r"^\s+(output|log): (.*)$")
_SLUG_PATH = re.compile(r"^(?:data|site|logs/\w+)/([^/\s]+?)(?:\.log)?(?:/|$)")
MAX_REASON = 300


def failed_jobs(snakemake_log: str | Path | Sequence[str | Path], slugs: set[str]
                ) -> dict[str, tuple[str, str]]:
    """slug → (rule, job log path or "") of each failed job of a search, from Snakemake's
    run log (or logs: its handler gets a list); the first failure of a search wins."""
    out: dict[str, tuple[str, str]] = {}
    paths = [snakemake_log] if isinstance(snakemake_log, str | Path) else snakemake_log
    lines = []
    for p in paths:
        try:
            lines += Path(p).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
    rule = None
    for line in lines:
        if m := _ERROR.match(line):
            rule = m.group(1)
            continue
        if rule is None:
            continue
        f = _FIELD.match(line)
        if not f:
            if not line.startswith((" ", "\t")):
                rule = None  # the block ended
            continue
        for path in f.group(2).split(", "):
            path = path.split(" (")[0].strip()
            s = _SLUG_PATH.match(path)
            if s and s.group(1) in slugs:
                job_log = path if f.group(1) == "log" else ""
                old = out.get(s.group(1))
                if old is None or (old[0] == rule and not old[1] and job_log):
                    out[s.group(1)] = (rule, job_log)
    return out


def reason(rule: str, job_log: str, workdir: Path) -> str:
    """Why a job failed, in one line: its log's last ``FAILED:`` line, else its last
    line, else which job it was. Redacted: a job log may quote a request."""
    try:
        lines = [ln.strip() for ln in (workdir / job_log).read_text(
            encoding="utf-8", errors="replace").splitlines() if ln.strip()] if job_log else []
    except OSError:
        lines = []
    failed = [ln.removeprefix("FAILED:").strip() for ln in lines if ln.startswith("FAILED:")]
    last = failed[-1] if failed else lines[-1] if lines else ""
    why = f"its {rule} job failed" + (f": {last}" if last else "")
    if job_log:
        why += f" (the log: {job_log})"
    why = redact(why)
    return why if len(why) <= MAX_REASON else why[:MAX_REASON - 1] + "…"


def rescue(metas: Mapping[str, Mapping[str, Any]],
           snakemake_log: str | Path | Sequence[str | Path],
           workdir: str | Path = ".",
           publish: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Build the index, compare page and feed after a failed run; returns slug → reason
    of each search marked failed. ``metas``: every search's summary meta (its title…);
    ``publish``: every search's publishing (dnflow.publish.settings)."""
    publish = publish or {}
    from dnflow.site.render import build_page, build_site
    from dnflow.summary import write_failed

    work = Path(workdir)
    failed = {slug: reason(rule, job_log, work)
              for slug, (rule, job_log) in failed_jobs(snakemake_log, set(metas)).items()}
    runs = {slug: run_records(work / "data" / slug) for slug in metas}
    with tempfile.TemporaryDirectory(prefix="dnflow-rescue-") as tmp:
        pairs, stand_ins = [], []
        for slug in sorted(metas):
            summary_dir = work / "data" / slug / "summary"
            page = work / "site" / slug / "index.html"
            downloads = work / "site" / slug / "downloads"
            if (summary_dir / "summary.json").is_file() and not page.exists():
                try:  # its page job did not run (or failed): try once here
                    build_page(summary_dir, page, downloads, slug, base=work, runs=runs[slug],
                               publish=publish.get(slug))
                except Exception as e:  # noqa: BLE001 - the stand-in below says why
                    failed.setdefault(slug, redact(f"its page failed: {type(e).__name__}: {e}"))
            if not (summary_dir / "summary.json").is_file() or not page.exists():
                why = failed.setdefault(slug, "the run stopped before its summary was made")
                summary_dir = Path(tmp, slug)
                write_failed(summary_dir, dict(metas[slug]), why)
                build_page(summary_dir, page, downloads, slug, base=work, runs=runs[slug],
                               publish=publish.get(slug))
                stand_ins.append(slug)
            pairs.append((slug, summary_dir))
        build_site(pairs, work / "site", runs=runs, failures=failed, publish=publish)
    made = [work / "site" / n for n in ("index.html", "compare.html", "feed.xml", "style.css")]
    for slug in stand_ins:
        made += [work / "site" / slug / "index.html", *(work / "site" / slug / "downloads")
                 .rglob("*"), work / "site" / slug / "downloads"]
    for path in made:
        # dated 1970: older than any input, so the next run makes them again (Snakemake
        # would otherwise take them as done and never redo the missing work behind them)
        os.utime(path, (0, 0), follow_symlinks=False)
    for slug, why in sorted(failed.items()):
        log.warning("dnflow: search '%s' is marked failed on the site: %s", slug, why)
    return failed
