"""``python -m bench [--quick] [--only P1,P3…]``: every figure of issue 5, one table.

P1/P2 summarize vs the parse floor (and its memory), P3 a hundred searches through a
real snakemake run and its reruns (bench/searches.py), P4 the incremental rebuild after a
new chunk (bench/incremental.py), P5 X and Mastodon collection against the fakes
(bench/collect.py, bench/collect_mastodon.py), NET the networks and posts.parquet jobs
on P1's summary (bench/products.py), P5B Bluesky collection against the fake
Bluesky API (bench/collect_bluesky.py), MEDIA near-duplicate images: precision and recall
on the labelled photographs and grouping 50,000 images (bench/media.py), BAG a search's
BagIt bag remade after an update of 1% (bench/bag.py).
The full mode writes bench/results.md (the parts run) with the machine; ``--quick`` runs
every part small and checks only that it runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench import (
    bag,
    collect,
    collect_bluesky,
    collect_mastodon,
    incremental,
    media,
    memory,
    products,
    searches,
    summarize,
)

HERE = Path(__file__).resolve().parent
# P2 is measured with P1
PARTS = ("P1", "NET", "P3", "P4", "P4S", "P5", "P5B", "MEM", "MEDIA", "BAG")


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        load = f", load average {os.getloadavg()[0]:.1f} at the start"
    except OSError:
        load = ""
    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Python {platform.python_version()}{load}")


def table(rows: list[tuple[str, str]]) -> str:
    return "| measure | figure |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, under a minute (CI checks that it runs)")
    ap.add_argument("--only", default=",".join(PARTS),
                    help=f"comma-separated parts to run (default: {','.join(PARTS)})")
    ap.add_argument("--tweets", type=int, default=None,
                    help="P1/P4 archive size (default 1,000,000; quick 5,000)")
    ap.add_argument("--repeat", type=int, default=None, help="P1 runs per side (best kept)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--mem-posts", default=None,
                    help="MEM archive sizes, comma-separated (default 1M, 3M and 10M; "
                         "quick 20,000)")
    args = ap.parse_args(argv)
    parts = {p.strip().upper() for p in args.only.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        ap.error(f"unknown parts: {', '.join(sorted(unknown))} (choose from {', '.join(PARTS)})")
    tweets = args.tweets or (5000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    machine_line = machine()

    sections: list[tuple[str, list[tuple[str, str]]]] = []
    t0 = time.perf_counter()
    if "P1" in parts:
        r = summarize.run(args.out, tweets, repeat)
        sections.append(("P1/P2 summarize vs the parse floor", summarize.rows(r)))
        print(table(sections[-1][1]), flush=True)
    if "NET" in parts:
        r = products.run(args.out, tweets, 1 if args.quick else 2)
        sections.append(("NET the jobs after the summary", products.rows(r)))
        print(table(sections[-1][1]), flush=True)
    if "P4" in parts:
        r = incremental.run(args.out, tweets if not args.quick else 20_000)
        if not r["identical"]:
            raise SystemExit("P4: incremental outputs differ from a run from scratch")
        sections.append(("P4 incremental rebuild", incremental.rows(r)))
        print(table(sections[-1][1]), flush=True)
    if "P4S" in parts:
        # a search counted by runs on disk (dnflow.spill): 3M posts, or forced when quick
        r = (incremental.run(args.out, 20_000, spill_min_bytes=0) if args.quick
             else incremental.run(args.out, 3_000_000))
        if not r["identical"]:
            raise SystemExit("P4S: incremental outputs differ from a run from scratch")
        sections.append(("P4S incremental rebuild of a search counted by runs",
                         incremental.rows(r, "P4S")))
        print(table(sections[-1][1]), flush=True)
    if "P3" in parts:
        rows = searches.run(args.out, args.quick)
        sections.append(("P3 many searches through snakemake", rows))
        print(table(rows), flush=True)
    if "MEM" in parts:
        sizes = [int(x.replace("_", "")) for x in (
            args.mem_posts or ("20000" if args.quick else "1000000,3000000,10000000")).split(",")]
        rows = memory.run(args.out, sizes)
        sections.append(("MEM memory at scale (all processes together)", rows))
        print(table(rows), flush=True)
    if "P5" in parts:
        rows = collect.run(args.out, args.quick)
        sections.append(("P5 X collection against the fake API", rows))
        print(table(rows), flush=True)
        rows = collect_mastodon.run(args.out, args.quick)
        sections.append(("P5 Mastodon collection against the fake", rows))
        print(table(rows), flush=True)
    if "P5B" in parts:
        rows = collect_bluesky.run(args.out, args.quick)
        sections.append(("P5B Bluesky collection against the fake Bluesky API", rows))
        print(table(rows), flush=True)
    if "MEDIA" in parts:
        rows = media.run(args.quick)
        sections.append(("MEDIA near-duplicate images", rows))
        print(table(rows), flush=True)
    if "BAG" in parts:
        r = bag.run(args.out, 2000 if args.quick else 200_000)
        if not r["identical"]:
            raise SystemExit("BAG: the rebuilt bag differs from one made whole")
        sections.append(("BAG the bag remade after an update", bag.rows(r)))
        print(table(sections[-1][1]), flush=True)
    took = time.perf_counter() - t0
    print(f"bench: {', '.join(sorted(parts))} in {took:.0f} s", file=sys.stderr)

    if not args.quick and parts == set(PARTS):
        text = ["# Benchmark results\n",
                f"Machine: {machine_line}.  ",
                f"Command: `make bench` (`python -m bench`), {took / 60:.0f} minutes. "
                f"Summarize: best of {repeat} runs per side, both sides alternated in the "
                "same run. The machine is shared, so wall-clock figures move with its "
                "load; ratios are taken within one run.\n"]
        for title, rows in sections:
            text += [f"## {title}\n", table(rows) + "\n"]
        (HERE / "results.md").write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
