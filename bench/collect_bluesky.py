"""P5B: Bluesky collection against the fake Bluesky API, through a real ``snakemake`` run.

Several ``source: bluesky`` searches share one loopback fake (dnflow.fakebsky) whose rate
limit is small enough to be hit, and one of them matches more posts than the search's
cursor reaches (10,000 on the real service; the quick mode lowers both sides to 600), so
it must walk back with ``until``. The figures come from what the server saw (its request
log) and from what landed in the archive, compared with the posts the server holds:

- posts archived vs posts matching on the server, per search (none lost; a post of the
  instant a walk back starts from comes twice and is counted once);
- searchPosts requests made vs the fewest possible (``ceil(matching / 100)``), and posts
  per request (target: 100, the largest page);
- logins (``createSession``: one for the whole run, the searches share the session);
- 429 answers and waits for a rate-limit reset;
- wall time of the snakemake run.

``python -m bench.collect_bluesky [--quick]`` prints the table.
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
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from dnflow.fakebsky import SEARCH, FakeBluesky, Pool, generated_pool

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
NOW = "2026-11-28T06:10:00Z"
HANDLE = "bench.bsky.social"
PASSWORD = "bench-app-password"


def plan(quick: bool) -> dict:
    if quick:
        return {"pool": [("climate", "#climatestrike", 1400, 7), ("music", "#kpop", 500, 11)],
                "cap": 600, "rate_limit": 6, "rate_window": 2.0,
                "searches": {"climate": {"query": "#climatestrike"},
                             "kpop": {"query": "#kpop"},
                             "climate-fr": {"query": "#climatestrike", "lang": "fr"}}}
    return {"pool": [("climate", "#climatestrike", 16_000, 7), ("music", "#kpop", 3000, 11)],
            "cap": 10_000, "rate_limit": 40, "rate_window": 4.0,
            "searches": {"climate": {"query": "#climatestrike"},
                         "kpop": {"query": "#kpop"},
                         "climate-fr": {"query": "#climatestrike", "lang": "fr"}}}


def _pool(spec: list[tuple[str, str, int, int]]) -> Pool:
    start = (datetime.fromisoformat(NOW.replace("Z", "+00:00")) - timedelta(days=7)
             ).strftime("%Y-%m-%dT%H:%M:%SZ")
    pool = Pool()
    for topic, query, n, seed in spec:
        pool.add(generated_pool(n, seed, topic=topic, query=query, start=start, days=7.0))
    return pool


def _archived(work: Path, slug: str) -> list[list[str]]:
    pages = []
    for path in sorted((work / "data" / slug / "raw").glob("*.jsonl")):
        if not path.name.startswith("."):
            pages += [[v["uri"] for v in orjson.loads(line).get("posts") or []]
                      for line in path.read_bytes().splitlines() if line]
    return pages


def measure(work: Path, quick: bool) -> dict:
    p = plan(quick)
    searches = {slug: dict(s, source="bluesky") for slug, s in p["searches"].items()}
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": searches}))
    with tempfile.TemporaryDirectory(prefix="dnflow-bench-state-") as state, \
            FakeBluesky(_pool(p["pool"]), handle=HANDLE, password=PASSWORD,
                        cursor_limit=p["cap"], rate_limit=p["rate_limit"],
                        rate_window=p["rate_window"]) as api:
        matching = {slug: api.matching(s["query"], lang=s.get("lang"))
                    for slug, s in searches.items()}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BLUESKY_", "DNFLOW_", "XDG_STATE"))}
        env.update(DNFLOW_BLUESKY_API_URL=api.url, BLUESKY_HANDLE=HANDLE,
                   BLUESKY_APP_PASSWORD=PASSWORD, XDG_STATE_HOME=state, DNFLOW_NOW=NOW,
                   DNFLOW_BLUESKY_CURSOR_CAP=str(p["cap"]),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                            env.get("PYTHONPATH")])))
        cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
               "--configfile", str(cfg)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - t0
        log = api.requests
        logins = api.logins()
    if r.returncode != 0:
        raise RuntimeError(f"snakemake failed ({r.returncode}):\n{r.stderr[-4000:]}")
    per = {}
    for slug, s in searches.items():
        mine = [e for e in log if e["path"] == SEARCH and e["params"].get("q") == s["query"]
                and e["params"].get("lang") == s.get("lang")]
        pages = _archived(work, slug)
        uris = [u for page in pages for u in page]
        want = matching[slug]
        recs = [json.loads(f.read_text()) for f in sorted((work / "data" / slug / "runs")
                                                          .glob("*.json"))]
        summary = json.loads((work / "data" / slug / "summary" / "summary.json").read_text())
        per[slug] = {
            "matching": len(want), "archived": len(set(uris)), "fetched": len(uris),
            "lost": len(set(want) - set(uris)), "foreign": len(set(uris) - set(want)),
            "counted": summary["posts"], "requests": len(mine),
            "page_sizes": [len(page) for page in pages],
            "minimum": math.ceil(len(want) / 100),
            "statuses": dict(Counter(e["status"] for e in mine)),
            "restarts": sum(x.get("restarts") or 0 for x in recs),
            "records": [(x["status"], x["error"]) for x in recs],
            "reset_waits": sum(x["rate_limit_waits"] for x in recs),
            "waited": sum(x["waits"] for x in recs),
        }
    return {"plan": p, "searches": per, "logins": logins, "wall": wall,
            "http_429": sum(e["status"] == 429 for e in log if e["path"] == SEARCH),
            "profile": "profiles/default" in r.stdout + r.stderr}


def run_measure(out: Path, quick: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix="collect-bsky-") as tmp:
        return measure(Path(tmp), quick)


def rows(m: dict) -> list[tuple[str, str]]:
    p, s = m["plan"], m["searches"]
    reqs = sum(x["requests"] for x in s.values())
    minimum = sum(x["minimum"] for x in s.values())
    posts = sum(x["archived"] for x in s.values())
    out = [("Bluesky collection: setup",
            f"{len(s)} searches in one `snakemake --cores 2` run, one fake Bluesky API, "
            f"cursor depth {p['cap']:,} posts, rate limit {p['rate_limit']} requests / "
            f"{p['rate_window']:g} s")]
    for slug, x in s.items():
        out.append((f"Bluesky `{slug}`: archived / matching on the server",
                    f"{x['archived']:,} / {x['matching']:,} (lost {x['lost']}, counted "
                    f"{x['counted']:,}, fetched twice {x['fetched'] - x['archived']}); "
                    f"{x['requests']} requests, minimum {x['minimum']}"
                    + (f", {x['restarts']} walk back with until" if x["restarts"] else "")))
    out += [
        ("Bluesky requests made / minimum possible",
         f"{reqs} / {minimum} ({reqs - minimum} beyond the minimum)"),
        ("Bluesky posts per request (page max 100)",
         (f"{posts / reqs:.1f} ({sum(n == 100 for x in s.values() for n in x['page_sizes'])}"
          f" of {sum(len(x['page_sizes']) for x in s.values())} pages full; "
          f"{sum(n < 100 for x in s.values() for n in x['page_sizes'][:-1])} short pages "
          "before a search's last)") if reqs else "–"),
        ("Bluesky logins (createSession) for the run", str(m["logins"])),
        ("Bluesky 429 answers", str(m["http_429"])),
        ("Bluesky waits for a rate-limit reset",
         f"{sum(x['reset_waits'] for x in s.values())}, "
         f"{sum(x['waited'] for x in s.values()):.1f} s"),
        ("Bluesky wall time: snakemake run", f"{m['wall']:.1f} s"),
    ]
    return out


def run(out: Path, quick: bool) -> list[tuple[str, str]]:
    return rows(run_measure(out, quick))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.collect_bluesky",
                                 description="P5B: Bluesky collection against the fake API.")
    ap.add_argument("--quick", action="store_true", help="small pool, lowered cursor depth")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    a = ap.parse_args(argv)
    print("| measure | figure |\n|---|---|\n"
          + "\n".join(f"| {x} | {y} |" for x, y in run(a.out, a.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
