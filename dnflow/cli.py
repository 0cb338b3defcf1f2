"""``dnflow`` / ``python -m dnflow``: helpers around the pipeline (which `snakemake` runs).

    dnflow estimate [--config config/searches.yaml]   expected volume of each search that
                                                      can tell (X: the counts endpoint)
    dnflow collect SLUG [--config …] [--data data]    collect one search's current window
    dnflow recheck SLUG [--config …] [--data data]    which of a search's posts are gone
                                                      (appended to its deletions)
    dnflow schema                                     the searches.yaml schema (JSON)
    dnflow fakeapi [--port 0] [--pool generated:5000:7] …   the loopback fake X API
    dnflow fakebsky [--port 0] [--pool generated:5000:7] …  the loopback fake Bluesky API
    dnflow fakemastodon [--port 0] [--instance HOST] …    the loopback fake Mastodon
    dnflow fakeimages --folder DIR [--fault PATH=N=KIND] …   a loopback image host
    dnflow generate OUT --tweets N --seed S …         a generated demo archive

Sources come from the registry (dnflow.sources): a plugin's source is collected the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from dnflow import config as dnconfig
from dnflow import windows as dnwindows
from dnflow.platforms import PLATFORMS
from dnflow.sources import Source, SourceError, source_of

# subcommands with their own argparse: the module whose main() runs them
DELEGATED = {"fakeapi": "dnflow.fakeapi", "generate": "dnflow.generate",
             "fakebsky": "dnflow.fakebsky", "fakemastodon": "dnflow.fakemastodon",
             "fakeimages": "dnflow.fakeimages"}


def _searches(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    # archive paths are relative to the working directory, as in the pipeline
    return dnconfig.validate(raw, workdir=".")


def _searches_where(path: str, test: Callable[[Source], bool], what: str,
                    only: Sequence[str] = ()) -> dict:
    """The searches whose source passes ``test``; all of ``only`` must be among them."""
    searches = {k: v for k, v in _searches(path).items() if test(source_of(v))}
    if only:
        missing = [s for s in only if s not in searches]
        if missing:
            raise SystemExit(f"dnflow: no {what} named {', '.join(missing)} in {path}")
        searches = {k: searches[k] for k in only}
    return searches


def cmd_estimate(a: argparse.Namespace) -> int:
    searches = _searches_where(a.config, lambda src: hasattr(src, "estimate"),
                               "search with an estimate", a.slugs)
    if not searches:
        print(f"no search in {a.config} can estimate its volume")
        return 0
    status = 0
    print(f"{'search':<20} {'endpoint':<8} {'tweets':>10} {'days':>5} {'per day':>10} "
          f"{'per window':>11} {'per month':>11}  notes")
    for slug, s in searches.items():
        try:
            e = source_of(s).estimate(  # type: ignore[attr-defined]
                slug, s, log=lambda line: print(f"  {line}", file=sys.stderr))
        except SourceError as err:
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
    from dnflow.sources.runs import attempt_stamp

    search = _searches_where(a.config, lambda src: src.collects,
                             "search with a collection job", [a.slug])[a.slug]
    window = a.window or dnwindows.stamp(search.get("every"))
    stamp = attempt_stamp(Path(a.data) / a.slug, window)
    src = source_of(search)
    rec = src.collect(a.slug, search, stamp, a.data, sys.stderr)
    words = PLATFORMS[src.platform].words["posts"] if src.platform else "posts"
    print(f"{a.slug} {stamp}: {rec['status']}, "
          f"{rec.get('new_posts', rec.get('new_tweets', 0))} {words}, "
          f"{rec.get('requests', 0)} requests, {rec.get('retries', 0)} retries, "
          f"{rec.get('waits', 0)}s waited"
          + (f" — {rec['error']}" if rec.get("error") else "")
          + (f" — {rec['note']}" if rec.get("note") else ""))
    return 0 if rec["status"] == "ok" else 1


def cmd_recheck(a: argparse.Namespace) -> int:
    from dnflow.recheck import recheck

    _searches_where(a.config, lambda src: True, "search", [a.slug])
    return recheck(a.slug, a.data)


def cmd_schema(a: argparse.Namespace) -> int:
    print(json.dumps(dnconfig.searches_schema(), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        # their own argparse owns their options (and their --help)
        import importlib

        return importlib.import_module(DELEGATED[argv[0]]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="dnflow", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("estimate", help="expected volume of each search that can tell "
                                        "(X: the counts endpoint)")
    p.add_argument("slugs", nargs="*", help="only these searches")
    p.add_argument("--config", default="config/searches.yaml")
    p.set_defaults(func=cmd_estimate)
    p = sub.add_parser("collect", help="collect one search's current window (debugging)")
    p.add_argument("slug")
    p.add_argument("--config", default="config/searches.yaml")
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.add_argument("--window", help="window stamp (default: the current one)")
    p.set_defaults(func=cmd_collect)
    p = sub.add_parser("recheck", help="ask each platform which of a search's posts still "
                                       "exist; what is gone goes to its deletions")
    p.add_argument("slug")
    p.add_argument("--config", default="config/searches.yaml")
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.set_defaults(func=cmd_recheck)
    p = sub.add_parser("schema", help="print the searches.yaml JSON schema (every source's keys)")
    p.set_defaults(func=cmd_schema, config="")
    sub.add_parser("fakeapi", help="serve the loopback fake X API (see: dnflow fakeapi -h)")
    sub.add_parser("fakemastodon", help="serve a loopback fake Mastodon on several instances "
                                        "(see: dnflow fakemastodon -h)")
    sub.add_parser("generate", help="write a generated archive (see: dnflow generate -h)")
    sub.add_parser("fakebsky", help="serve the loopback fake Bluesky API "
                                    "(see: dnflow fakebsky -h)")
    sub.add_parser("fakeimages", help="serve images with faults on loopback, for media "
                                      "downloads (see: dnflow fakeimages -h)")
    a = ap.parse_args(argv)
    try:
        return a.func(a)
    except dnconfig.ConfigError as e:
        print(f"dnflow: {a.config}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
