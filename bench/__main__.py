"""``python -m bench [--quick] [--tweets N]``: print the figures, write bench/results.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from bench import summarize

HERE = Path(__file__).resolve().parent


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
    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, runs in seconds (CI checks that it runs)")
    ap.add_argument("--tweets", type=int, default=None, help="archive size (default 200000)")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args(argv)
    tweets = args.tweets or (5000 if args.quick else 200_000)
    repeat = args.repeat or (1 if args.quick else 3)

    r = summarize.run(args.out, tweets, repeat)
    rows = [
        ("archive", f"{r['tweets']:,} tweets, {r['bytes'] / 2**20:.0f} MB (generated, seed 42)"),
        ("floor: bare orjson.loads of every line", f"{r['floor_s']:.2f} s "
         f"({r['floor_tweets_per_s']:,.0f} tweets/s)"),
        ("dnflow summarize (all counts, one pass)", f"{r['dnflow_s']:.2f} s "
         f"({r['tweets_per_s']:,.0f} tweets/s)"),
        ("ratio summarize / floor", f"{r['ratio']:.2f} (target ≤ 2)"),
        ("peak RSS summarize", f"{r['dnflow_rss_mb']:.0f} MB (floor process "
         f"{r['floor_rss_mb']:.0f} MB)"),
    ]
    table = "| measure | figure |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if not args.quick:
        (HERE / "results.md").write_text(
            "# Benchmark results\n\n"
            f"Machine: {machine()}.\nCommand: `make bench` (`python -m bench`), best of "
            f"{repeat} runs per side, both sides in the same run.\n\n"
            "## Summarize vs the parse floor\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
