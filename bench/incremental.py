"""P4: a search that gains a chunk of 1% more tweets is recounted from its saved state.

First build of the big archive with a state folder; then the same search with a new
chunk (newer tweets, so new ids) appended to its files: only that chunk is read. The
outputs are compared byte for byte with a run from scratch over both files.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.summarize import archive

OUTPUTS = ["summary.json", "cards.json", "hashtags.csv", "mentions.csv", "urls.csv",
           "domains.csv", "media.csv", "users.csv", "retweets.csv", "languages.csv",
           "sources.csv", "timeline.csv", "skipped.csv", "tweet-ids.txt", "tweets.csv"]


def _timed(files: list[Path], outdir: Path, state: Path | None) -> tuple[float, dict]:
    from dnflow.summary import summarize

    t = time.perf_counter()
    s = summarize(files, outdir, {"slug": "bench"}, state_dir=state)
    return time.perf_counter() - t, s


def run(out: Path, tweets: int) -> dict:
    big = archive(out, tweets)
    extra = max(tweets // 100, 1)
    chunk = archive(out, extra, seed=43, start="2026-11-08T00:00:00Z", days=0.5)
    work = out / "incremental"
    state = work / "state"
    for d in (work / "summary", state, work / "scratch"):
        if d.exists():
            for f in d.iterdir():
                f.unlink()
    first, s1 = _timed([big], work / "summary", state)
    second, s2 = _timed([big, chunk], work / "summary", state)
    scratch, s3 = _timed([big, chunk], work / "scratch", None)
    same = all((work / "summary" / n).read_bytes() == (work / "scratch" / n).read_bytes()
               for n in OUTPUTS)
    return {"tweets": tweets, "extra": extra, "new": s2["sources"][1]["new"],
            "first_s": first, "incremental_s": second, "scratch_s": scratch,
            "ratio": second / first, "identical": same, "total": s2["tweets"]}


def rows(r: dict) -> list[tuple[str, str]]:
    return [
        ("P4 first build with state (1 file)",
         f"{r['first_s']:.2f} s for {r['tweets']:,} tweets"),
        ("P4 rebuild after a new chunk of 1%",
         f"{r['incremental_s']:.2f} s for +{r['extra']:,} tweets ({r['new']:,} new), "
         f"{100 * r['ratio']:.1f}% of the first build (target ≤ 10%)"),
        ("P4 same from scratch (no state), for comparison",
         f"{r['scratch_s']:.2f} s; outputs byte-identical to the incremental ones: "
         f"{'yes' if r['identical'] else 'NO'}"),
    ]
