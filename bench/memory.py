"""Memory at the sizes real archives reach: peak RSS of every process of a summary
together (the main process, its workers and the users.csv helper), sampled from /proc.

``python -m bench --only MEM --mem-posts 1000000,10000000``: one generated archive per
size (made once and kept in the bench folder: 10M posts is about 20 GB of JSONL), each
summarized in a fresh process while a sampler adds up the resident memory of its process
tree every 20 ms. ru_maxrss alone cannot say this: it is each process's own peak, and
the peaks of different processes come at different times.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.summarize import DNFLOW, archive

PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def peak_total_rss(cmd: list[str]) -> tuple[float, int, int, str, float, float]:
    """Run ``cmd``; (wall seconds, peak RSS of its process tree in bytes, most processes
    at once, its stdout, when the peak came in seconds from the start, CPU seconds of
    the whole tree: on a shared machine a steadier measure of work than the wall clock)."""
    cpu0 = _children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = [0, 0, 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = _tree(proc.pid)
            total = sum(map(_rss, pids))
            if total > peak[0]:
                peak[0], peak[2] = total, time.perf_counter() - t
            peak[1] = max(peak[1], len(pids))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"summarize failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t, peak[0], peak[1], out, peak[2], _children_cpu() - cpu0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants included
    return r.ru_utime + r.ru_stime


def run(out: Path, sizes: list[int]) -> list[tuple[str, str]]:
    rows = []
    for n in sizes:
        path = archive(out, n)
        outdir = out / f"mem-summary-{n}"
        secs, peak, procs, _, when, cpu = peak_total_rss(
            [sys.executable, "-c", DNFLOW, str(path), str(outdir)])
        gb = path.stat().st_size / 1e9
        per = (f" ({peak / 2**20 / (n / 1e6):,.0f} MB per million posts)"
               if n >= 1_000_000 else "")
        rows.append((f"MEM {n:,} posts ({gb:.1f} GB JSONL)",
                     f"{secs:.1f} s ({cpu:.0f} s CPU, {cpu / n * 1e6:.1f} s per million "
                     f"posts); peak RSS of all {procs} processes together "
                     f"{peak / 2**20:,.0f} MB{per}, at {when / secs:.0%} of the run; "
                     "target ≤ 1,024 MB at 10M, not growing with posts"))
        print(f"{rows[-1][0]}: {rows[-1][1]}", file=sys.stderr, flush=True)
    return rows
