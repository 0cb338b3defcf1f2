"""NET: the jobs after the summary (the networks, posts.parquet) on the P1 archive.

Each is a Snakemake job of its own that reads the summary's tweets.csv (the pass pays for
none of them), so each is measured as one: its own process, wall clock, CPU and peak
RSS, against the parse floor measured in the same run. The summary they read is P1's
when it is there (same archive), else made here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench import summarize

JOB = r"""
import orjson, resource, sys, time
from pathlib import Path
kind, summary_dir, out = sys.argv[1:4]
t = time.perf_counter()
if kind == "networks":
    from dnflow.networks import write_search
    write_search(Path(summary_dir), Path(out))
else:
    from dnflow.parquet import write_search
    write_search(Path(summary_dir))
dt = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_SELF)
c = resource.getrusage(resource.RUSAGE_CHILDREN)
print(orjson.dumps({"seconds": dt, "cpu": r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime,
                    "rss_mb": max(r.ru_maxrss, c.ru_maxrss) / 1024}).decode())
"""


def _summary(out: Path, path: Path, tweets: int) -> Path:
    """P1's summary folder if it is this archive's, else a new one."""
    folder = out / "summary"
    try:
        if json.loads((folder / "summary.json").read_text())["tweets"] == tweets:
            return folder
    except (OSError, ValueError, KeyError):
        pass
    shutil.rmtree(folder, ignore_errors=True)
    summarize._child(summarize.DNFLOW, str(path), str(folder))
    return folder


def run(out: Path, tweets: int, repeat: int = 1) -> dict:
    path = summarize.archive(out, tweets)
    folder = _summary(out, path, tweets)
    nets = out / "networks"
    floors, jobs = [], {"networks": [], "parquet": []}
    for _ in range(repeat):
        floors.append(summarize._child(summarize.FLOOR, str(path)))
        for kind in jobs:
            if kind == "networks":
                shutil.rmtree(nets, ignore_errors=True)
            jobs[kind].append(summarize._child(JOB, kind, str(folder), str(nets)))
    floor = min(floors, key=lambda r: r["seconds"])
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in jobs.items()}
    return {"tweets": tweets, "floor": floor, "jobs": best,
            "tweets_csv_mb": (folder / "tweets.csv").stat().st_size / 2**20,
            "gexf_mb": (nets / "network.gexf").stat().st_size / 2**20
            if (nets / "network.gexf").exists() else 0.0}


def rows(r: dict) -> list[tuple[str, str]]:
    f = r["floor"]
    out = [("input", f"the summary of {r['tweets']:,} posts: a {r['tweets_csv_mb']:,.0f} MB "
                     "tweets.csv (P1's archive)"),
           ("floor (as P1)", f"{f['seconds']:.2f} s, CPU {f['cpu']:.1f} s")]
    for kind, label in (("networks", "networks job (edge lists and network.gexf, "
                                     f"{r['gexf_mb']:,.0f} MB)"),
                        ("parquet", "posts.parquet job")):
        j = r["jobs"][kind]
        out.append((f"NET {label}",
                    f"{j['seconds']:.2f} s wall, CPU {j['cpu']:.1f} s, peak RSS "
                    f"{j['rss_mb']:.0f} MB; {j['seconds'] / f['seconds']:.2f}× the floor"))
    return out
