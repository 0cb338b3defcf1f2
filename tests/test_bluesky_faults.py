"""The fault matrix of Bluesky collection: the real collection code against the fake API,
one fault per row, plus a kill -9 of snakemake mid-collection and a rerun. Every row:
nothing lost, nothing doubled, bounded time, a clear one-line message where a run fails
(the rerun then completes), and no secret anywhere in the data.
The table is printed (fault, posts on the server, archived, duplicates, requests,
logins, outcome).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dnflow.sources.bluesky import collect_window
from dnflow.sources.runs import Backoff, attempt_stamp

from .bskyutil import (
    FAST,
    PASSWORD,
    QUERY,
    archived_uris,
    bsky_env,
    chunk_pages,
    leaks,
    make_api,
)
from .xutil import ROOT, SNAKEMAKE

SEARCH = {"source": "bluesky", "query": QUERY}
BOUND_S = 90.0  # a hang, not a slow machine: the waits are real, shrunk by FAST


@dataclass
class Case:
    name: str
    faults: list[str]
    fails_with: str | None = None  # words of the one-line error, when run 1 must fail
    api_kw: dict | None = None
    backoff: Backoff | None = None  # None: FAST
    env: dict | None = None


CASES = [
    Case("none", []),
    Case("429 with RateLimit-Reset", ["3=429"]),
    Case("500", ["3=500"]),
    Case("502 UpstreamFailure", ["3=502"]),
    Case("503", ["3=503"]),
    Case("ExpiredToken mid-run", ["3=expired"]),
    Case("InvalidToken (session revoked)", ["3=401"]),
    Case("connection reset mid-answer", ["3=reset"]),
    Case("malformed body", ["3=malformed"]),
    Case("several faults in a row", ["2=502", "3=expired", "4=reset", "5=malformed",
                                     "6=429"]),
    Case("400 InvalidRequest mid-run", ["3=400:query too complex"],
         "Bluesky refused the search (400 InvalidRequest: query too complex)"),
    Case("UpstreamFailure until retries run out", ["3+=502"],
         "gave up after 5 retries"),
    Case("429 beyond the wait budget", ["3+=429"], "gave up",
         backoff=replace(FAST, max_wait=2.5)),
    Case("rate limit used up (remaining 0)", [],
         api_kw={"rate_limit": 2, "rate_window": 1.0}),
    Case("cursor ends at its depth", [], api_kw={"cursor_limit": 200},
         env={"DNFLOW_BLUESKY_CURSOR_CAP": "200"}),
    Case("wrong app password", [], "Bluesky refused the login",
         env={"BLUESKY_APP_PASSWORD": "not-the-password"}),
]


def run_case(tmp_path: Path, case: Case) -> dict:
    t0 = time.monotonic()
    base = tmp_path / case.name.replace(" ", "_")
    with make_api(450, faults=case.faults, reset_in=1.0, **(case.api_kw or {})) as api:
        env = bsky_env(api, base / "dnflow-state", **(case.env or {}))
        backoff = case.backoff or FAST
        rec = collect_window("s", SEARCH, "once", base / "data", env=env, backoff=backoff)
        outcome = f"ok, {rec['retries']} retries, {rec['waits']:.1f}s waited"
        first = rec
        if rec["status"] == "failed":
            api.set_faults(None)  # the cause goes away; the next run resumes
            env["BLUESKY_APP_PASSWORD"] = PASSWORD
            stamp = attempt_stamp(base / "data" / "s", "once")
            rec = collect_window("s", SEARCH, stamp, base / "data", env=env,
                                 backoff=backoff)
            outcome = (f"failed: {first['error'][:58]}… → rerun {rec['status']}, resumed "
                       f"after {(rec['resumed'] or {}).get('pages', 0)} pages")
        uris = archived_uris(base / "data", "s")
        want = api.matching(QUERY)
        return {"fault": case.name, "server": len(want), "archived": len(set(uris)),
                "lost": len(set(want) - set(uris)), "duplicates": len(uris) - len(set(uris)),
                "requests": len(api.searches()), "logins": api.logins(),
                "seconds": time.monotonic() - t0, "outcome": outcome, "first": first,
                "final": rec, "leaks": leaks(base / "data", api.secrets() + [PASSWORD]),
                "pages": chunk_pages(base / "data", "s")}


def kill_nine_row(tmp_path: Path) -> dict:
    """snakemake (under the documented flock cron line) is killed with SIGKILL, process
    group and all, while the collection job is between pages; the next run resumes."""
    work = tmp_path / "kill9"
    work.mkdir()
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": {"sky": dict(SEARCH, every="6h")}}))
    now = "2026-11-28T07:00:00Z"
    targets = ["data/sky/summary/summary.json", "data/sky/runs/2026-11-28T06.json"]
    t0 = time.monotonic()
    with make_api(450, delay=0.4) as api:
        env = dict(os.environ, **bsky_env(api, tmp_path / "kill9-state"), DNFLOW_NOW=now)
        cmd = ["flock", "-n", str(work / ".dnflow.lock"), SNAKEMAKE, *targets, "-s",
               str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2", "--nolock",
               "--configfile", str(cfg)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        cp = work / "data/sky/raw/.2026-11-28T06.checkpoint.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cp.exists() and json.loads(cp.read_text())["pages"] >= 2:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        while subprocess.run(["flock", "-n", str(work / ".dnflow.lock"), "true"]).returncode:
            assert time.monotonic() < deadline, "the lock of the killed run was never freed"
            time.sleep(0.05)
        killed_at = json.loads(cp.read_text())["pages"]
        assert not (work / "data/sky/runs/2026-11-28T06.json").exists()
        api.state.delay = 0.0
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        rec = json.loads((work / "data/sky/runs/2026-11-28T06.json").read_text())
        uris = archived_uris(work / "data", "sky")
        summary = json.loads((work / "data/sky/summary/summary.json").read_text())
        want = api.matching(QUERY)
        return {"fault": "kill -9 snakemake mid-collection", "server": len(want),
                "archived": len(set(uris)), "lost": len(set(want) - set(uris)),
                "duplicates": len(uris) - len(set(uris)), "requests": len(api.searches()),
                "logins": api.logins(), "seconds": time.monotonic() - t0,
                "outcome": f"killed after page {killed_at} → rerun ok, resumed after "
                           f"{rec['resumed']['pages']} pages, summary {summary['posts']}",
                "first": None, "final": rec, "summary": summary,
                "leaks": leaks(work, api.secrets() + [PASSWORD]), "pages": []}


def table(rows: list[dict]) -> str:
    head = (f"{'fault':<38} {'server':>6} {'archived':>8} {'dupes':>5} {'reqs':>4} "
            f"{'login':>5} {'secs':>5}  outcome")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['fault']:<38} {r['server']:>6} {r['archived']:>8} "
                     f"{r['duplicates']:>5} {r['requests']:>4} {r['logins']:>5} "
                     f"{r['seconds']:>5.1f}  {r['outcome']}")
    return "\n".join(lines)


def test_fault_matrix(tmp_path, capsys):
    rows = [run_case(tmp_path, case) for case in CASES]
    rows.append(kill_nine_row(tmp_path))
    with capsys.disabled():
        print("\n" + table(rows))
    for case, row in zip(CASES + [None], rows, strict=True):
        where = row["fault"]
        assert row["lost"] == 0 and row["archived"] == row["server"], where
        # a post archived twice only where a walk back with until asks for the posts of
        # the boundary instant again (counted once: the summary dedups by at-URI)
        final = row["final"]
        assert row["duplicates"] == final["posts"] - final["new_posts"], where
        assert row["duplicates"] <= 3 * final["restarts"], where
        assert row["seconds"] < BOUND_S, where
        assert row["final"]["status"] == "ok", where
        assert row["leaks"] == [], where
        # no answer archived twice: every page of the chunk is a page number once
        numbers = [p["__dnflow"]["page"] for p in row["pages"]]
        assert numbers == list(range(1, len(numbers) + 1)), where
        if case is None:
            assert row["summary"]["posts"] == row["summary"]["tweets"] == row["server"]
            # at most the page in flight at the kill is fetched again
            assert row["requests"] <= -(-row["server"] // 100) + 1
            assert row["logins"] == 1  # the rerun took the killed run's session
            continue
        if case.fails_with:
            first = row["first"]
            assert first["status"] == "failed" and case.fails_with in first["error"], where
            assert "\n" not in first["error"]
            if case.env is None:
                assert row["final"]["resumed"]["pages"] >= 2, where  # pages 1-2 were kept
        else:
            assert row["first"]["status"] == "ok", where
        if case.faults and not case.fails_with:
            assert row["final"]["retries"] + row["final"]["refreshes"] >= len(
                [f for f in case.faults if "expired" not in f and "401" not in f]), where
        if "Token" in case.name:
            assert row["final"]["refreshes"] == 1 and row["logins"] == 1, where
        if case.name == "cursor ends at its depth":
            assert row["final"]["restarts"] >= 1, where
        if case.name == "rate limit used up (remaining 0)":
            assert row["final"]["rate_limit_waits"] >= 1, where
