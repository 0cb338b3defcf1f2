"""The Mastodon fault matrix: the real collection code against the fake (two instances
that know overlapping posts), one fault per row, plus a kill -9 of snakemake mid-
collection and a rerun. Every row: nothing lost, nothing doubled, bounded time, and a
clear one-line message where a run fails (the rerun then completes). The table is
printed (fault, posts on the servers, archived, doubles, requests, outcome)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dnflow import optouts
from dnflow.sources.mastodon import collect_window
from dnflow.sources.mastodon_api import Backoff
from dnflow.sources.runs import attempt_stamp

from .mastodonutil import FAST, SEARCH, TOKEN, archived, expected, m_env, make_fake
from .xutil import ROOT, SNAKEMAKE

BOUND_S = 90.0  # a hang, not a slow machine: the waits are real, shrunk by FAST


@dataclass
class Case:
    name: str
    faults: list[str]
    fails_with: str | None = None  # words of the one-line error, when run 1 must fail
    api_kw: dict | None = None
    backoff: Backoff | None = None
    env: dict | None = None  # the rerun's extra environment


CASES = [
    Case("none", []),
    Case("429 with x-ratelimit-reset", ["3=429"]),
    Case("429 without reset", ["3=429-noreset"]),
    Case("500", ["3=500"]),
    Case("503", ["3=503"]),
    Case("connection reset mid-response", ["3=reset"]),
    Case("malformed body", ["3=malformed"]),
    Case("several faults in a row", ["2=503", "3=reset", "4=malformed", "5=429-noreset"]),
    Case("401 mid-run", ["3=401"], "mastodon.social requires login for its hashtag "
                                   "timelines (401 Unauthorized"),
    Case("403 mid-run", ["3=403"], "mastodon.social refused access (403 Forbidden"),
    Case("503 until retries run out", ["3+=503"], "mastodon.social: gave up after 5 retries"),
    Case("429 beyond the wait budget", ["3+=429"], "gave up",
         backoff=replace(FAST, max_wait=2.5)),
    Case("rate limit used up (remaining 0)", [], api_kw={"rate_limit": 2, "rate_window": 1.0}),
    Case("an instance that requires login", [], "fosstodon.org requires login",
         api_kw={"login": ["fosstodon.org"]}, env={"MASTODON_TOKEN": f"fosstodon.org={TOKEN}"}),
]


def run_case(tmp_path: Path, case: Case) -> dict:
    t0 = time.monotonic()
    with make_fake(240, faults=case.faults, reset_in=1.0, **(case.api_kw or {})) as api:
        backoff = case.backoff or FAST
        base = tmp_path / case.name.replace(" ", "_")
        rec = collect_window("s", SEARCH, "once", base, env=m_env(api), backoff=backoff)
        outcome = f"ok, {rec['retries']} retries, {rec['waits']:.1f}s waited"
        first = rec
        if rec["status"] == "failed":
            api.set_faults(None)  # the cause goes away; the next run completes the window
            stamp = attempt_stamp(base / "s", "once")
            rec = collect_window("s", SEARCH, stamp, base, env=m_env(api, **(case.env or {})),
                                 backoff=backoff)
            how = (f"resumed after {rec['resumed']['pages']} pages" if rec["resumed"]
                   else f"chunk kept, {rec['chunk']} adds the rest")
            outcome = f"failed: {first['error'][:50]}… → rerun {rec['status']}, {how}"
        per = archived(base, "s")
        uris = [u for us in per.values() for u in us]
        want = expected(api)
        return {"fault": case.name, "server": len(want), "archived": len(set(uris)),
                "lost": len(want - set(uris)),
                "doubles": sum(len(us) - len(set(us)) for us in per.values()),
                "requests": len(api.requests), "seconds": time.monotonic() - t0,
                "outcome": outcome, "first": first, "final": rec, "base": base}


def kill_nine_row(tmp_path: Path) -> dict:
    """snakemake (under the documented flock cron line) is killed with SIGKILL, process
    group and all, while the collection job is between pages; the next run resumes."""
    work = tmp_path / "kill9"
    work.mkdir()
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": {"fedi": dict(SEARCH, every="6h")}}))
    now = "2026-11-28T07:00:00Z"
    targets = ["data/fedi/summary/summary.json", "data/fedi/runs/2026-11-28T06.json"]
    t0 = time.monotonic()
    with make_fake(240, delay=0.3) as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MASTODON_")}
        env.update(m_env(api), DNFLOW_NOW=now)
        cmd = ["flock", "-n", str(work / ".dnflow.lock"), SNAKEMAKE, *targets, "-s",
               str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2", "--nolock",
               "--configfile", str(cfg)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        cp = work / "data/fedi/raw/.2026-11-28T06.checkpoint.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cp.exists() and sum(s["pages"] for s in json.loads(cp.read_text())[
                    "instances"].values()) >= 2:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        while subprocess.run(["flock", "-n", str(work / ".dnflow.lock"), "true"]).returncode:
            assert time.monotonic() < deadline, "the lock of the killed run was never freed"
            time.sleep(0.05)
        killed_at = sum(s["pages"] for s in json.loads(cp.read_text())["instances"].values())
        assert not (work / "data/fedi/runs/2026-11-28T06.json").exists()
        api.state.delay = 0.0
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        rec = json.loads((work / "data/fedi/runs/2026-11-28T06.json").read_text())
        per = archived(work / "data", "fedi")
        uris = [u for us in per.values() for u in us]
        summary = json.loads((work / "data/fedi/summary/summary.json").read_text())
        want = expected(api)
        return {"fault": "kill -9 snakemake mid-collection", "server": len(want),
                "archived": len(set(uris)), "lost": len(want - set(uris)),
                "doubles": sum(len(us) - len(set(us)) for us in per.values()),
                "requests": len(api.requests), "seconds": time.monotonic() - t0,
                "outcome": f"killed after page {killed_at} → rerun ok, resumed after "
                           f"{rec['resumed']['pages']} pages, summary {summary['tweets']}",
                "first": None, "final": rec, "summary": summary}


def table(rows: list[dict]) -> str:
    head = (f"{'fault':<34} {'server':>6} {'archived':>8} {'dupes':>5} {'reqs':>4} "
            f"{'secs':>5}  outcome")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['fault']:<34} {r['server']:>6} {r['archived']:>8} "
                     f"{r['doubles']:>5} {r['requests']:>4} {r['seconds']:>5.1f}  "
                     f"{r['outcome']}")
    return "\n".join(lines)


def test_fault_matrix(tmp_path, capsys):
    optouts.set_policy({})
    rows = [run_case(tmp_path, case) for case in CASES]
    rows.append(kill_nine_row(tmp_path))
    with capsys.disabled():
        print("\n" + table(rows))
    for case, row in zip(CASES + [None], rows, strict=True):
        where = row["fault"]
        assert row["lost"] == 0 and row["archived"] == row["server"], where
        assert row["doubles"] == 0, where
        assert row["seconds"] < BOUND_S, where
        assert row["final"]["status"] == "ok", where
        if case is None:
            assert row["summary"]["tweets"] == row["server"]
            continue
        if case.fails_with:
            first = row["first"]
            assert first["status"] == "failed" and case.fails_with in first["error"], where
            assert "\n" not in first["error"] and TOKEN not in first["error"]
        else:
            assert row["first"]["status"] == "ok", where
        if case.faults and not case.fails_with:
            assert row["final"]["retries"] >= len(case.faults), where
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
