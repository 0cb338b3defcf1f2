"""P5: X collection against the fake API, through a real ``snakemake`` run.

Several ``source: x`` searches (one of them ``endpoint: all``) share one loopback fake X
API whose rate limit is small enough to be hit. The figures come from what the server saw
(its request log, with the time and the rate-limit window each request was charged to)
and from what landed in the archive, compared with the tweets the server holds:

- tweets archived vs tweets matching on the server, per search (none lost, none twice);
- requests made vs the fewest possible (``ceil(matching / 100)`` on recent search,
  ``/ 500`` on full-archive; an empty last page or any retry is a wasted request);
- the most requests any rate-limit window of the server took, vs its limit, and the 429s
  answered (none expected: ``x_api=1`` runs the searches one at a time, and a collection
  waits for the reset when the last answer, its own or an earlier search's
  (``data/.x-rate-limit.json``), said ``x-rate-limit-remaining: 0``);
- wall time of the snakemake run and of the collection inside it.

``python -m bench.collect [--quick]`` prints the table.
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
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from dnflow.fakeapi import FakeXAPI, Pool, _doc, compile_query, generated_pool
from dnflow.sources.x import PAGE_MAX, ROUTES

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NOW = "2026-11-28T06:10:00Z"  # DNFLOW_NOW of the run: windows and the generated week
TOKEN = "bench-token"


def plan(quick: bool) -> dict:
    """The pool (topic, query, tweets matching it, seed), the searches, the rate limit.

    Every recent search needs a whole number of rate-limit windows (``matching / 100`` a
    multiple of the limit), so each collection job ends on an exhausted window and the
    next search starts inside it: the case where searches sharing the limit could step
    over it. The largest one also has to wait for a reset in the middle of its run."""
    if quick:
        limit, window, sizes = 5, 3.0, (1000, 500, 480)
    else:
        limit, window, sizes = 15, 6.0, (4500, 1500, 1480)
    return {
        "pool": [("climate", "#climatestrike", sizes[0], 7),
                 ("music", "#kpop", sizes[1], 11),
                 ("news", "breaking", sizes[2], 3)],
        "searches": {
            "climate": {"source": "x", "query": "#climatestrike", "every": "6h"},
            "kpop": {"source": "x", "query": "#kpop", "every": "6h"},
            "news": {"source": "x", "query": "breaking", "every": "1d"},
            # a full-archive backfill of two topics at once: 500 tweets per request
            "backfill": {"source": "x", "query": "#climatestrike OR #kpop",
                         "endpoint": "all"},
        },
        "rate_limit": limit,
        "rate_window": window,
    }


def _pool(spec: list[tuple[str, str, int, int]]) -> Pool:
    """Generated tweets of each topic, ``matching`` of them matching its query (the
    generator's others are kept too: they are what the query must not pick)."""
    start = (datetime.fromisoformat(NOW.replace("Z", "+00:00")) - timedelta(days=7)
             ).strftime("%Y-%m-%dT%H:%M:%SZ")
    pool = Pool()
    for topic, query, matching, seed in spec:
        match = compile_query(query)
        items, hits = [], 0
        for tweet, inc in generated_pool(matching * 3 // 2, seed, topic=topic, query=query,
                                         start=start, days=7.0):
            if match(_doc(tweet, inc)):
                if hits == matching:
                    continue
                hits += 1
            items.append((tweet, inc))
        if hits != matching:
            raise RuntimeError(f"the generator gave {hits} tweets matching {query!r}, "
                               f"{matching} wanted")
        pool.add(items)
    return pool


def _pages(work: Path, slug: str) -> list[list[str]]:
    """The tweet ids of every archived page of a search (completed chunks only)."""
    pages: list[list[str]] = []
    for path in sorted((work / "data" / slug / "raw").glob("*.jsonl")):
        if not path.name.startswith("."):
            pages += [[t["id"] for t in orjson.loads(line).get("data") or []]
                      for line in path.read_bytes().splitlines() if line]
    return pages


def _records(work: Path, slug: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((work / "data" / slug / "runs").glob(
        "*.json"))]


def _windows(log: list[dict]) -> dict[str, list[int]]:
    """Requests per rate-limit window of the server, per endpoint: each request counted in
    the window the server charged it to (refused ones included), in time order."""
    per: Counter[tuple[str, float]] = Counter()
    for e in log:
        rate = e.get("rate")
        if rate:
            per[(rate["key"], rate["window_start"])] += 1
    out: dict[str, list[int]] = defaultdict(list)
    for (key, _start), n in sorted(per.items()):
        out[key].append(n)
    return dict(out)


def measure(work: Path, quick: bool) -> dict:
    """Collect every search once with a real snakemake run in ``work``; the raw figures."""
    p = plan(quick)
    searches = p["searches"]
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": searches}))  # JSON is YAML
    with FakeXAPI(_pool(p["pool"]), rate_limit=p["rate_limit"],
                  rate_window=p["rate_window"]) as api:
        matching = {slug: api.matching(s["query"]) for slug, s in searches.items()}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "DNFLOW_"))}
        env.update(DNFLOW_X_API_URL=api.url, X_BEARER_TOKEN=TOKEN, DNFLOW_NOW=NOW,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                            env.get("PYTHONPATH")])))
        cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
               "--configfile", str(cfg)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - t0
        log = api.requests
    if r.returncode != 0:
        raise RuntimeError(f"snakemake failed ({r.returncode}):\n{r.stderr[-4000:]}")
    per_search = {}
    for slug, s in searches.items():
        endpoint = s.get("endpoint", "recent")
        mine = [e for e in log if e["params"].get("query") == s["query"]
                and e["path"] == ROUTES[endpoint]]
        pages = _pages(work, slug)
        ids = [i for page in pages for i in page]
        want = matching[slug]
        recs = _records(work, slug)
        logs = "".join(f.read_text() for f in (work / "logs" / "x" / slug).glob("*.log"))
        per_search[slug] = {
            "endpoint": endpoint, "matching": len(want), "archived": len(ids),
            "lost": len(set(want) - set(ids)), "foreign": len(set(ids) - set(want)),
            "duplicates": len(ids) - len(set(ids)),
            "requests": len(mine), "minimum": math.ceil(len(want) / PAGE_MAX[endpoint]),
            "page_sizes": [len(page) for page in pages],
            # a page short of the maximum before the search's last one: a wasted request
            "short_before_last": sum(len(page) < PAGE_MAX[endpoint] for page in pages[:-1]),
            "max_results": sorted({int(e["params"].get("max_results", 10)) for e in mine}),
            "statuses": dict(Counter(e["status"] for e in mine)),
            "records": [(r["status"], r["error"]) for r in recs],
            "reset_waits": sum(r["rate_limit_waits"] for r in recs),
            "waited": sum(r["waits"] for r in recs),
            "waits_before_first": logs.count("an earlier collection left 0 requests"),
        }
    windows = _windows(log)
    times = [e["time"] for e in log]
    return {
        "plan": p, "searches": per_search, "requests": len(log),
        "http_429": sum(e["status"] == 429 for e in log),
        "windows": windows,
        "max_in_window": max((n for ns in windows.values() for n in ns), default=0),
        "wall": wall, "collect_span": (max(times) - min(times)) if times else 0.0,
        "profile": "profiles/default" in r.stdout + r.stderr,
    }


