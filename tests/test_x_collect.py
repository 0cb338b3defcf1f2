"""X collection against the fake API: archive format, incremental windows, limits,
expected failures, checkpoint/resume, and the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from dnflow import cli
from dnflow import windows as dnwindows
from dnflow.fakeapi import FakeXAPI, Pool, generated_pool
from dnflow.sources import x as dnx
from dnflow.sources.x import attempt_stamp, collect_window
from dnflow.summary import summarize

from .xutil import FAST, QUERY, TOKEN, archived_ids, chunk_pages, make_api, x_env

SEARCH = {"source": "x", "query": QUERY}


def collect(tmp_path, api, stamp="once", search=SEARCH, token=TOKEN, log=None, **env):
    return collect_window("s", search, stamp, tmp_path, env=x_env(api, token, **env),
                          backoff=FAST, log=log)


class Crash(Exception):
    pass


def crash_after(n_pages):
    """A log function that kills the run (like a crash) once n pages are checkpointed."""
    def log(line):
        if line.startswith(f"page {n_pages}:"):
            raise Crash(line)
    return log


def test_archive_is_every_page_verbatim_plus_provenance(tmp_path):
    with make_api(450, token=TOKEN) as api:
        rec = collect(tmp_path, api)
        expected = api.matching(QUERY)
    assert rec["status"] == "ok" and rec["error"] is None
    assert archived_ids(tmp_path, "s") == expected  # newest first, each once
    assert rec["new_tweets"] == len(expected) and rec["pages"] == -(-len(expected) // 100)
    assert rec["requests"] == rec["pages"] and rec["retries"] == 0
    assert rec["newest_id"] == expected[0] and rec["oldest_id"] == expected[-1]
    raw = tmp_path / "s" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == ["once.jsonl"]  # no partial, no checkpoint
    pages = chunk_pages(tmp_path, "s")
    for i, page in enumerate(pages, 1):
        prov = page["__dnflow"]
        assert prov["query"] == QUERY and prov["endpoint"] == "recent" and prov["page"] == i
        assert prov["url"] == "https://api.twitter.com/2/tweets/search/recent"
        assert prov["version"].startswith("dnflow/") and prov["retrieved_at"]
        assert "expansions" in prov["params"] and "tweet.fields" in prov["params"]
        assert {"data", "includes", "meta"} <= set(page)
        assert ("next_token" in prov["params"]) == (i > 1)
    text = (raw / "once.jsonl").read_text()
    assert TOKEN not in text
    # every requested field and expansion came back: authors, originals in includes
    assert pages[0]["data"][0]["author_id"] and pages[0]["includes"]["users"]
    s = summarize([raw / "once.jsonl"], tmp_path / "summary", {"slug": "s"})
    assert s["tweets"] == len(expected) and s["skipped"] == 0
    assert json.loads((tmp_path / "s" / "runs" / "once.json").read_text()) == rec


def test_incremental_windows_fetch_only_new_tweets(tmp_path):
    with make_api(300, token=TOKEN) as api:
        first = collect(tmp_path, api, "2026-11-28T00")
        n1 = first["new_tweets"]
        api.add({"generated": 60, "seed": 5, "query": QUERY})
        second = collect(tmp_path, api, "2026-11-28T06")
        third = collect(tmp_path, api, "2026-11-28T12")
        expected = api.matching(QUERY)
        since = [e["params"].get("since_id") for e in api.requests]
    assert second["since_id"] == first["newest_id"]
    assert 0 < second["new_tweets"] < 60
    assert since[-1] == second["newest_id"]  # the third window asked only for newer ones
    assert third["status"] == "ok" and third["new_tweets"] == 0 and third["requests"] == 1
    ids = archived_ids(tmp_path, "s")
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids)) == n1 + second[
        "new_tweets"]
    names = sorted(p.name for p in (tmp_path / "s" / "raw").iterdir())
    assert names == ["2026-11-28T00.jsonl", "2026-11-28T06.jsonl"]  # empty window: no chunk
    assert dnx.chunk_files(tmp_path / "s" / "raw") == [
        str(tmp_path / "s" / "raw" / n) for n in names]


def test_max_tweets_stops_paging_exactly(tmp_path):
    with make_api(450, token=TOKEN) as api:
        rec = collect(tmp_path, api, search=dict(SEARCH, max_tweets=150))
        sizes = [e["params"]["max_results"] for e in api.requests]
        expected = api.matching(QUERY)[:150]
    assert archived_ids(tmp_path, "s") == expected
    assert sizes == ["100", "50"]  # the last request asks only for what is allowed
    assert rec["stopped"] == "max_tweets" and "max_tweets" in rec["note"]


def test_monthly_budget(tmp_path):
    search = dict(SEARCH, every="6h", monthly_budget=250)
    with make_api(450, token=TOKEN) as api:
        r1 = collect(tmp_path, api, "2026-11-28T00", search, DNFLOW_NOW="2026-11-28T00:00:00Z")
        api.add({"generated": 40, "seed": 9, "query": QUERY})
        before = len(api.requests)
        r2 = collect(tmp_path, api, "2026-11-28T06", search, DNFLOW_NOW="2026-11-28T06:00:00Z")
        assert len(api.requests) == before  # budget used up: not a single request
        r3 = collect(tmp_path, api, "2026-12-01T00", search, DNFLOW_NOW="2026-12-01T00:00:00Z")
    assert r1["new_tweets"] == 250 and r1["stopped"] == "budget"
    assert r1["budget"] == {"month": "2026-11", "limit": 250, "used": 0}
    assert r2["status"] == "ok" and r2["new_tweets"] == 0 and "used up" in r2["note"]
    assert r3["month"] == "2026-12" and 0 < r3["new_tweets"] <= 40
    ids = archived_ids(tmp_path, "s")
    assert len(ids) == len(set(ids)) == 250 + r3["new_tweets"]


def test_the_token_can_come_from_a_file(tmp_path):
    """X_BEARER_TOKEN_FILE: only a path in the environment (cluster jobs copy it)."""
    token_file = tmp_path / "token"
    with make_api(50, token=TOKEN) as api:
        token_file.write_text(f"{TOKEN}\n")
        rec = collect(tmp_path, api, "2026-11-28T00", token=None,
                      X_BEARER_TOKEN_FILE=str(token_file))
        assert rec["status"] == "ok" and rec["new_tweets"] > 0
        for content, why in (("", "is empty"), (None, "cannot read")):
            if content is None:
                token_file.unlink()
            else:
                token_file.write_text(content)
            rec = collect(tmp_path / why, api, "2026-11-28T00", token=None,
                          X_BEARER_TOKEN_FILE=str(token_file))
            assert rec["status"] == "failed"
            assert rec["error"].startswith(f"X_BEARER_TOKEN_FILE: {token_file}")
            assert why in rec["error"]
    assert TOKEN not in "".join(p.read_text() for p in tmp_path.rglob("*.json"))


def test_missing_token_fails_clearly_and_is_retried(tmp_path):
    with make_api(50, token=TOKEN) as api:
        rec = collect(tmp_path, api, "2026-11-28T00", token=None)
        assert api.requests == []
        assert rec["status"] == "failed"
        assert rec["error"].startswith("X_BEARER_TOKEN is not set")
        base = tmp_path / "s"
        assert attempt_stamp(base, "2026-11-28T00") == "2026-11-28T00~2"
        rec2 = collect(tmp_path, api, "2026-11-28T00~2")
    assert rec2["status"] == "ok" and rec2["window"] == "2026-11-28T00" and rec2["attempt"] == 2
    assert attempt_stamp(base, "2026-11-28T00") == "2026-11-28T00~2"  # ok: nothing more to do
    assert (base / "raw" / "2026-11-28T00.jsonl").exists()


@pytest.mark.parametrize("fault,search,words", [
    ("1=401", SEARCH, ["X_BEARER_TOKEN was rejected", "401"]),
    ("1=403", dict(SEARCH, endpoint="all"), ["403 Forbidden", "attached to a Project",
                                              "Pro or Academic"]),
    (None, dict(SEARCH, query="#climatestrike foo:bar"), ["400 Bad Request",
                                                          "invalid operator"]),
])
def test_refused_requests_fail_at_once_with_the_api_message(tmp_path, fault, search, words):
    with make_api(50, token=TOKEN, faults=[fault] if fault else None) as api:
        rec = collect(tmp_path, api, search=search)
        assert len(api.requests) == 1  # no retry of a refusal
    assert rec["status"] == "failed" and rec["retries"] == 0
    for w in words:
        assert w in rec["error"]
    assert "\n" not in rec["error"]


def test_wrong_token_is_rejected_by_name(tmp_path):
    with make_api(50, token="the-right-one") as api:
        rec = collect(tmp_path, api, token=TOKEN)
    assert rec["status"] == "failed" and "X_BEARER_TOKEN was rejected" in rec["error"]
    assert TOKEN not in json.dumps(rec)


def test_crash_resumes_from_checkpoint_without_doubles(tmp_path):
    with make_api(450, token=TOKEN) as api:
        with pytest.raises(Crash):
            collect(tmp_path, api, log=crash_after(2))
        raw = tmp_path / "s" / "raw"
        cp = json.loads((raw / ".once.checkpoint.json").read_text())
        assert cp["pages"] == 2 and cp["tweets"] == 200 and cp["next_token"]
        assert not (raw / "once.jsonl").exists()
        # a third page that reached the file but not the checkpoint must not count twice
        with open(raw / ".once.partial.jsonl", "ab") as f:
            f.write((raw / ".once.partial.jsonl").read_bytes().splitlines(True)[1])
        n_before = len(api.requests)
        rec = collect(tmp_path, api)
        expected = api.matching(QUERY)
        resumed_with = api.requests[n_before]["params"]
    assert resumed_with["next_token"] == cp["next_token"]
    assert rec["status"] == "ok" and rec["resumed"] == {"pages": 2, "tweets": 200}
    assert rec["new_tweets"] == len(expected)
    assert rec["requests"] == -(-len(expected) // 100) - 2  # only the pages not yet had
    assert archived_ids(tmp_path, "s") == expected
    assert sorted(p.name for p in raw.iterdir()) == ["once.jsonl"]


def test_unfinished_window_is_completed_by_the_next_one(tmp_path):
    search = dict(SEARCH, every="6h")
    with make_api(450, token=TOKEN) as api:
        with pytest.raises(Crash):
            collect(tmp_path, api, "2026-11-28T00", search, log=crash_after(1))
        api.add({"generated": 60, "seed": 5, "query": QUERY})
        rec = collect(tmp_path, api, "2026-11-28T06", search)
        expected = api.matching(QUERY)
    old = json.loads((tmp_path / "s" / "runs" / "2026-11-28T00.json").read_text())
    assert old["status"] == "ok" and "completed by the run of window 2026-11-28T06" in old["note"]
    assert rec["status"] == "ok" and rec["since_id"] == old["newest_id"]
    ids = archived_ids(tmp_path, "s")
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))


def test_expired_next_token_continues_below_the_oldest_archived(tmp_path):
    with make_api(450, token=TOKEN) as api:
        with pytest.raises(Crash):
            collect(tmp_path, api, log=crash_after(2))
        cp = json.loads((tmp_path / "s" / "raw" / ".once.checkpoint.json").read_text())
        api.set_faults(["1=400:The `next_token` query parameter value [x] is not valid"])
        n = len(api.requests)
        rec = collect(tmp_path, api)
        expected = api.matching(QUERY)
        refused, retried = api.requests[n:n + 2]
        assert refused["status"] == 400 and "next_token" in refused["params"]
        assert retried["params"]["until_id"] == cp["oldest_id"]
    assert rec["status"] == "ok"
    assert archived_ids(tmp_path, "s") == expected


def test_since_id_older_than_recent_search_reach(tmp_path):
    """Cron stopped for 8 days: the API refuses the old since_id; the last 7 days are
    taken, a gap is recorded, and nothing already archived comes back."""
    t0 = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    clock = {"now": t0}
    pool = Pool(generated_pool(300, 7, query=QUERY, start="2026-11-10T00:00:00Z", days=10))
    with FakeXAPI(pool, token=TOKEN, recent_days=7, now=lambda: clock["now"]) as api:
        first = collect(tmp_path, api, "2026-11-20")
        assert first["status"] == "ok"
        clock["now"] = t0 + 9 * 86400
        pool.add(generated_pool(80, 3, query=QUERY, start="2026-11-27T00:00:00Z", days=1))
        second = collect(tmp_path, api, "2026-11-29")
        statuses = [e["status"] for e in api.requests]
    assert statuses[-2:] == [400, 200]
    assert second["status"] == "ok" and "since_id" in second["note"]
    ids = archived_ids(tmp_path, "s")
    assert len(ids) == len(set(ids)) and second["new_tweets"] > 0


def test_rate_limit_remaining_zero_waits_for_the_reset(tmp_path):
    with make_api(450, token=TOKEN, rate_limit=2, rate_window=1.0) as api:
        rec = collect(tmp_path, api)
        expected = api.matching(QUERY)
        statuses = [e["status"] for e in api.requests]
    assert rec["status"] == "ok" and rec["rate_limit_waits"] >= 1 and rec["waits"] > 0
    assert 429 not in statuses  # paced on x-rate-limit-remaining, not by provoking a 429
    assert archived_ids(tmp_path, "s") == expected


def test_windows_and_stamps(monkeypatch):
    at = datetime(2026, 11, 28, 7, 44, 10, tzinfo=UTC)
    assert dnwindows.stamp(None, at) == "once"
    assert dnwindows.stamp("6h", at) == "2026-11-28T06"
    assert dnwindows.stamp("15m", at) == "2026-11-28T0730"
    assert dnwindows.stamp("1d", at) == "2026-11-28"
    assert dnwindows.stamp("2d", at) in ("2026-11-27", "2026-11-28")
    monkeypatch.setenv("DNFLOW_NOW", "2026-11-28T18:20:00Z")
    assert dnwindows.stamp("6h") == "2026-11-28T18"
    assert dnwindows.current_stamps({"a": {"source": "x", "every": "1h"},
                                     "b": {"source": "demo"}}) == {"a": "2026-11-28T18"}
    assert dnwindows.month_of(dnwindows.now()) == "2026-11"
    monkeypatch.setenv("DNFLOW_NOW", "yesterday")
    with pytest.raises(ValueError, match="DNFLOW_NOW"):
        dnwindows.now()
    with pytest.raises(ValueError):
        dnwindows.parse_every("6 hours")


def write_config(path: Path, searches: dict) -> Path:
    path.write_text(json.dumps({"searches": searches}))  # JSON is YAML
    return path


def test_cli_collect_and_estimate(tmp_path, monkeypatch, capsys):
    cfg = write_config(tmp_path / "s.yaml", {
        "climate": dict(SEARCH, every="6h", max_tweets=1000, monthly_budget=100),
        "archive": {"source": "demo", "tweets": 10},
    })
    monkeypatch.setenv("DNFLOW_NOW", "2026-11-28T07:00:00Z")  # the pool spans the 7 days before
    with make_api(450, token=TOKEN) as api:
        for k, v in x_env(api).items():
            monkeypatch.setenv(k, v)
        assert cli.main(["estimate", "--config", str(cfg)]) == 0
        out = capsys.readouterr().out
        row = next(line for line in out.splitlines() if line.startswith("climate"))
        assert f"{len(api.matching(QUERY)):,}" in row and "over monthly_budget 100" in row
        assert "archive" not in out  # only X searches are estimated
        assert cli.main(["collect", "climate", "--config", str(cfg),
                         "--data", str(tmp_path / "data")]) == 0
        assert "climate 2026-11-28T06: ok, 100 tweets" in capsys.readouterr().out
        monkeypatch.delenv("X_BEARER_TOKEN")
        assert cli.main(["estimate", "--config", str(cfg)]) == 1
        assert "X_BEARER_TOKEN is not set" in capsys.readouterr().out
    rec = orjson.loads((tmp_path / "data/climate/runs/2026-11-28T06.json").read_bytes())
    assert rec["new_tweets"] == 100


def test_without_api_url_requests_go_to_the_real_host():
    t = dnx.Transport("t")
    adapter = t.client.session.get_adapter("https://api.twitter.com/2/tweets/search/recent")
    assert isinstance(adapter, dnx._Adapter) and adapter.base_url is None
    assert adapter.timeout == 60.0
    t = dnx.Transport("t", api_url="http://127.0.0.1:9/")
    adapter = t.client.session.get_adapter("https://api.twitter.com/2/tweets/search/recent")
    assert adapter.base_url == "http://127.0.0.1:9" and t.client.session.trust_env is False


def test_failed_window_is_completed_later_as_its_next_attempt(tmp_path):
    search = dict(SEARCH, every="6h")
    with make_api(450, token=TOKEN, faults=["3+=503"]) as api:
        failed = collect(tmp_path, api, "2026-11-28T00", search)
        assert failed["status"] == "failed" and failed["pages"] == 2
        api.set_faults(None)
        rec = collect(tmp_path, api, "2026-11-28T06", search)
        expected = api.matching(QUERY)
    runs = tmp_path / "s" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [
        "2026-11-28T00.json", "2026-11-28T00~2.json", "2026-11-28T06.json"]
    done = json.loads((runs / "2026-11-28T00~2.json").read_text())
    assert done["status"] == "ok" and done["attempt"] == 2 and done["resumed"]["pages"] == 2
    assert rec["status"] == "ok" and rec["new_tweets"] == 0
    ids = archived_ids(tmp_path, "s")
    assert ids == expected


def test_crash_after_the_last_page_finishes_without_a_request(tmp_path):
    with make_api(150, token=TOKEN) as api:
        pages = -(-len(api.matching(QUERY)) // 100)
        with pytest.raises(Crash):
            collect(tmp_path, api, log=crash_after(pages))  # dies before the rename
        n = len(api.requests)
        rec = collect(tmp_path, api)
        assert len(api.requests) == n
        expected = api.matching(QUERY)
    assert rec["status"] == "ok" and rec["requests"] == 0
    assert archived_ids(tmp_path, "s") == expected
