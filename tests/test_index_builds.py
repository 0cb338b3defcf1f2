"""Issue 15, class 3: the index always builds. A failure outside the summary step (a demo
generator on a full disk, a collection job that raises, a summary process killed) leaves
site/index.html built with that search marked failed and its reason given, and the next
run does the missing work; archive paths with any characters work (class 8: a file
reached by two names is read and published once, a symbolic link publishes its target).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow import jobs
from dnflow.jobs_collect import brace_free, shown_path
from dnflow.site.rescue import failed_jobs

from .conftest import ROOT, V2
from .test_pipeline import SNAKEMAKE, snakemake, write_config


def _run_on_a_small_disk(work: Path, limit: int) -> subprocess.CompletedProcess:
    """snakemake with every file it and its jobs write capped at ``limit`` bytes (writes
    past it fail with EFBIG, as on a full disk)."""
    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
         "--configfile", str(work / "searches.yaml")],
        capture_output=True, text=True, timeout=300, preexec_fn=cap,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def _index(work: Path) -> str:
    return (work / "site" / "index.html").read_text(encoding="utf-8")


def test_a_generator_that_fails_leaves_the_index_built_and_the_next_run_recovers(tmp_path):
    work = tmp_path / "w"
    write_config(work, {"small": {"source": "demo", "tweets": 40, "seed": 2},
                        "big": {"source": "demo", "tweets": 60000, "seed": 3}})
    res = _run_on_a_small_disk(work, 2_000_000)  # the big demo's archive does not fit
    assert res.returncode != 0
    index = _index(work)
    assert "File too large" in index and "generate_raw" in index
    page = (work / "site" / "big" / "index.html").read_text(encoding="utf-8")
    assert "failed" in page.lower() and "File too large" in page
    assert "File too large" not in (work / "site" / "small" / "index.html").read_text()
    assert not (work / "data" / "big" / "summary").exists()  # nothing in data/ pretends
    # the disk has room again: the next plain run makes what was missing
    snakemake(work)
    summary = json.loads((work / "data" / "big" / "summary" / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["tweets"] == 60000
    assert "File too large" not in _index(work)
    assert "60,000" in (work / "site" / "big" / "index.html").read_text(encoding="utf-8")
    last = snakemake(work)
    assert "Nothing to be done" in last.stderr + last.stdout


def test_a_collection_job_that_raises_is_a_failed_run_and_tried_again(tmp_path, monkeypatch):
    work = tmp_path / "w"
    write_config(work, {"small": {"source": "demo", "tweets": 40, "seed": 2},
                        "live": {"source": "x", "query": "#a"}})
    monkeypatch.setenv("X_BEARER_TOKEN", "t0ken")
    monkeypatch.setenv("DNFLOW_X_API_URL", "http://[::1")  # not a URL: requests raises
    snakemake(work)
    runs = sorted((work / "data" / "live" / "runs").glob("*.json"))
    assert [json.loads(p.read_text())["status"] for p in runs] == ["failed"]
    assert "Invalid IPv6 URL" in _index(work)
    snakemake(work)  # the failed window is tried again (its next attempt)
    runs = sorted((work / "data" / "live" / "runs").glob("*.json"))
    assert [p.name for p in runs] == ["once.json", "once~2.json"]


def test_a_summary_process_that_is_killed_writes_a_failed_summary(tmp_path):
    out = tmp_path / "summary"
    token = jobs.retry_token(tmp_path)
    log = tmp_path / "job.log"

    def killed_by_the_oom_killer():
        os.kill(os.getpid(), signal.SIGKILL)

    jobs.supervised(killed_by_the_oom_killer, [str(V2 / "kpop.jsonl")], out,
                    {"slug": "k", "title": "K"}, str(log))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and "SIGKILL" in summary["error"]
    assert "out of memory" in summary["error"]
    assert jobs.retry_token(tmp_path) != token  # the next run tries again
    assert "SIGKILL" in log.read_text()
    # a job that finishes leaves its own summary alone
    jobs.supervised(lambda: None, [], tmp_path / "other", {"slug": "o"}, str(log))
    assert not (tmp_path / "other").exists()


def test_archive_paths_with_any_characters(tmp_path):
    work = tmp_path / "w"
    odd = work / "in<{x}> 'q' \"d\" $HOME;"
    odd.mkdir(parents=True)
    (odd / "k {a}.jsonl").write_bytes((V2 / "kpop.jsonl").read_bytes())
    # a glob through a symbolic link loop names the same file many times
    (odd / "loop").symlink_to(".", target_is_directory=True)
    rel = work / "rel"
    rel.mkdir()
    (rel / "sets.jsonl").symlink_to(os.path.relpath(V2 / "2sets.jsonl", rel))
    write_config(work, {
        "odd": {"source": "archive", "files": f"{odd.name}/**/*.jsonl",
                "publish": "everything"},
        "linked": {"source": "archive", "files": "rel/sets.jsonl", "publish": "everything"},
    })
    snakemake(work)
    odd_summary = json.loads((work / "data" / "odd" / "summary" / "summary.json").read_text())
    assert odd_summary["status"] == "ok" and odd_summary["tweets"] == 100
    assert [s["path"] for s in odd_summary["sources"]] == [f"{odd.name}/k {{a}}.jsonl"]
    raw = work / "site" / "odd" / "downloads" / "raw"
    assert [p.name for p in raw.iterdir()] == ["k {a}.jsonl"]
    linked = work / "site" / "linked" / "downloads" / "raw" / "sets.jsonl"
    assert not linked.is_symlink() and linked.read_bytes() == (V2 / "2sets.jsonl").read_bytes()
    assert "Nothing to be done" in "".join(snakemake(work).stderr.splitlines()[-3:])


def test_failed_jobs_are_read_from_snakemakes_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "Error in rule collect:\n    message: None\n    jobid: 3\n"
        "    output: data/live/runs/once.json\n"
        "    log: logs/collect/live/once.log (check log file(s) for error details)\n\n"
        "Error in rule summarize:\n    jobid: 5\n"
        "    output: data/other/summary/summary.json, data/other/summary/tweets.csv\n"
        "    log: logs/summarize/other.log (check log file(s) for error details)\n"
        "Error in rule page:\n    output: site/unknown/index.html\n")
    assert failed_jobs(log, {"live", "other"}) == {
        "live": ("collect", "logs/collect/live/once.log"),
        "other": ("summarize", "logs/summarize/other.log")}


NAME = st.text(st.one_of(st.sampled_from(list("{}<>'\"$;&|* ()[]#%\\`~!é—")),
                         st.characters(blacklist_categories=("Cs", "Cc"),
                                       blacklist_characters="/\x00")),
               min_size=1, max_size=24).filter(lambda n: n not in (".", ".."))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(folder=NAME, name=NAME)
def test_any_archive_name_reaches_snakemake_without_braces(tmp_path_factory, folder, name):
    """Generated file names: what Snakemake is given holds no brace (it would read one
    as a wildcard), names the same file, and the summary shows the name as given."""
    work = tmp_path_factory.mktemp("names")
    (work / folder).mkdir()
    (work / folder / name).write_bytes(b"{}\n")
    rel = os.path.join(folder, name)
    old = os.getcwd()
    os.chdir(work)
    try:
        [given_path] = brace_free("s", [rel])
        assert "{" not in given_path and "}" not in given_path
        assert os.path.samefile(given_path, rel)
        assert shown_path(given_path) == os.path.normpath(rel)
    finally:
        os.chdir(old)