def run(out: Path, quick: bool) -> list[tuple[str, str]]:
    """The P5 rows (measure, figure) of the benchmark table."""
    return rows(run_measure(out, quick))


def run_measure(out: Path, quick: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix="collect-") as tmp:
        return measure(Path(tmp), quick)


def rows(m: dict) -> list[tuple[str, str]]:
    p, s = m["plan"], m["searches"]
    reqs = sum(x["requests"] for x in s.values())
    minimum = sum(x["minimum"] for x in s.values())
    out = [("X collection: setup",
            f"{len(s)} searches ({sum(x['endpoint'] == 'all' for x in s.values())} "
            f"full-archive) in one `snakemake --cores 2` run, one fake X API, rate limit "
            f"{p['rate_limit']} requests / {p['rate_window']:g} s per endpoint")]
    for slug, x in s.items():
        out.append((f"X `{slug}` ({x['endpoint']}): archived / matching on the server",
                    f"{x['archived']:,} / {x['matching']:,} (lost {x['lost']}, duplicates "
                    f"{x['duplicates']}); {x['requests']} requests, minimum {x['minimum']}"))
    out.append(("X requests made / minimum possible",
                f"{reqs} / {minimum} ({reqs - minimum} wasted)"))
    for endpoint, size in PAGE_MAX.items():
        mine = [x for x in s.values() if x["endpoint"] == endpoint]
        if not mine:
            continue
        tweets = sum(x["archived"] for x in mine)
        n = sum(x["requests"] for x in mine)
        sizes = sorted({v for x in mine for v in x["max_results"]})
        full = sum(v == size for x in mine for v in x["page_sizes"])
        pages = sum(len(x["page_sizes"]) for x in mine)
        early = sum(x["short_before_last"] for x in mine)
        short = ("" if full == pages else "; short pages: only a search's last" if not early
                 else f"; {early} short pages before a search's last")
        out.append((f"X tweets per request, {endpoint} (page max {size})",
                    f"{tweets / n:.1f} (max_results {'/'.join(map(str, sizes))}; "
                    f"{full} of {pages} pages full{short})"))
    out += [
        ("X most requests in one rate-limit window / limit",
         f"{m['max_in_window']} / {p['rate_limit']} ("
         + ", ".join(f"{k}: {len(v)} window{'s' * (len(v) != 1)}"
                     for k, v in sorted(m["windows"].items())) + ")"),
        ("X 429 answers", str(m["http_429"])),
        ("X waits for a rate-limit reset",
         f"{sum(x['reset_waits'] for x in s.values())}, "
         f"{sum(x['waited'] for x in s.values()):.1f} s "
         f"({sum(x['waits_before_first'] for x in s.values())} before a search's first "
         f"request, for a window an earlier search used up)"),
        ("X wall time: snakemake run (first to last request)",
         f"{m['wall']:.1f} s ({m['collect_span']:.1f} s)"),
    ]
    return out


def table(rows_: list[tuple[str, str]]) -> str:
    return "| measure | figure |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows_)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.collect",
                                 description="P5: X collection against the fake API.")
    ap.add_argument("--quick", action="store_true", help="small pool, about 20 s")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    a = ap.parse_args(argv)
    print(table(run(a.out, a.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
