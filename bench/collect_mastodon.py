"""P5 for Mastodon: collection of hashtag timelines against the fake, through snakemake.

Two ``source: mastodon`` searches (different hashtags) of the same two instances, in one
``snakemake`` run, against one loopback fake whose per-instance rate limit is small
enough to be hit. The figures come from what the fake saw (its request log) and what
landed in the archive, against what its timelines hold:

- posts archived vs the posts the instances' timelines hold (less those of accounts
  that opted out), per search: none lost, none archived twice from one instance;
- requests made vs the fewest possible: per instance and walk, one request per page of
  40 and the empty answer that ends the walk (Mastodon marks no last page);
- posts per request (target 40: a page's most) and the page fill (posts per request that
  brought some);
- the most requests any rate-limit window of an instance took, vs its limit, and 429s.

``python -m bench.collect_mastodon [--quick]`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from dnflow import optouts
from dnflow.fakemastodon import FakeMastodon, generated_pool
from dnflow.sources.mastodon_api import PAGE_SIZE

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NOW = "2026-11-28T06:10:00Z"
INSTANCES = ["mastodon.social", "fosstodon.org"]


def plan(quick: bool) -> dict:
    sizes = (400, 200) if quick else (4000, 1500)
    limit, window = (6, 2.0) if quick else (40, 4.0)
    return {"pool": [("climate", "climatestrike", sizes[0], 7),
                     ("music", "kpop", sizes[1], 11)],
            "searches": {
                "fedi-climate": {"source": "mastodon", "instances": INSTANCES,
                                 "hashtags": ["climatestrike"], "every": "6h"},
                "fedi-kpop": {"source": "mastodon", "instances": INSTANCES,
                              "hashtags": ["kpop"], "every": "6h"}},
            "rate_limit": limit, "rate_window": window}


def _statuses(pool: list[tuple[str, str, int, int]]) -> list[dict]:
    start = "2026-11-21T06:00:00Z"
    out: list[dict] = []
    for topic, tag, n, seed in pool:
        out += generated_pool(n, seed, topic=topic, tag=tag, start=start, days=7.0)
    return out


def measure(work: Path, quick: bool) -> dict:
    p = plan(quick)
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": p["searches"]}))
    with FakeMastodon(_statuses(p["pool"]), instances=INSTANCES, rate_limit=p["rate_limit"],
                      rate_window=p["rate_window"]) as api:
        optouts.set_policy({})
        timelines = {slug: {i: api.statuses(i, s["hashtags"][0]) for i in INSTANCES}
                     for slug, s in p["searches"].items()}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MASTODON_", "DNFLOW_", "X_"))}
        env.update(DNFLOW_MASTODON_API_URL=api.url, DNFLOW_NOW=NOW,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
        cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
               "--configfile", str(cfg)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - t0
        log = api.requests
    if r.returncode != 0:
        raise RuntimeError(f"snakemake failed ({r.returncode}):\n{r.stderr[-4000:]}")
    per_search = {}
    for slug, s in p["searches"].items():
        tag = s["hashtags"][0]
        mine = [e for e in log if e["tag"] == tag]
        lines = [orjson.loads(x) for f in sorted((work / "data" / slug / "raw").glob("*.jsonl"))
                 for x in f.read_bytes().splitlines() if x]
        per_inst: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            per_inst[line["__dnflow"]["instance"]] += [st["uri"] for st in line["statuses"]]
        want = {st["uri"] for sts in timelines[slug].values() for st in sts
                if not optouts.left_out_reason(st["account"])}
        got = {u for us in per_inst.values() for u in us}
        served = {i: len(sts) for i, sts in timelines[slug].items()}
        returned = sum(e.get("returned", 0) for e in mine)
        summary = json.loads((work / "data" / slug / "summary" / "summary.json").read_text())
        per_search[slug] = {
            "matching": len(want), "archived": len(got), "lost": len(want - got),
            "doubles": sum(len(us) - len(set(us)) for us in per_inst.values()),
            "counted": summary["tweets"], "left_out": summary.get("left_out", 0),
            "requests": len(mine),
            "minimum": sum(math.ceil(k / PAGE_SIZE) + 1 for k in served.values()),
            "returned": returned, "full_pages": sum(e.get("returned") == PAGE_SIZE
                                                    for e in mine),
            "nonempty": sum(bool(e.get("returned")) for e in mine),
            "statuses": dict(Counter(e["status"] for e in mine)),
        }
    per_window: Counter = Counter()
    for e in log:
        rate = e.get("rate")
        if rate:
            per_window[(rate["instance"], rate["window_start"])] += 1
    return {"plan": p, "searches": per_search, "requests": len(log),
            "http_429": sum(e["status"] == 429 for e in log),
            "max_in_window": max(per_window.values(), default=0),
            "windows": len(per_window), "wall": wall}


def run_measure(out: Path, quick: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix="collect-mastodon-") as tmp:
        return measure(Path(tmp), quick)


def rows(m: dict) -> list[tuple[str, str]]:
    p, s = m["plan"], m["searches"]
    reqs = sum(x["requests"] for x in s.values())
    minimum = sum(x["minimum"] for x in s.values())
    returned = sum(x["returned"] for x in s.values())
    nonempty = sum(x["nonempty"] for x in s.values())
    out = [("Mastodon collection: setup",
            f"{len(s)} searches × {len(INSTANCES)} instances in one `snakemake --cores 2` run, "
            f"one fake, rate limit {p['rate_limit']} requests / {p['rate_window']:g} s per "
            "instance")]
    for slug, x in s.items():
        out.append((f"Mastodon `{slug}`: archived / on the timelines (less opted out)",
                    f"{x['archived']:,} / {x['matching']:,} (lost {x['lost']}, archived twice "
                    f"{x['doubles']}, counted {x['counted']:,}, left out {x['left_out']}); "
                    f"{x['requests']} requests, minimum {x['minimum']}"))
    out += [
        ("Mastodon requests made / minimum possible",
         f"{reqs} / {minimum} ({reqs - minimum} wasted; the minimum counts the empty answer "
         "that ends each instance's walk)"),
        ("Mastodon posts per request (target 40)",
         f"{returned / reqs:.1f} ({returned / nonempty:.1f} per request that brought posts; "
         f"{sum(x['full_pages'] for x in s.values())} of {nonempty} pages full)"),
        ("Mastodon most requests in one rate-limit window / limit",
         f"{m['max_in_window']} / {p['rate_limit']} ({m['windows']} instance windows)"),
        ("Mastodon 429 answers", str(m["http_429"])),
        ("Mastodon wall time: snakemake run", f"{m['wall']:.1f} s"),
    ]
    return out


def run(out: Path, quick: bool) -> list[tuple[str, str]]:
    return rows(run_measure(out, quick))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.collect_mastodon",
                                 description="P5: Mastodon collection against the fake.")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    a = ap.parse_args(argv)
    print("| measure | figure |\n|---|---|\n" + "\n".join(
        f"| {k} | {v} |" for k, v in run(a.out, a.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
