"""Bluesky collection against the fake API: paging, windows, the cursor's depth, the
shared session and its file, credentials, and what never leaves the job."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import orjson
import pytest

from dnflow.sources.bluesky import collect_window
from dnflow.sources.bluesky_client import SessionStore, state_dir
from dnflow.sources.runs import attempt_stamp
from dnflow.summary import summarize

from .bskyutil import (
    FAST,
    HANDLE,
    PASSWORD,
    QUERY,
    archived_uris,
    bsky_env,
    chunk_pages,
    leaks,
    make_api,
)

SEARCH = {"source": "bluesky", "query": QUERY}


def collect(api, tmp_path, stamp="once", search=SEARCH, slug="s", **env):
    e = bsky_env(api, tmp_path / "dnflow-state", **env)
    return collect_window(slug, search, stamp, tmp_path / "data", env=e, backoff=FAST)


def session_file(tmp_path) -> Path:
    (path,) = (tmp_path / "dnflow-state" / "dnflow").glob("bluesky-session-*.json")
    return path


def test_collects_everything_once_in_full_pages(tmp_path):
    with make_api(450) as api:
        rec = collect(api, tmp_path)
        want = api.matching(QUERY)
        searches = api.searches()
    assert rec["status"] == "ok" and rec["new_posts"] == rec["posts"] == len(want)
    uris = archived_uris(tmp_path / "data", "s")
    assert uris == want  # newest first, each once
    pages = chunk_pages(tmp_path / "data", "s")
    assert [len(p["posts"]) for p in pages[:-1]] == [100] * (len(pages) - 1)
    assert len(searches) == len(pages) == -(-len(want) // 100)  # no request wasted
    assert rec["requests"] == len(searches) + 1 and rec["logins"] == 1  # + the login
    prov = pages[0]["__dnflow"]
    assert prov["query"] == QUERY and prov["params"]["limit"] == 100 and prov["page"] == 1
    assert prov["url"].endswith("/xrpc/app.bsky.feed.searchPosts")
    assert all("cursor" in p for p in pages[:-1]) and "cursor" not in pages[-1]
    # the chunk is what the summary reads: every post counted once
    s = summarize([tmp_path / "data/s/raw/once.jsonl"], tmp_path / "summary",
                  {"slug": "s", "source": "bluesky"})
    assert s["posts"] == len(want) and s["skipped"] == 0


def test_windows_ask_since_the_newest_with_an_overlap(tmp_path):
    with make_api(300) as api:
        first = collect(api, tmp_path, "2026-11-28T06")
        n1 = first["new_posts"]
        api.add({"generated": 120, "seed": 5, "query": QUERY})
        second = collect(api, tmp_path, "2026-11-28T12")
        third = collect(api, tmp_path, "2026-11-28T18")  # nothing new
        want = api.matching(QUERY)
        logins = api.logins()
        calls = api.searches()
    assert second["status"] == "ok" and second["since"]
    assert n1 + second["new_posts"] == len(want)
    assert third["new_posts"] == 0 and third["requests"] == 1
    # the overlap's posts come again (verbatim in the archive) and are counted once
    uris = archived_uris(tmp_path / "data", "s")
    assert set(uris) == set(want)
    dupes = len(uris) - len(set(uris))
    assert dupes == (second["posts"] - second["new_posts"]) + (third["posts"]
                                                              - third["new_posts"])
    # the first window asks for everything, the later ones since newest − overlap
    first_calls = -(-n1 // 100)
    assert all("since" not in c["params"] for c in calls[:first_calls])
    assert all(c["params"]["since"] == second["since"] for c in calls[first_calls:-1])
    assert calls[-1]["params"]["since"] == third["since"] >= second["since"]
    chunks = sorted(str(p) for p in (tmp_path / "data/s/raw").glob("*.jsonl"))
    s = summarize(chunks, tmp_path / "summary", {"slug": "s", "source": "bluesky"})
    assert s["posts"] == len(want)
    assert logins == 1  # three windows, one login: the session is saved and reused


def test_cursor_depth_walks_back_with_until(tmp_path):
    """The real cursor ends at 10,000 posts: the collection goes on below the oldest
    post seen, and loses and doubles nothing (posts of the boundary instant come again
    and are counted once)."""
    with make_api(14_400) as api:
        want = api.matching(QUERY)
        assert len(want) > 10_000
        rec = collect(api, tmp_path)
        calls = api.searches()
    assert rec["status"] == "ok" and rec["restarts"] == 1
    uris = archived_uris(tmp_path / "data", "s")
    assert set(uris) == set(want) and rec["new_posts"] == len(want)
    assert len(uris) - len(set(uris)) == rec["posts"] - rec["new_posts"] <= 5
    assert "until" not in calls[99]["params"] and calls[100]["params"]["until"] == rec["until"]
    assert len(calls) <= -(-len(want) // 100) + 1


def test_max_posts_stops_a_window(tmp_path):
    with make_api(450) as api:
        rec = collect(api, tmp_path, search=dict(SEARCH, max_posts=150))
        calls = api.searches()
    assert rec["new_posts"] == 150 and rec["stopped"] == "max_posts"
    assert "max_posts" in rec["note"]
    assert [c["params"]["limit"] for c in calls] == ["100", "50"]


def test_lang_and_since_until_reach_the_api(tmp_path):
    search = dict(SEARCH, lang="fr", since="2020-01-01T00:00:00Z", until="2100-01-01")
    with make_api(600) as api:
        rec = collect(api, tmp_path, search=search)
        want = api.matching(QUERY, since="2020-01-01T00:00:00Z", lang="fr")
        call = api.searches()[0]["params"]
    assert call["lang"] == "fr" and call["since"] == "2020-01-01T00:00:00Z"
    assert call["until"] == "2100-01-01"
    assert rec["new_posts"] == len(want) > 0
    assert set(archived_uris(tmp_path / "data", "s")) == set(want)


# ------------------------------------------------------------------ the session


def test_session_file_outside_the_project_mode_600_reused_and_refreshed(tmp_path):
    with make_api(120, access_ttl=3600) as api:
        for slug in ("a", "b", "c"):
            assert collect(api, tmp_path, slug=slug)["status"] == "ok"
        assert api.logins() == 1 and api.refreshes() == 0
        path = session_file(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert not str(path).startswith(str(tmp_path / "data"))
        # the access token expires between runs: refreshed, not a new login
        api.expire_sessions()
        rec = collect(api, tmp_path, slug="d")
        assert rec["refreshes"] == 1 and rec["logins"] == 0
        assert api.logins() == 1 and api.refreshes() == 1
        # both tokens refused (the session was revoked): one new login
        api.state.revoked.update(api.state.tokens)
        rec = collect(api, tmp_path, slug="e")
        assert rec["status"] == "ok" and rec["logins"] == 1
        secrets = api.secrets()
    assert leaks(tmp_path / "data", secrets) == []
    assert state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/dnflow")
    assert state_dir({"HOME": "/home/u"}) == Path("/home/u/.local/state/dnflow")


def _collect_in_a_process(args: tuple) -> dict:
    url, tmp, slug = args
    env = bsky_env(None, Path(tmp) / "dnflow-state", DNFLOW_BLUESKY_API_URL=url)
    return collect_window(slug, SEARCH, "once", Path(tmp) / "data", env=env, backoff=FAST)


def test_parallel_jobs_log_in_once(tmp_path):
    """Collection jobs are processes: started together, one logs in (under the session
    file's lock) and the others take its session."""
    with make_api(120, delay=0.05) as api:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(3) as pool:
            recs = pool.map(_collect_in_a_process,
                            [(api.url, str(tmp_path), s) for s in ("a", "b", "c")])
        assert [r["status"] for r in recs] == ["ok"] * 3
        assert api.logins() == 1
        assert sorted(r["logins"] for r in recs) == [0, 0, 1]


def test_session_never_in_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with make_api(50) as api:
        rec = collect(api, tmp_path, XDG_STATE_HOME=str(tmp_path / "data" / "state"))
        assert api.requests == []
    assert rec["status"] == "failed"
    assert "inside the project's data/" in rec["error"] and "XDG_STATE_HOME" in rec["error"]
    with pytest.raises(Exception, match="inside the project's logs/"):
        SessionStore(tmp_path / "logs" / "s", "http://x", HANDLE, workdir=tmp_path)


# ------------------------------------------------------------------ credentials


def test_missing_credentials_fail_with_the_variable_named(tmp_path):
    with make_api(50) as api:
        rec = collect(api, tmp_path, password=None)
        assert rec["status"] == "failed"
        assert rec["error"].startswith("BLUESKY_APP_PASSWORD is not set")
        rec = collect(api, tmp_path, stamp=attempt_stamp(tmp_path / "data/s", "once"),
                      BLUESKY_HANDLE="")
        assert rec["error"].startswith("BLUESKY_HANDLE is not set")
        assert api.requests == []


def test_password_file(tmp_path):
    secret = tmp_path / "bsky-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    with make_api(50) as api:
        rec = collect(api, tmp_path, password=None, BLUESKY_APP_PASSWORD_FILE=str(secret))
        assert rec["status"] == "ok" and api.logins() == 1
        empty = tmp_path / "empty"
        empty.write_text("")
        rec = collect(api, tmp_path, slug="t", password=None,
                      BLUESKY_APP_PASSWORD_FILE=str(empty))
        assert rec["error"] == f"BLUESKY_APP_PASSWORD_FILE: {empty} is empty (it should hold " \
                               "the app password on its first line)"
        rec = collect(api, tmp_path, slug="u", password=None,
                      BLUESKY_APP_PASSWORD_FILE=str(tmp_path / "nope"))
        assert "cannot read it" in rec["error"]


def test_wrong_password_fails_clearly_and_never_shows_it(tmp_path):
    wrong = "wrong-app-password-DO-NOT-LEAK"
    with make_api(50) as api:
        rec = collect(api, tmp_path, password=wrong)
    assert rec["status"] == "failed"
    assert rec["error"].startswith(f"Bluesky refused the login of {HANDLE} (401 "
                                   "AuthenticationRequired: Invalid identifier or password)")
    assert "\n" not in rec["error"]
    assert leaks(tmp_path, [wrong, PASSWORD]) == []


# ------------------------------------------------------------------ resume


def test_an_unfinished_window_is_finished_by_the_next_run(tmp_path):
    with make_api(450, faults=["3+=400:upstream refused the query"]) as api:
        first = collect(api, tmp_path, "2026-11-28T06")
        assert first["status"] == "failed" and "400 InvalidRequest" in first["error"]
        assert (tmp_path / "data/s/raw/.2026-11-28T06.checkpoint.json").exists()
        api.set_faults(None)
        rec = collect(api, tmp_path, "2026-11-28T12")
        want = api.matching(QUERY)
    assert rec["status"] == "ok"
    finished = json.loads((tmp_path / "data/s/runs/2026-11-28T06~2.json").read_text())
    assert finished["status"] == "ok" and finished["resumed"]["pages"] == 2
    uris = archived_uris(tmp_path / "data", "s")
    assert set(uris) == set(want)
    assert len(uris) - len(set(uris)) == rec["posts"] - rec["new_posts"]  # the overlap only


def test_a_complete_chunk_without_its_record_is_recovered(tmp_path):
    with make_api(250) as api:
        rec = collect(api, tmp_path)
        (tmp_path / "data/s/runs/once.json").unlink()
        n = len(api.requests)
        again = collect(api, tmp_path)
        assert len(api.requests) == n  # nothing fetched
    assert again["status"] == "ok" and again["new_posts"] == rec["new_posts"]
    assert "recovered" in again["note"]


def test_raw_answers_are_verbatim(tmp_path):
    """Each archived line is the API's answer as it came, plus only "__dnflow"."""
    with make_api(150) as api:
        collect(api, tmp_path)
        token = api.state.issue("access", 60)
        import requests

        r = requests.get(api.url + "/xrpc/app.bsky.feed.searchPosts", timeout=10,
                         params={"q": QUERY, "limit": 100, "sort": "latest"},
                         headers={"Authorization": f"Bearer {token}"})
    line = orjson.loads((tmp_path / "data/s/raw/once.jsonl").read_bytes().splitlines()[0])
    line.pop("__dnflow")
    assert line == r.json()
    assert os.path.getsize(tmp_path / "data/s/raw/once.jsonl") > 0


def test_cli_collect(tmp_path, monkeypatch, capsys):
    from dnflow import cli

    cfg = tmp_path / "s.yaml"
    cfg.write_text(json.dumps({"searches": {"sky": dict(SEARCH, every="6h")}}))
    monkeypatch.setenv("DNFLOW_NOW", "2026-11-28T07:00:00Z")
    with make_api(150) as api:
        for k, v in bsky_env(api, tmp_path / "dnflow-state").items():
            monkeypatch.setenv(k, v)
        assert cli.main(["collect", "sky", "--config", str(cfg),
                         "--data", str(tmp_path / "data")]) == 0
        n = len(api.matching(QUERY))
    out = capsys.readouterr().out
    assert out.startswith(f"sky 2026-11-28T06: ok, {n} posts, ")
    assert PASSWORD not in out


def test_the_overlap_reads_only_the_newest_pages(tmp_path, monkeypatch):
    """The next window's since and the uris it will see again come from the first pages
    of the last chunk, not from the whole archive."""
    from dnflow.sources import bluesky

    with make_api(450) as api:
        collect(api, tmp_path, "2026-11-28T06")
        api.add({"generated": 200, "seed": 5, "query": QUERY, "days": 0.1})
        collect(api, tmp_path, "2026-11-28T12")
    raw = tmp_path / "data/s/raw"
    pages = [p for name in ("2026-11-28T06.jsonl", "2026-11-28T12.jsonl")
             for p in bluesky._pages(raw / name)]
    read: list[str] = []
    real = bluesky._iter_pages

    def counting(path):
        for page in real(path):
            read.append(path.name)
            yield page

    monkeypatch.setattr(bluesky, "_iter_pages", counting)
    newest, uris = bluesky.overlap(raw, 600.0)
    views = [v for p in pages for v in p["posts"]]
    assert newest == max(bluesky.sort_at(v) for v in views)
    assert uris == {v["uri"] for v in views if bluesky.sort_at(v) >= newest - 600}
    assert read and set(read) == {"2026-11-28T12.jsonl"} and len(read) < len(pages)
