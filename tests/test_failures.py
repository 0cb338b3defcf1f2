"""Issue 15, class 2: a failure is never sticky. A failed search is shown as failed and
tried again by the next plain run; a write that fails part way (a full disk, at every
point a summary writes) leaves nothing a later run trusts; helpers die with their parent.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dnflow import jobs

from .conftest import ROOT, V2
from .test_pipeline import snakemake, write_config


def _status(work: Path, slug: str) -> str:
    return json.loads((work / "data" / slug / "summary" / "summary.json").read_text())["status"]


def test_a_failed_search_is_retried_by_the_next_plain_run(tmp_path):
    work = tmp_path / "w"
    write_config(work, {
        "sets": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
        "kpop": {"source": "archive", "files": str(V2 / "kpop.jsonl")},
    })
    # a stray file where the search keeps its state: its summary fails
    (work / "data" / "sets").mkdir(parents=True)
    (work / "data" / "sets" / "state").write_text("stray")
    snakemake(work)
    assert _status(work, "sets") == "failed" and _status(work, "kpop") == "ok"
    assert "failed" in (work / "site" / "sets" / "index.html").read_text().lower()
    # the cause stays: each plain run tries again, and the site still says failed
    second = snakemake(work)
    assert "summarize" in second.stderr and _status(work, "sets") == "failed"
    # the cause is gone: the next plain run counts it, and the one after has nothing to do
    (work / "data" / "sets" / "state").unlink()
    snakemake(work)
    assert _status(work, "sets") == "ok"
    last = snakemake(work)
    assert "Nothing to be done" in last.stderr + last.stdout


def _summarize_job(files: list[str], out: Path, limit: int | None) -> int:
    """dnflow.jobs summarize in its own process, its files capped at ``limit`` bytes
    (writes past it fail as on a full disk: EFBIG, the signal ignored)."""
    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    out.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        [sys.executable, "-m", "dnflow.jobs", "summarize", "--outdir", str(out / "summary"),
         "--log", str(out / "job.log"), "--meta", json.dumps({"slug": "t"}), *files],
        preexec_fn=cap, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
        capture_output=True)
    return res.returncode


# every point where a summary's files reach a few sizes: its outputs, state and ids
LIMITS = [1, 100, 1_000, 4_096, 10_000, 40_000, 100_000, 250_000, 600_000]


@pytest.mark.parametrize("limit", LIMITS)
def test_a_write_that_fails_part_way_leaves_nothing_trusted(tmp_path, limit):
    """A full disk at any point of a first summary and of an update: the search fails
    (or its job does), and the next run's outputs are byte for byte a clean run's."""
    first, second = [str(V2 / "2sets.jsonl")], [str(V2 / "2sets.jsonl"), str(V2 / "kpop.jsonl")]
    clean = tmp_path / "clean"
    assert _summarize_job(first, clean, None) == 0
    assert _summarize_job(second, clean, None) == 0
    hurt = tmp_path / "hurt"
    for files in (first, second):
        _summarize_job(files, hurt, limit)  # fails somewhere, or not at all
        assert _summarize_job(files, hurt, None) == 0
    for path in sorted((clean / "summary").iterdir()):
        mine = (hurt / "summary" / path.name).read_bytes()
        if path.name == "summary.json":
            a, b = json.loads(path.read_bytes()), json.loads(mine)
            assert {**a, "generated": 0} == {**b, "generated": 0}
        else:
            assert mine == path.read_bytes(), path.name


def test_the_retry_token_changes_with_each_failure(tmp_path):
    out = tmp_path / "data" / "s" / "summary"
    assert jobs.retry_token(out.parent) == ""
    tokens = set()
    for _ in range(3):
        s = jobs.summarize_search([str(tmp_path / "missing.jsonl")], out, {"slug": "s"},
                                  str(tmp_path / "log"))
        assert s["status"] == "failed"
        tokens.add(jobs.retry_token(out.parent))
        time.sleep(0.001)
    assert len(tokens) == 3 and "" not in tokens
    ok = jobs.summarize_search([str(V2 / "kpop.jsonl")], out, {"slug": "s"},
                               str(tmp_path / "log"))
    assert ok["status"] == "ok" and jobs.retry_token(out.parent) in tokens


def _children(pid: int) -> list[int]:
    try:
        out = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in out]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_helpers_end_when_their_parent_is_killed(tmp_path):
    """A big summary forks counting workers and the users.csv writer; killing the job
    (the OOM killer, a cluster's limit) leaves none of them behind."""
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        data = (V2 / "flat.jsonl").read_bytes()
        for i in range(300):  # distinct ids, so the work is real
            f.write(data.replace(b'"id": "1', f'"id": "{i + 2:03d}'.encode()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import sys; from dnflow.summary import summarize; "
            "summarize([sys.argv[1]], sys.argv[2], {'slug': 't'}, workers=2, "
            "min_parallel_bytes=1, spill_min_bytes=1, spill_keys=50)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(big), str(tmp_path / "out")],
                            env=env)
    helpers: set[int] = set()
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not helpers:
        helpers.update(_children(proc.pid))
        time.sleep(0.01)
    for _ in range(20):  # the others, forked soon after the first
        helpers.update(_children(proc.pid))
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.fail("the summary ended before its helpers could be seen")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(map(_alive, helpers)):
        time.sleep(0.05)
    left = [h for h in helpers if _alive(h)]
    for h in left:  # never leave them running, whatever the test says
        os.kill(h, signal.SIGKILL)
    assert helpers and not left
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
