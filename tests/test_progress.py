"""Issue 15, class 9: long work shows progress, in the job log and on the terminal, at
intervals: posts so far, the rate, the share of bytes read and the time to go."""

from __future__ import annotations

import io
import re

from dnflow.generate import write_archive
from dnflow.jobs_collect import Echo
from dnflow.summary import summarize

from .test_incremental import Log

LINE = re.compile(r"^progress: (?:about )?([\d,]+) posts counted, [\d,]+/s; (\d+)% of "
                  r"[\d.]+ [kMG]?B read \([\d.]+ [kMG]?B/s\)")


def test_a_summary_reports_progress_at_intervals(tmp_path, monkeypatch):
    archive = tmp_path / "a.jsonl"
    write_archive(archive, 30000, 5, page_size=100)
    monkeypatch.setenv("DNFLOW_PROGRESS_SECONDS", "0.05")
    log = Log()
    summary = summarize([archive], tmp_path / "out", {"slug": "p"}, log=log, workers=2,
                        min_parallel_bytes=0)
    lines = [m for line in "".join(log).splitlines() if (m := LINE.match(line))]
    assert len(lines) >= 2, "".join(log)[:2000]
    posts = [int(m.group(1).replace(",", "")) for m in lines]
    shares = [int(m.group(2)) for m in lines]
    assert posts == sorted(posts) and shares == sorted(shares)
    assert 0 < posts[-1] <= summary["tweets"] * 2 and 0 < shares[-1] <= 100


def test_a_short_summary_prints_nothing(tmp_path, monkeypatch):
    archive = tmp_path / "a.jsonl"
    write_archive(archive, 50, 5)
    monkeypatch.delenv("DNFLOW_PROGRESS_SECONDS", raising=False)
    log = Log()
    summarize([archive], tmp_path / "out", {"slug": "p"}, log=log)
    assert "progress:" not in "".join(log)


def test_a_collection_echoes_a_line_at_intervals_and_its_end(monkeypatch):
    monkeypatch.setenv("DNFLOW_PROGRESS_SECONDS", "3600")
    log, terminal = io.StringIO(), io.StringIO()
    echo = Echo(log, terminal)
    for n in range(5):
        echo.write(f"2026-12-02T00:00:00Z s once: page {n}: 100 tweets\n")
    echo.write("2026-12-02T00:00:00Z s once: done: 500 tweets in 5 pages\n")
    assert log.getvalue().count("page ") == 5
    done = "2026-12-02T00:00:00Z s once: done: 500 tweets in 5 pages\n"
    assert terminal.getvalue() == "dnflow: " + done
    monkeypatch.setenv("DNFLOW_PROGRESS_SECONDS", "0")
    terminal = io.StringIO()
    echo = Echo(io.StringIO(), terminal)
    echo.write("2026-12-02T00:00:00Z s once: page 1: 100 tweets\n")
    assert "page 1" in terminal.getvalue()
