"""P4: a search that gains a chunk of 1% more tweets is recounted from its saved state.

First build of the big archive with a state folder; then the same search with a new
chunk (newer tweets, so new ids) appended to its files: only that chunk is read. The
outputs are compared byte for byte with a run from scratch over both files.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench.summarize import archive
from dnflow import outputs

OUTPUTS = outputs.names()


def _timed(files: list[Path], outdir: Path, state: Path | None,
           **kw: int) -> tuple[float, dict]:
    from dnflow.summary import summarize

    os.sync()  # the last build's writes out of the way, as hours after it under cron
    t = time.perf_counter()
    s = summarize(files, outdir, {"slug": "bench"}, state_dir=state, **kw)
    return time.perf_counter() - t, s


def _page(summary: Path, site: Path) -> float:
    from dnflow.site.render import build_page

    os.sync()
    t = time.perf_counter()
    build_page(summary, site / "index.html", site / "downloads", "bench", base="/")
    return time.perf_counter() - t


def run(out: Path, tweets: int, **kw: int) -> dict:
    """``kw``: summarize's (P4S forces counting by runs in its quick mode)."""
    big = archive(out, tweets)
    extra = max(tweets // 100, 1)
    chunk = archive(out, extra, seed=43, start="2026-11-08T00:00:00Z", days=0.5)
    work = out / ("incremental-runs" if kw or tweets > 1_000_000 else "incremental")
    state = work / "state"
    for d in (work / "summary", state, work / "scratch", work / "site"):
        shutil.rmtree(d, ignore_errors=True)
    first, s1 = _timed([big], work / "summary", state, **kw)
    page_first = _page(work / "summary", work / "site")
    second, s2 = _timed([big, chunk], work / "summary", state, **kw)
    page_second = _page(work / "summary", work / "site")
    scratch, s3 = _timed([big, chunk], work / "scratch", None, **kw)
    same = all((work / "summary" / n).read_bytes() == (work / "scratch" / n).read_bytes()
               for n in OUTPUTS)
    return {"tweets": tweets, "extra": extra, "new": s2["sources"][1]["new"],
            "first_s": first, "incremental_s": second, "scratch_s": scratch,
            "ratio": second / first, "identical": same, "total": s2["tweets"],
            "page_first_s": page_first, "page_s": page_second,
            "with_page_ratio": (second + page_second) / (first + page_first)}


def rows(r: dict, part: str = "P4") -> list[tuple[str, str]]:
    return [
        (f"{part} first build with state (1 file)",
         f"{r['first_s']:.2f} s for {r['tweets']:,} tweets"),
        (f"{part} rebuild after a new chunk of 1%",
         f"{r['incremental_s']:.2f} s for +{r['extra']:,} tweets ({r['new']:,} new), "
         f"{100 * r['ratio']:.1f}% of the first build (target ≤ 10%)"),
        (f"{part} the search's page (render, downloads, zip), first / after the chunk",
         f"{r['page_first_s']:.2f} s / {r['page_s']:.2f} s; summary and page together: "
         f"{100 * r['with_page_ratio']:.1f}% of the first build"),
        (f"{part} same from scratch (no state), for comparison",
         f"{r['scratch_s']:.2f} s; outputs byte-identical to the incremental ones: "
         f"{'yes' if r['identical'] else 'NO'}"),
    ]
