"""P3: a hundred searches through a real ``snakemake --cores 2`` run.

A temporary working folder gets ``searches`` small archives (generated and seeded; the
generation is not timed) and a searches.yaml listing them as ``source: archive``; the
repository's Snakefile and its default profile run there. Three runs are timed:

1. the full build (every summary, page and the index);
2. a cron rerun with nothing due (target: no job at all);
3. a rerun after one archive changed (target: that search's summary and page, then the
   index: four jobs).

Each run also reports where its CPU went: the Snakemake process itself (parsing, DAG,
scheduler, bookkeeping) versus the job processes it started, read from ``getrusage`` of
a small wrapper around ``snakemake.cli.main``. Timings are figures, not tests;
tests/test_bench_searches.py checks the behaviour of the quick mode.

``python -m bench.searches [--quick] [--searches N] [--tweets N]`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_SEARCHES, QUICK_SEARCHES = 100, 10
TWEETS = 300
CORES = 2

# snakemake's own CLI, reporting the CPU of its process and of the jobs it waited for
WRAPPER = r"""
import atexit, json, os, resource, sys, time
t0 = time.perf_counter()
def _report():
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    with open(os.environ["DNFLOW_BENCH_RUSAGE"], "w") as f:
        json.dump({"wall_s": time.perf_counter() - t0,
                   "main_cpu_s": me.ru_utime + me.ru_stime,
                   "jobs_cpu_s": kids.ru_utime + kids.ru_stime}, f)
atexit.register(_report)
from snakemake.cli import main
sys.argv[0] = "snakemake"
main()
"""


def prepare(work: Path, searches: int, tweets: int) -> dict[str, Path]:
    """Archives and searches.yaml in ``work``; returns each slug's archive."""
    from dnflow.generate import write_archive

    (work / "archives").mkdir(parents=True, exist_ok=True)
    topics = ("climate", "music", "news")
    archives, config = {}, {}
    for i in range(searches):
        slug = f"s{i:03d}"
        path = work / "archives" / f"{slug}.jsonl"
        if not path.exists():
            write_archive(path, tweets, seed=1000 + i, topic=topics[i % 3])
        archives[slug] = path
        config[slug] = {"title": f"Search {i}", "source": "archive",
                        "files": f"archives/{slug}.jsonl"}
    (work / "searches.yaml").write_text(json.dumps({"searches": config}, indent=1))
    return archives


def snakemake(work: Path, *args: str, snakefile: Path = ROOT / "Snakefile",
              log: Path | None = None) -> dict:
    """One ``snakemake --cores 2`` run in ``work``: wall time, CPU split, jobs it ran."""
    usage = work / ".bench-rusage.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DNFLOW_BENCH_RUSAGE": str(usage)}
    t = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", WRAPPER, "-s", str(snakefile), "-d", str(work),
         "--configfile", str(work / "searches.yaml"), "--cores", str(CORES), *args],
        capture_output=True, text=True, env=env, cwd=work, timeout=1800)
    wall = time.perf_counter() - t
    text = res.stdout + res.stderr
    if log is not None:
        log.write_text(text)
    if res.returncode != 0:
        raise RuntimeError(f"snakemake failed ({res.returncode}):\n{text[-4000:]}")
    cpu = json.loads(usage.read_text())
    return {"seconds": wall, **cpu, "jobs": job_stats(text), "slugs": jobs_by_slug(text),
            "nothing_to_do": "Nothing to be done" in text}


def job_stats(text: str) -> Counter:
    """The "Job stats" table Snakemake prints before running: jobs per rule."""
    jobs: Counter = Counter()
    m = re.search(r"^Job stats:\n.*?\n-+\s+-+\n(.*?)^total\s+\d+", text, re.S | re.M)
    if m:
        for line in m.group(1).splitlines():
            name, _, count = line.rpartition(" ")
            if name.strip():
                jobs[name.strip()] += int(count)
    return jobs


def jobs_by_slug(text: str) -> dict[str, list[str]]:
    """rule → slugs of the jobs announced in the log ("rule x:" … "wildcards: slug=…")."""
    out: dict[str, list[str]] = {}
    for block in re.split(r"^\[[^\]]+\]\n", text, flags=re.M):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if m:
            slug = re.search(r"^\s+wildcards: slug=(\S+)", block, re.M)
            out.setdefault(m.group(1), []).append(slug.group(1) if slug else "")
    return {rule: sorted(slugs) for rule, slugs in out.items()}


def mtimes(work: Path) -> dict[str, int]:
    return {str(p.relative_to(work)): p.stat().st_mtime_ns
            for d in ("data", "site") for p in (work / d).rglob("*") if p.is_file()}


