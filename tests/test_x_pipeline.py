"""End to end: snakemake runs the project's Snakefile against the fake X API.

Incremental windows (DNFLOW_NOW moved forward, tweets added between), no re-summarizing
when a window brings nothing, secret hygiene, a missing token that fails only its own
search, and the documented cron line with flock.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from dnflow import outputs
from dnflow import windows as dnwindows
from dnflow.sources.x import attempt_stamp

from .conftest import V2
from .xutil import QUERY, ROOT, SNAKEMAKE, TOKEN, archived_ids, make_api, snakemake, x_env

SUMMARY_FILES = outputs.names()


def write_config(work: Path, searches: dict) -> Path:
    path = work / "searches.yaml"
    path.write_text(json.dumps({"searches": searches}))  # JSON is YAML
    return path


def targets(work: Path, searches: dict, now: str, site: bool = False) -> list[str]:
    """What `rule all` asks for: the site (or only every summary), and each X search's
    current run record (rules/collect.smk: X_TARGETS)."""
    at = dnwindows.parse_time(now)
    out = ["site/index.html"] if site else []
    out += [f"data/{slug}/summary/summary.json" for slug in searches]
    for slug, s in searches.items():
        if s["source"] == "x":
            window = dnwindows.stamp(s.get("every"), at)
            out.append(f"data/{slug}/runs/{attempt_stamp(work / 'data' / slug, window)}.json")
    return out


def run(work, cfg, searches, env, now, site=False):
    r = snakemake(work, cfg, dict(env, DNFLOW_NOW=now), *targets(work, searches, now, site))
    assert r.returncode == 0, r.stderr[-4000:]
    assert TOKEN not in r.stdout + r.stderr
    return r


def mtimes(work: Path, slug: str) -> dict[str, int]:
    return {n: (work / "data" / slug / "summary" / n).stat().st_mtime_ns for n in SUMMARY_FILES}


def summary(work: Path, slug: str) -> dict:
    return json.loads((work / "data" / slug / "summary" / "summary.json").read_text())


def record(work: Path, slug: str, stamp: str) -> dict:
    return json.loads((work / "data" / slug / "runs" / f"{stamp}.json").read_text())


def test_incremental_windows_secret_hygiene(tmp_path):
    searches = {"climate": {"source": "x", "query": QUERY, "every": "6h"}}
    cfg = write_config(tmp_path, searches)
    with make_api(300, token=TOKEN) as api:
        env = x_env(api)
        run(tmp_path, cfg, searches, env, "2026-11-28T06:10:00Z", site=True)
        n1 = summary(tmp_path, "climate")["tweets"]
        assert n1 == len(api.matching(QUERY)) > 0

        # the same window again: nothing is due, nothing runs
        r = run(tmp_path, cfg, searches, env, "2026-11-28T07:55:00Z")
        assert "Nothing to be done" in r.stdout + r.stderr
        assert len(api.requests) == -(-n1 // 100)

        api.add({"generated": 60, "seed": 5, "query": QUERY})
        run(tmp_path, cfg, searches, env, "2026-11-28T12:10:00Z")
        w2 = record(tmp_path, "climate", "2026-11-28T12")
        assert w2["status"] == "ok" and w2["new_tweets"] > 0
        assert summary(tmp_path, "climate")["tweets"] == n1 + w2["new_tweets"]
        before = mtimes(tmp_path, "climate")

        time.sleep(0.05)  # a rewrite would show in the nanosecond mtimes
        run(tmp_path, cfg, searches, env, "2026-11-28T18:10:00Z", site=True)
        w3 = record(tmp_path, "climate", "2026-11-28T18")
        assert w3["status"] == "ok" and w3["new_tweets"] == 0 and w3["requests"] == 1
        assert mtimes(tmp_path, "climate") == before  # nothing re-summarized
        expected = api.matching(QUERY)

    ids = archived_ids(tmp_path / "data", "climate")
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    raw = sorted(p.name for p in (tmp_path / "data/climate/raw").iterdir())
    assert raw == ["2026-11-28T06.jsonl", "2026-11-28T12.jsonl"]
    logs = sorted(p.name for p in (tmp_path / "logs/collect/climate").iterdir())
    assert logs == ["2026-11-28T06.log", "2026-11-28T12.log", "2026-11-28T18.log"]
    assert "page 1:" in (tmp_path / "logs/collect/climate/2026-11-28T06.log").read_text()

    # secret hygiene: the token is nowhere on disk: data, site, metadata and logs included
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    for d in ("data", "site", ".snakemake", "logs"):
        assert (tmp_path / d).is_dir()
    page = (tmp_path / "site/climate/index.html").read_text()
    assert "2026-11-28T18" in page  # the empty window shows in the page's run history


def test_missing_token_fails_only_that_search(tmp_path):
    searches = {
        "climate": {"source": "x", "query": QUERY, "every": "1d"},
        "brexit": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
    }
    cfg = write_config(tmp_path, searches)
    now = "2026-11-28T09:00:00Z"
    with make_api(200, token=TOKEN) as api:
        run(tmp_path, cfg, searches, x_env(api, token=None), now)
        assert api.requests == []
        failed = record(tmp_path, "climate", "2026-11-28")
        assert failed["status"] == "failed"
        assert failed["error"].startswith("X_BEARER_TOKEN is not set")
        log = (tmp_path / "logs/collect/climate/2026-11-28.log").read_text()
        assert "X_BEARER_TOKEN is not set" in log
        assert summary(tmp_path, "brexit")["tweets"] == 200  # the other search built
        assert summary(tmp_path, "climate")["tweets"] == 0

        # with the token the next run tries the window again (attempt 2) and succeeds
        run(tmp_path, cfg, searches, x_env(api), now)
        ok = record(tmp_path, "climate", "2026-11-28~2")
        assert ok["status"] == "ok" and ok["attempt"] == 2
        assert summary(tmp_path, "climate")["tweets"] == len(api.matching(QUERY))
    assert record(tmp_path, "climate", "2026-11-28")["status"] == "failed"  # history kept


CRON = ('mkdir -p logs && {{ flock -n -E 75 .dnflow.lock {snakemake} {targets} --nolock '
        '--configfile searches.yaml; [ $? -ne 75 ] || echo "dnflow: an earlier run is still '
        'going; this one skipped"; }} >> logs/cron.log 2>&1')


def test_cron_line_overlapping_run_exits_cleanly(tmp_path):
    """The documented crontab command: a run that starts while another still works
    exits at once with a message; the first one finishes normally."""
    searches = {"climate": {"source": "x", "query": QUERY, "every": "6h"}}
    write_config(tmp_path, searches)
    now = "2026-11-28T06:10:00Z"
    cmd = CRON.format(snakemake=f"{SNAKEMAKE} -s {ROOT / 'Snakefile'}",
                      targets=" ".join(targets(tmp_path, searches, now)))
    with make_api(300, token=TOKEN, delay=0.5) as api:
        env = dict(os.environ, **x_env(api), DNFLOW_NOW=now)
        first = subprocess.Popen(["bash", "-c", cmd], cwd=tmp_path, env=env)
        cp = tmp_path / "data/climate/raw/.2026-11-28T06.checkpoint.json"
        deadline = time.monotonic() + 60
        while not cp.exists():  # the first run is collecting
            assert time.monotonic() < deadline
            time.sleep(0.05)
        t0 = time.monotonic()
        second = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, timeout=30)
        assert second.returncode == 0 and time.monotonic() - t0 < 5
        assert first.wait(timeout=60) == 0
    log = (tmp_path / "logs/cron.log").read_text()
    assert log.count("an earlier run is still going; this one skipped") == 1
    assert record(tmp_path, "climate", "2026-11-28T06")["status"] == "ok"
