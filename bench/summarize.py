"""P1/P2: summarize vs the parse floor on one generated archive.

Each side runs in its own process so its peak RSS is its own. The floor is a bare
``orjson.loads`` of every line: no pipeline can read the archive faster, and it uses one
core. Summarize uses what it would under Snakemake on this machine (its workers share
the file by byte ranges): the ratio is wall clock against wall clock, and the CPU time
of both is printed too. Peak RSS: the parent process and its largest worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

FLOOR = r"""
import orjson, resource, sys, time
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb", buffering=1 << 20) as f:  # as dnflow reads (sources/archive.py)
    for line in f:
        n += len(orjson.loads(line).get("data", ()))
dt = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_SELF)
print(orjson.dumps({"seconds": dt, "tweets": n, "cpu": r.ru_utime + r.ru_stime,
                    "rss_mb": r.ru_maxrss / 1024, "workers_rss_mb": 0}).decode())
"""

DNFLOW = r"""
import orjson, resource, sys, time
from dnflow.summary import summarize
workers = int(sys.argv[3]) if len(sys.argv) > 3 else None
t = time.perf_counter()
s = summarize([sys.argv[1]], sys.argv[2], {"slug": "bench"}, workers=workers)
dt = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_SELF)
c = resource.getrusage(resource.RUSAGE_CHILDREN)
print(orjson.dumps({"seconds": dt, "tweets": s["tweets"],
                    "cpu": r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime,
                    "rss_mb": r.ru_maxrss / 1024, "workers_rss_mb": c.ru_maxrss / 1024}).decode())
"""


def archive(out: Path, tweets: int, seed: int = 42, **kw) -> Path:
    """The benchmark archive, generated once per size and reused."""
    from dnflow.generate import write_archive

    suffix = "".join(f"-{k}{v}" for k, v in sorted(kw.items())).replace(":", "")
    path = out / f"archive-{tweets}-s{seed}{suffix}.jsonl"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_archive(path, tweets, seed, topic="climate", **kw)
        print(f"generated {tweets} tweets in {time.perf_counter() - t:.1f} s → {path}",
              file=sys.stderr)
    return path


def _child(code: str, *args: str) -> dict:
    os.sync()  # the other side's writes (a 300 MB tweets.csv) out of the way first
    res = subprocess.run([sys.executable, "-c", code, *args], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(out: Path, tweets: int, repeat: int = 1, workers: int | None = None) -> dict:
    """Best of ``repeat`` runs of each side, alternated so both see the same machine load."""
    path = archive(out, tweets)
    floors, dnflows = [], []
    extra = [str(workers)] if workers else []
    for _ in range(repeat):
        floors.append(_child(FLOOR, str(path)))
        # an empty output folder, as Snakemake leaves it before a job (deleting the last
        # run's 300 MB tweets.csv is the file system's time, not the summary's)
        shutil.rmtree(out / "summary", ignore_errors=True)
        dnflows.append(_child(DNFLOW, str(path), str(out / "summary"), *extra))
    floor = min(floors, key=lambda r: r["seconds"])
    dn = min(dnflows, key=lambda r: r["seconds"])
    assert floor["tweets"] == dn["tweets"] == tweets, (floor, dn)
    return {
        "tweets": tweets,
        "bytes": path.stat().st_size,
        "floor_s": floor["seconds"],
        "floor_cpu": floor["cpu"],
        "floor_rss_mb": floor["rss_mb"],
        "dnflow_s": dn["seconds"],
        "dnflow_cpu": dn["cpu"],
        "ratio": dn["seconds"] / floor["seconds"],
        "cpu_ratio": dn["cpu"] / floor["cpu"],
        "tweets_per_s": tweets / dn["seconds"],
        "floor_tweets_per_s": tweets / floor["seconds"],
        "dnflow_rss_mb": dn["rss_mb"],
        "workers_rss_mb": dn["workers_rss_mb"],
        "all_s": [round(r["seconds"], 2) for r in dnflows],
        "all_floor_s": [round(r["seconds"], 2) for r in floors],
    }


def rows(r: dict) -> list[tuple[str, str]]:
    return [
        ("archive", f"{r['tweets']:,} tweets, {r['bytes'] / 2**20:,.0f} MB plain JSONL "
                    "(generated, seed 42, unique ids)"),
        ("floor: bare orjson.loads of every line, read as dnflow reads (1 MiB buffer, 1 process)",
         f"{r['floor_s']:.2f} s ({r['floor_tweets_per_s']:,.0f} tweets/s), "
         f"CPU {r['floor_cpu']:.1f} s"),
        ("dnflow summarize (all counts and files, one pass)",
         f"{r['dnflow_s']:.2f} s ({r['tweets_per_s']:,.0f} tweets/s), CPU {r['dnflow_cpu']:.1f} s "
         "(all processes)"),
        ("P1 ratio summarize / floor, wall clock", f"{r['ratio']:.2f} (target ≤ 1.5); "
         f"CPU time ratio {r['cpu_ratio']:.2f}"),
        ("P2 peak RSS summarize", f"{r['dnflow_rss_mb']:.0f} MB main process, "
         f"{r['workers_rss_mb']:.0f} MB largest worker (target ≤ 300 MB; floor "
         f"{r['floor_rss_mb']:.0f} MB)"),
    ]
