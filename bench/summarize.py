"""Summarize vs the parse floor on one generated archive.

Each side runs in its own process so its peak RSS is its own. The floor is a bare
``orjson.loads`` of every line: no pipeline can read the archive faster.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

FLOOR = r"""
import orjson, resource, sys, time
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        n += len(orjson.loads(line).get("data", ()))
dt = time.perf_counter() - t
print(orjson.dumps({"seconds": dt, "tweets": n,
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}).decode())
"""

DNFLOW = r"""
import orjson, resource, sys, time
from dnflow.summary import summarize
t = time.perf_counter()
s = summarize([sys.argv[1]], sys.argv[2], {"slug": "bench"})
dt = time.perf_counter() - t
print(orjson.dumps({"seconds": dt, "tweets": s["tweets"],
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}).decode())
"""


def archive(out: Path, tweets: int, seed: int = 42) -> Path:
    """The benchmark archive, generated once per size and reused."""
    from dnflow.generate import write_archive

    path = out / f"archive-{tweets}-s{seed}.jsonl"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_archive(path, tweets, seed, topic="climate")
        print(f"generated {tweets} tweets in {time.perf_counter() - t:.1f} s → {path}",
              file=sys.stderr)
    return path


def _child(code: str, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *args], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(out: Path, tweets: int, repeat: int = 1) -> dict:
    """Best of ``repeat`` runs of each side, alternated so both see the same machine load."""
    path = archive(out, tweets)
    floors, dnflows = [], []
    for _ in range(repeat):
        floors.append(_child(FLOOR, str(path)))
        dnflows.append(_child(DNFLOW, str(path), str(out / "summary")))
    floor = min(floors, key=lambda r: r["seconds"])
    dn = min(dnflows, key=lambda r: r["seconds"])
    assert floor["tweets"] == dn["tweets"] == tweets, (floor, dn)
    return {
        "tweets": tweets,
        "bytes": path.stat().st_size,
        "floor_s": floor["seconds"],
        "floor_rss_mb": floor["rss_mb"],
        "dnflow_s": dn["seconds"],
        "ratio": dn["seconds"] / floor["seconds"],
        "tweets_per_s": tweets / dn["seconds"],
        "floor_tweets_per_s": tweets / floor["seconds"],
        "dnflow_rss_mb": dn["rss_mb"],
    }
