"""Collection of Mastodon hashtag timelines (dnflow.sources.mastodon) against the fake:
paging and windows, several instances and their coverage, login and tokens, rate
limits, opt-outs, resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import requests

from dnflow import optouts
from dnflow.sources.mastodon import collect_window
from dnflow.sources.mastodon_api import Tokens, cursors, read_tokens
from dnflow.sources.runs import attempt_stamp

from .mastodonutil import (
    FAST,
    INSTANCES,
    SEARCH,
    TAG,
    TOKEN,
    archived,
    chunk_lines,
    expected,
    m_env,
    make_fake,
)


@pytest.fixture(autouse=True)
def default_policy():
    yield
    optouts.set_policy({})


def walk_requests(n: int) -> int:
    """Requests of one walk over ``n`` statuses: pages of 40, then the empty answer that
    ends it (Mastodon marks no last page)."""
    return math.ceil(n / 40) + 1 if n else 1


def per_instance_requests(api, instance: str) -> int:
    return sum(1 for e in api.requests if e["instance"] == instance)


def assert_complete(api, base: Path, slug: str = "s", include: bool = False) -> dict:
    per = archived(base, slug)
    for inst, uris in per.items():
        assert len(uris) == len(set(uris)), f"{inst}: a status archived twice"
    union = set().union(*map(set, per.values())) if per else set()
    assert union == expected(api, include_opted_out=include)
    return per


def test_windows_backwards_first_then_forwards_only_what_is_new(tmp_path):
    with make_fake(300) as api:
        env = m_env(api)
        sizes = {i: len(api.known(i, TAG)) for i in INSTANCES}
        r1 = collect_window("s", SEARCH, "2026-11-28T06", tmp_path, env=env, backoff=FAST)
        assert r1["status"] == "ok" and r1["chunk"] == "2026-11-28T06.jsonl"
        for inst in INSTANCES:
            assert per_instance_requests(api, inst) == walk_requests(sizes[inst])
            assert r1["instances"][inst]["walk"] == "back"
        assert all(e["params"]["limit"] == "40" for e in api.requests)
        per = assert_complete(api, tmp_path)
        # the coverage a researcher cites: what each brought, what was new
        new = {i: r1["instances"][i]["new"] for i in INSTANCES}
        assert sum(new.values()) == r1["new_tweets"] == len(expected(api))
        assert new["fosstodon.org"] == len(set(per["fosstodon.org"]) - set(per["mastodon.social"]))
        assert r1["left_out"] > 0  # the generated accounts include some that opted out

        api.set_faults(None)  # clears the request count too
        before = len(api.requests)
        added = api.add({"generated": 70, "seed": 5})
        assert added > 0
        r2 = collect_window("s", SEARCH, "2026-11-28T12", tmp_path, env=env, backoff=FAST)
        assert r2["status"] == "ok"
        assert {r2["instances"][i]["walk"] for i in INSTANCES} == {"forward"}
        log = api.requests[before:]
        assert all("min_id" in e["params"] and "max_id" not in e["params"] for e in log)
        assert_complete(api, tmp_path)
        assert r2["new_tweets"] == len(expected(api)) - r1["new_tweets"] > 0

        r3 = collect_window("s", SEARCH, "2026-11-28T18", tmp_path, env=env, backoff=FAST)
        assert (r3["status"], r3["new_tweets"], r3["requests"], r3["chunk"]) == ("ok", 0, 2, None)
    raw = sorted(p.name for p in (tmp_path / "s/raw").iterdir())
    assert raw == ["2026-11-28T06.jsonl", "2026-11-28T12.jsonl"]


def test_max_posts_forwards_leaves_no_gap(tmp_path):
    with make_fake(120) as api:
        env = m_env(api)
        collect_window("s", SEARCH, "w1", tmp_path, env=env, backoff=FAST)
        api.add({"generated": 150, "seed": 9})
        limited = dict(SEARCH, max_posts=30)
        r2 = collect_window("s", limited, "w2", tmp_path, env=env, backoff=FAST)
        assert r2["status"] == "ok" and r2["stopped"] == "max_posts"
        assert all(r2["instances"][i]["posts"] <= 30 for i in INSTANCES)
        assert "the next window goes on from there" in r2["note"]
        # the oldest new posts first: the next window takes the rest, nothing skipped
        for w in ("w3", "w4", "w5", "w6", "w7"):
            collect_window("s", limited, w, tmp_path, env=env, backoff=FAST)
        assert_complete(api, tmp_path)


def test_max_posts_on_a_first_collection_says_older_posts_were_left(tmp_path):
    with make_fake(200) as api:
        r = collect_window("s", dict(SEARCH, max_posts=50), "once", tmp_path, env=m_env(api),
                           backoff=FAST)
    assert r["status"] == "ok" and r["stopped"] == "max_posts"
    assert "older posts there were not collected" in r["note"]
    assert {i: len(u) for i, u in archived(tmp_path, "s").items()} == {i: 50 for i in INSTANCES}
    assert all(r["instances"][i]["posts"] == 50 for i in INSTANCES)
    # pages ask for no more than what is still allowed (posts left out do not count)
    for inst in INSTANCES:
        asked = [int(e["params"]["limit"]) for e in api.requests if e["instance"] == inst]
        assert asked[0] == 40 and all(a < 40 for a in asked[1:])


def test_an_instance_that_requires_login_fails_alone_and_says_why(tmp_path):
    with make_fake(200, login=["fosstodon.org"], tokens={"fosstodon.org": TOKEN}) as api:
        r1 = collect_window("s", SEARCH, "once", tmp_path, env=m_env(api), backoff=FAST)
        assert r1["status"] == "failed"
        assert r1["error"] == (
            "fosstodon.org requires login for its hashtag timelines (401 Unauthorized: This "
            "method requires an authenticated user); give a token of an account there in "
            "MASTODON_TOKEN as fosstodon.org=<token>")
        assert r1["instances"]["mastodon.social"]["status"] == "done"
        assert r1["chunk"] == "once.jsonl"  # what the other instance brought is archived
        assert set(archived(tmp_path, "s")) == {"mastodon.social"}

        # a wrong token: refused, named, never shown
        stamp = attempt_stamp(tmp_path / "s", "once")
        r2 = collect_window("s", SEARCH, stamp, tmp_path, backoff=FAST,
                            env=m_env(api, MASTODON_TOKEN="fosstodon.org=wrong-token-123"))
        assert r2["error"] == ("fosstodon.org rejected the token from MASTODON_TOKEN (401 "
                               "Unauthorized: The access token is invalid)")

        # the right one, for that host only: the next attempt completes the collection
        stamp = attempt_stamp(tmp_path / "s", "once")
        assert stamp == "once~3"
        mark = len(api.requests)
        r3 = collect_window("s", SEARCH, stamp, tmp_path, backoff=FAST,
                            env=m_env(api, MASTODON_TOKEN=f"fosstodon.org={TOKEN}"))
        assert r3["status"] == "ok" and r3["chunk"] == "once~3.jsonl"
        log = api.requests[mark:]
        assert {e["instance"] for e in log if e["auth"] == "token"} == {"fosstodon.org"}
        assert all(e["auth"] == "none" for e in log if e["instance"] == "mastodon.social")
    assert_complete(api, tmp_path)
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert "wrong-token-123" not in str(r2)


def test_a_bare_token_goes_only_to_an_instance_that_asked_for_login(tmp_path):
    with make_fake(100, login=["fosstodon.org"]) as api:
        lines: list[str] = []
        r = collect_window("s", SEARCH, "once", tmp_path, env=m_env(api, MASTODON_TOKEN=TOKEN),
                           backoff=FAST, log=lines.append)
        assert r["status"] == "ok"
        fosstodon = [e for e in api.requests if e["instance"] == "fosstodon.org"]
        assert fosstodon[0]["auth"] == "none" and fosstodon[0]["status"] == 401
        assert all(e["auth"] == "token" for e in fosstodon[1:])
        assert all(e["auth"] == "none" for e in api.requests
                   if e["instance"] == "mastodon.social")
        assert any("trying the token from MASTODON_TOKEN" in line for line in lines)
        assert not any(TOKEN in line for line in lines)
    assert_complete(api, tmp_path)


def test_token_file_and_its_errors(tmp_path):
    f = tmp_path / "token"
    f.write_text(f"fosstodon.org={TOKEN}\n# ignored? no: every entry counts\n".split("#")[0])
    assert read_tokens({"MASTODON_TOKEN_FILE": str(f)}).by_host == {"fosstodon.org": TOKEN}
    rec = collect_window("s", SEARCH, "once", tmp_path / "d", backoff=FAST,
                         env={"MASTODON_TOKEN_FILE": str(tmp_path / "missing")})
    assert rec["status"] == "failed"
    assert rec["error"].startswith("MASTODON_TOKEN_FILE: ") and "cannot read it" in rec["error"]
    t = Tokens(by_host={"a": "s3cret"}, fallback="other")
    assert t.scrub("x s3cret y other") == "x *** y ***"


def test_the_link_header_gives_cursors_never_a_place_to_go():
    r = requests.Response()
    r.headers["Link"] = ('<https://evil.example/steal?max_id=123&x=1>; rel="next", '
                         '<https://evil.example/steal?min_id=456>; rel="prev"')
    # only the cursors: the next request goes to the instance's own URL with them
    assert cursors(r) == {"max_id": "123", "min_id": "456"}
    r.headers["Link"] = '<https://evil.example/steal>; rel="next"'
    assert cursors(r) == {}


def test_rate_limit_waits_for_the_reset_instead_of_a_429(tmp_path):
    with make_fake(200, rate_limit=3, rate_window=1.5) as api:
        r = collect_window("s", SEARCH, "once", tmp_path, env=m_env(api), backoff=FAST)
        statuses = [e["status"] for e in api.requests]
    assert r["status"] == "ok" and 429 not in statuses
    assert r["rate_limit_waits"] >= 1
    assert_complete(api, tmp_path)
    # the next job of the data folder learns this instance's last answer
    shared = (tmp_path / ".mastodon-rate-limit.json").read_bytes()
    assert f"{api.url}/mastodon.social".encode() in shared


def test_include_opted_out_archives_everything(tmp_path):
    with make_fake(150) as api:
        r = collect_window("s", dict(SEARCH, include_opted_out=True), "once", tmp_path,
                           env=m_env(api), backoff=FAST)
    assert r["status"] == "ok" and r["left_out"] == 0 and r["include_opted_out"] is True
    assert_complete(api, tmp_path, include=True)
    assert all(line["__dnflow"]["left_out"] == [] for line in chunk_lines(tmp_path, "s"))


def test_opted_out_posts_are_not_stored(tmp_path):
    with make_fake(150) as api:
        collect_window("s", SEARCH, "once", tmp_path, env=m_env(api), backoff=FAST)
        gone = expected(api, include_opted_out=True) - expected(api)
    assert gone
    raw = b"".join(p.read_bytes() for p in (tmp_path / "s/raw").glob("*.jsonl"))
    for uri in gone:
        assert uri.encode() not in raw
    keys = {k for line in chunk_lines(tmp_path, "s") for k in line["__dnflow"]["left_out"]}
    assert keys == {optouts.hidden_key(u) for u in gone}


def test_a_crash_mid_window_resumes_without_loss_or_doubles(tmp_path):
    class Crash(Exception):
        pass

    pages = 0

    def log(line: str) -> None:
        nonlocal pages
        if ": page " in line:
            pages += 1
            if pages == 9:  # in the second instance's walk
                raise Crash

    with make_fake(300) as api:
        with pytest.raises(Crash):
            collect_window("s", SEARCH, "once", tmp_path, env=m_env(api), backoff=FAST, log=log)
        assert not (tmp_path / "s/runs/once.json").exists()
        assert (tmp_path / "s/raw/.once.checkpoint.json").exists()
        mark = len(api.requests)
        r = collect_window("s", SEARCH, "once", tmp_path, env=m_env(api), backoff=FAST)
        assert r["status"] == "ok" and r["resumed"]["pages"] >= 8
        # the second run asked only for what the first had not archived
        done = r["resumed"]["pages"]
        total = sum(walk_requests(len(api.known(i, TAG))) for i in INSTANCES)
        assert len(api.requests) - mark <= total - done + 1
    assert_complete(api, tmp_path)
    assert not (tmp_path / "s/raw/.once.checkpoint.json").exists()


def test_a_window_left_open_is_finished_by_the_next_run(tmp_path):
    with make_fake(200, faults=["4+=503"]) as api:
        r1 = collect_window("s", SEARCH, "2026-11-28T06", tmp_path, env=m_env(api),
                            backoff=FAST)
        assert r1["status"] == "failed" and r1["open"] is True
        assert "gave up after 5 retries" in r1["error"] and r1["error"].startswith(
            "mastodon.social: ")
        api.set_faults(None)
        r2 = collect_window("s", SEARCH, "2026-11-28T12", tmp_path, env=m_env(api),
                            backoff=FAST)
        assert r2["status"] == "ok"
        old = sorted(p.name for p in (tmp_path / "s/runs").iterdir())
        assert old == ["2026-11-28T06.json", "2026-11-28T06~2.json", "2026-11-28T12.json"]
    assert_complete(api, tmp_path)


def test_token_entries():
    t = read_tokens({"MASTODON_TOKEN": "fosstodon.org=abc, localhost:8766=def\nbare+tok=="})
    assert t.by_host == {"fosstodon.org": "abc", "localhost:8766": "def"}
    assert t.fallback == "bare+tok=="  # a bare token may end in "="
    with pytest.raises(Exception, match="more than one token without a host"):
        read_tokens({"MASTODON_TOKEN": "one two"})
    with pytest.raises(Exception, match="the entry for fosstodon.org has no token") as e:
        read_tokens({"MASTODON_TOKEN": "fosstodon.org= x.example=secret"})
    assert "secret" not in str(e.value)
    assert read_tokens({}).secrets == []


def test_a_run_reads_only_the_chunks_earlier_runs_did_not(tmp_path, monkeypatch):
    """What the archive holds (uris for dedup, the forward cursors) is kept in
    data/<slug>/cache/: a cron run parses its new chunks, not the whole archive; a cache
    that does not match the chunks is dropped and every chunk read again."""
    from dnflow.sources import mastodon

    read: list[str] = []
    real = mastodon.Archived.add_file

    def spy(self, path, upto=None):
        read.append(Path(path).name)
        return real(self, path, upto)

    monkeypatch.setattr(mastodon.Archived, "add_file", spy)
    with make_fake(200) as api:
        env = m_env(api)
        collect_window("s", SEARCH, "2026-11-28T06", tmp_path, env=env, backoff=FAST)
        assert read == []
        api.add({"generated": 40, "seed": 5})
        r2 = collect_window("s", SEARCH, "2026-11-28T12", tmp_path, env=env, backoff=FAST)
        assert read == ["2026-11-28T06.jsonl"] and r2["new_tweets"] > 0
        read.clear()
        api.add({"generated": 40, "seed": 6})
        r3 = collect_window("s", SEARCH, "2026-11-28T18", tmp_path, env=env, backoff=FAST)
        assert read == ["2026-11-28T12.jsonl"] and r3["new_tweets"] > 0
        assert_complete(api, tmp_path)  # nothing lost, nothing doubled
        # a damaged cache: every chunk is read, and nothing is archived twice
        (tmp_path / "s" / "cache" / mastodon.ARCHIVED).write_text("{not json")
        read.clear()
        r4 = collect_window("s", SEARCH, "2026-11-29T00", tmp_path, env=env, backoff=FAST)
        assert sorted(read) == ["2026-11-28T06.jsonl", "2026-11-28T12.jsonl",
                                "2026-11-28T18.jsonl"]
        assert r4["new_tweets"] == 0
        assert_complete(api, tmp_path)
