"""The fault matrix: the real collection code against the fake API, one fault per row,
plus a kill -9 of snakemake mid-collection and a rerun. Every row: nothing lost, nothing
doubled, bounded time, and a clear message where a run fails (the rerun then completes).
The table is printed (fault, tweets on the server, archived, duplicates, requests, outcome).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dnflow.sources.x import Backoff, attempt_stamp, collect_window

from .xutil import (
    FAST,
    QUERY,
    ROOT,
    SNAKEMAKE,
    TOKEN,
    archived_ids,
    make_api,
    x_env,
)

SEARCH = {"source": "x", "query": QUERY}
BOUND_S = 90.0  # a hang, not a slow machine: the waits are real, shrunk by FAST


@dataclass
class Case:
    name: str
    faults: list[str]
    fails_with: str | None = None  # words of the one-line error, when run 1 must fail
    api_kw: dict | None = None
    backoff: Backoff | None = None  # None: FAST


CASES = [
    Case("none", []),
    Case("429 with x-rate-limit-reset", ["3=429"]),
    Case("429 without reset", ["3=429-noreset"]),
    Case("500", ["3=500"]),
    Case("503", ["3=503"]),
    Case("connection reset mid-response", ["3=reset"]),
    Case("malformed body", ["3=malformed"]),
    Case("several faults in a row", ["2=503", "3=reset", "4=malformed", "5=429-noreset"]),
    Case("401 mid-run", ["3=401"], "X_BEARER_TOKEN was rejected"),
    Case("403 mid-run", ["3=403"], "403 Forbidden"),
    Case("503 until retries run out", ["3+=503"], "gave up after 5 retries"),
    Case("429 beyond the wait budget", ["3+=429"], "gave up",
         backoff=replace(FAST, max_wait=2.5)),
    Case("rate limit used up (remaining 0)", [], api_kw={"rate_limit": 2, "rate_window": 1.0}),
]


def run_case(tmp_path: Path, case: Case) -> dict:
    t0 = time.monotonic()
    with make_api(450, token=TOKEN, faults=case.faults, reset_in=1.0,
                  **(case.api_kw or {})) as api:
        env = x_env(api)
        backoff = case.backoff or FAST
        base = tmp_path / case.name.replace(" ", "_")
        rec = collect_window("s", SEARCH, "once", base, env=env, backoff=backoff)
        outcome = f"ok, {rec['retries']} retries, {rec['waits']:.1f}s waited"
        first = rec
        if rec["status"] == "failed":
            api.set_faults(None)  # the cause goes away; the next run resumes
            stamp = attempt_stamp(base / "s", "once")
            rec = collect_window("s", SEARCH, stamp, base, env=env, backoff=backoff)
            outcome = (f"failed: {first['error'][:58]}… → rerun {rec['status']}, resumed "
                       f"after {(rec['resumed'] or {}).get('pages', 0)} pages")
        ids = archived_ids(base, "s")
        return {"fault": case.name, "server": len(api.matching(QUERY)), "archived": len(set(ids)),
                "lost": len(set(api.matching(QUERY)) - set(ids)),
                "duplicates": len(ids) - len(set(ids)), "requests": len(api.requests),
                "seconds": time.monotonic() - t0, "outcome": outcome, "first": first,
                "final": rec}


def kill_nine_row(tmp_path: Path) -> dict:
    """snakemake (under the documented flock cron line) is killed with SIGKILL, process
    group and all, while the collection job is between pages; the next run resumes."""
    work = tmp_path / "kill9"
    work.mkdir()
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": {"climate": dict(SEARCH, every="6h")}}))
    now = "2026-11-28T07:00:00Z"
    targets = ["data/climate/summary/summary.json", "data/climate/runs/2026-11-28T06.json"]
    t0 = time.monotonic()
    with make_api(450, token=TOKEN, delay=0.4) as api:
        env = dict(os.environ, **x_env(api), DNFLOW_NOW=now)
        cmd = ["flock", "-n", str(work / ".dnflow.lock"), SNAKEMAKE, *targets, "-s",
               str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2", "--nolock",
               "--configfile", str(cfg)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        cp = work / "data/climate/raw/.2026-11-28T06.checkpoint.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cp.exists() and json.loads(cp.read_text())["pages"] >= 2:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # the next cron tick: once the killed processes are gone the lock is free again
        while subprocess.run(["flock", "-n", str(work / ".dnflow.lock"), "true"]).returncode:
            assert time.monotonic() < deadline, "the lock of the killed run was never freed"
            time.sleep(0.05)
        killed_at = json.loads(cp.read_text())["pages"]
        assert not (work / "data/climate/runs/2026-11-28T06.json").exists()
        api.state.delay = 0.0
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        rec = json.loads((work / "data/climate/runs/2026-11-28T06.json").read_text())
        ids = archived_ids(work / "data", "climate")
        summary = json.loads((work / "data/climate/summary/summary.json").read_text())
        expected = api.matching(QUERY)
        return {"fault": "kill -9 snakemake mid-collection", "server": len(expected),
                "archived": len(set(ids)), "lost": len(set(expected) - set(ids)),
                "duplicates": len(ids) - len(set(ids)), "requests": len(api.requests),
                "seconds": time.monotonic() - t0,
                "outcome": f"killed after page {killed_at} → rerun ok, resumed after "
                           f"{rec['resumed']['pages']} pages, summary {summary['tweets']}",
                "first": None, "final": rec, "summary": summary}


def table(rows: list[dict]) -> str:
    head = (f"{'fault':<34} {'server':>6} {'archived':>8} {'dupes':>5} {'reqs':>4} "
            f"{'secs':>5}  outcome")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['fault']:<34} {r['server']:>6} {r['archived']:>8} "
                     f"{r['duplicates']:>5} {r['requests']:>4} {r['seconds']:>5.1f}  "
                     f"{r['outcome']}")
    return "\n".join(lines)


def test_fault_matrix(tmp_path, capsys):
    rows = [run_case(tmp_path, case) for case in CASES]
    rows.append(kill_nine_row(tmp_path))
    with capsys.disabled():
        print("\n" + table(rows))
    for case, row in zip(CASES + [None], rows, strict=True):
        where = row["fault"]
        assert row["lost"] == 0 and row["archived"] == row["server"], where
        assert row["duplicates"] == 0, where
        assert row["seconds"] < BOUND_S, where
        assert row["final"]["status"] == "ok", where
        if case is None:
            assert row["summary"]["tweets"] == row["server"]
            # at most the page in flight at the kill is fetched again
            assert row["requests"] <= -(-row["server"] // 100) + 1
            continue
        if case.fails_with:
            first = row["first"]
            assert first["status"] == "failed" and case.fails_with in first["error"], where
            assert "\n" not in first["error"]
            assert row["final"]["resumed"]["pages"] >= 2, where  # pages 1-2 were kept
        else:
            assert row["first"]["status"] == "ok", where
        if case.faults and not case.fails_with:
            assert row["final"]["retries"] >= len(case.faults), where