def measure(out: Path | None, quick: bool, searches: int | None = None,
            tweets: int | None = None, snakefile: Path = ROOT / "Snakefile",
            extra: tuple[str, ...] = ()) -> dict:
    searches = searches or (QUICK_SEARCHES if quick else FULL_SEARCHES)
    tweets = tweets or TWEETS
    logs = None
    if out is not None:
        logs = out / "searches"
        logs.mkdir(parents=True, exist_ok=True)

    def log(name: str) -> Path | None:
        return logs / f"{name}.log" if logs else None

    with tempfile.TemporaryDirectory(prefix="dnflow-bench-searches-") as tmp:
        work = Path(tmp)
        archives = prepare(work, searches, tweets)
        m: dict = {"searches": searches, "tweets": tweets, "cores": CORES}
        m["full"] = snakemake(work, *extra, snakefile=snakefile, log=log("full"))
        m["pages"] = sorted(p.parent.name for p in (work / "site").glob("*/index.html"))
        m["index"] = (work / "site" / "index.html").is_file()
        before = mtimes(work)
        m["nothing_due"] = snakemake(work, *extra, snakefile=snakefile, log=log("nothing-due"))
        m["nothing_due"]["changed"] = sorted(k for k, v in mtimes(work).items()
                                             if before.get(k) != v)
        # one archive grows (the same seed, more tweets: new content, new mtime)
        changed = sorted(archives)[len(archives) // 2]
        from dnflow.generate import write_archive

        write_archive(archives[changed], tweets + 50, seed=1000 + sorted(archives).index(changed),
                      topic=("climate", "music", "news")[sorted(archives).index(changed) % 3])
        before = mtimes(work)
        m["one_change"] = snakemake(work, *extra, snakefile=snakefile, log=log("one-change"))
        after = mtimes(work)
        m["one_change"]["archive"] = changed
        m["one_change"]["summaries_rewritten"] = sorted(
            k.split("/")[1] for k, v in after.items()
            if k.endswith("summary/summary.json") and before.get(k) != v)
        m["one_change"]["pages_rewritten"] = sorted(
            k.split("/")[1] for k, v in after.items()
            if re.fullmatch(r"site/[^/]+/index\.html", k) and before.get(k) != v)
        m["startup_s"] = _startup()
    return m


def _startup() -> float:
    """The floor of any snakemake call: ``snakemake --version``."""
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--version"],
                   capture_output=True, check=True)
    return time.perf_counter() - t


def _run_row(r: dict) -> str:
    n = sum(r["jobs"].values())
    per_job = f", {r['seconds'] / n:.2f} s/job" if n else ""
    return (f"{r['seconds']:.2f} s, {n} jobs{per_job}; CPU: snakemake {r['main_cpu_s']:.1f} s, "
            f"job processes {r['jobs_cpu_s']:.1f} s")


def rows(m: dict) -> list[tuple[str, str]]:
    full, none, one = m["full"], m["nothing_due"], m["one_change"]
    per_rule = ", ".join(f"{k} {v}" for k, v in sorted(full["jobs"].items()) if k != "all")
    return [
        ("P3 workflow", f"{m['searches']} archive searches × {m['tweets']} tweets, "
                        f"snakemake --cores {m['cores']} ({per_rule})"),
        ("P3 full build", _run_row(full) + " (target ≤ 30 s for 100 searches)"),
        ("P3 rerun, nothing due", _run_row(none) + " (target ≤ 3 s)"),
        ("P3 rerun, one archive changed", _run_row(one) + " ("
         + ", ".join(f"{k} {v}" for k, v in sorted(one["jobs"].items())) + ")"),
        ("snakemake --version (start-up floor)", f"{m['startup_s']:.2f} s"),
    ]


def run(out: Path, quick: bool) -> list[tuple[str, str]]:
    return rows(measure(out, quick))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.searches", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_SEARCHES} searches instead of {FULL_SEARCHES}")
    ap.add_argument("--searches", type=int, help="number of searches")
    ap.add_argument("--tweets", type=int, help=f"tweets per archive (default {TWEETS})")
    ap.add_argument("--snakefile", type=Path, default=ROOT / "Snakefile",
                    help="measure another copy of the workflow (profiling variants)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                    help="the three runs' snakemake logs go to OUT/searches/")
    ap.add_argument("--json", action="store_true", help="print the measures as JSON too")
    ap.add_argument("snakemake_args", nargs="*",
                    help="more snakemake options for every run (after --), e.g. "
                         "-- --scheduler-subsample 4")
    a = ap.parse_args(argv)
    m = measure(a.out, a.quick, a.searches, a.tweets, a.snakefile, tuple(a.snakemake_args))
    print("| measure | figure |\n|---|---|\n" + "\n".join(f"| {x} | {y} |" for x, y in rows(m)))
    if a.json:
        print(json.dumps(m, indent=1, default=dict))
    return 0


if __name__ == "__main__":
    sys.exit(main())
