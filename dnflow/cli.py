"""``dnflow`` / ``python -m dnflow``: helpers around the pipeline (which `snakemake` runs).

    dnflow estimate [--config config/searches.yaml]   expected volume of each X search
    dnflow collect SLUG [--config …] [--data data]    collect one X search's current window
    dnflow fakeapi [--port 0] [--pool generated:5000:7] …   the loopback fake X API
    dnflow generate OUT --tweets N --seed S …         a generated demo archive
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from dnflow import config as dnconfig
from dnflow import windows as dnwindows

DELEGATED = ("fakeapi", "generate")


def _searches(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    # archive paths are relative to the working directory, as in the pipeline
    return dnconfig.validate(raw, dnconfig.load_schema(), ".")


def _x_searches(path: str, only: Sequence[str] = ()) -> dict:
    searches = {k: v for k, v in _searches(path).items() if v["source"] == "x"}
    if only:
        missing = [s for s in only if s not in searches]
        if missing:
            raise SystemExit(f"dnflow: no X search named {', '.join(missing)} in {path}")
        searches = {k: searches[k] for k in only}
    return searches


def cmd_estimate(a: argparse.Namespace) -> int:
    from dnflow.sources.x import CollectError, estimate

    searches = _x_searches(a.config, a.slugs)
    if not searches:
        print(f"no source: x search in {a.config}")
        return 0
    status = 0
    print(f"{'search':<20} {'endpoint':<8} {'tweets':>10} {'days':>5} {'per day':>10} "
          f"{'per window':>11} {'per month':>11}  notes")
    for slug, s in searches.items():
        try:
            e = estimate(slug, s, log=lambda line: print(f"  {line}", file=sys.stderr))
        except CollectError as err:
            print(f"{slug:<20} {s.get('endpoint', 'recent'):<8} failed: {err}")
            status = 1
            continue
        notes = []
        if e["budget"] and e["per_month"] > e["budget"]:
            notes.append(f"over monthly_budget {e['budget']}")
        if e["max_tweets"] and e["per_window"] and e["per_window"] > e["max_tweets"]:
            notes.append(f"windows will stop at max_tweets {e['max_tweets']}")
        per_window = f"{e['per_window']:,.0f}" if e["per_window"] is not None else "once"
        print(f"{slug:<20} {e['endpoint']:<8} {e['tweets']:>10,} {e['days']:>5.1f} "
              f"{e['per_day']:>10,.0f} {per_window:>11} {e['per_month']:>11,}  "
              f"{'; '.join(notes)}")
    return status


def cmd_collect(a: argparse.Namespace) -> int:
    from dnflow.sources.x import attempt_stamp, collect_window

    search = _x_searches(a.config, [a.slug])[a.slug]
    window = a.window or dnwindows.stamp(search.get("every"))
    stamp = attempt_stamp(Path(a.data) / a.slug, window)
    rec = collect_window(a.slug, search, stamp, a.data, log=sys.stderr)
    print(f"{a.slug} {stamp}: {rec['status']}, {rec['new_tweets']} tweets, "
          f"{rec['requests']} requests, {rec['retries']} retries, {rec['waits']}s waited"
          + (f" — {rec['error']}" if rec["error"] else "")
          + (f" — {rec['note']}" if rec.get("note") else ""))
    return 0 if rec["status"] == "ok" else 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        # their own argparse owns their options (and their --help)
        if argv[0] == "fakeapi":
            from dnflow.fakeapi import main as fake_main

            return fake_main(argv[1:])
        from dnflow.generate import main as gen_main

        return gen_main(argv[1:])
    ap = argparse.ArgumentParser(prog="dnflow", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("estimate", help="expected volume of each X search (counts endpoint)")
    p.add_argument("slugs", nargs="*", help="only these searches")
    p.add_argument("--config", default="config/searches.yaml")
    p.set_defaults(func=cmd_estimate)
    p = sub.add_parser("collect", help="collect one X search's current window (debugging)")
    p.add_argument("slug")
    p.add_argument("--config", default="config/searches.yaml")
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.add_argument("--window", help="window stamp (default: the current one)")
    p.set_defaults(func=cmd_collect)
    sub.add_parser("fakeapi", help="serve the loopback fake X API (see: dnflow fakeapi -h)")
    sub.add_parser("generate", help="write a generated archive (see: dnflow generate -h)")
    a = ap.parse_args(argv)
    try:
        return a.func(a)
    except dnconfig.ConfigError as e:
        print(f"dnflow: {a.config}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
