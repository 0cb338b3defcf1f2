"""The loopback fake X API has the semantics collection depends on."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import orjson
import pytest
import requests

from dnflow.fakeapi import FakeXAPI, Pool, QueryError, compile_query, recorded_pool

from .conftest import V2
from .xutil import QUERY, TOKEN, make_api

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECENT = "/2/tweets/search/recent"


@pytest.fixture(scope="module")
def api():
    with make_api(450, token=TOKEN) as api:
        yield api


def get(api, path=RECENT, headers=AUTH, **params):
    return requests.get(api.url + path, params=params, headers=headers, timeout=10)


def all_pages(api, path=RECENT, **params):
    pages, token = [], None
    while True:
        p = dict(params, **({"next_token": token} if token else {}))
        r = get(api, path, **p)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        token = r.json()["meta"].get("next_token")
        if not token:
            return pages


def test_bearer_token_required(api):
    r = get(api, headers={}, query=QUERY)
    assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
    r = get(api, headers={"Authorization": "Bearer wrong"}, query=QUERY)
    assert r.status_code == 401
    assert all(TOKEN not in orjson.dumps(e).decode() for e in api.requests)


def test_pagination_newest_first_each_tweet_once(api):
    pages = all_pages(api, query=QUERY, max_results=100)
    ids = [int(t["id"]) for p in pages for t in p["data"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == len(api.matching(QUERY))
    for p in pages:
        assert p["meta"]["newest_id"] == p["data"][0]["id"]
        assert p["meta"]["oldest_id"] == p["data"][-1]["id"]
        assert p["meta"]["result_count"] == len(p["data"])
    assert "next_token" not in pages[-1]["meta"]


def test_since_until_and_time_bounds(api):
    ids = api.matching(QUERY)
    since, until = int(ids[200]), int(ids[20])
    got = [t["id"] for p in all_pages(api, query=QUERY, since_id=since, until_id=until,
                                      max_results=50) for t in p["data"]]
    assert got == ids[21:200]
    entries = {str(e.id): e for e in api.pool.snapshot()[0]}
    mid = entries[ids[100]].tweet["created_at"]
    newer = [t["id"] for p in all_pages(api, query=QUERY, start_time=mid, max_results=100)
             for t in p["data"]]
    assert newer and all(entries[i].tweet["created_at"] >= mid for i in newer)
    older = [t["id"] for p in all_pages(api, query=QUERY, end_time=mid, max_results=100)
             for t in p["data"]]
    assert set(newer).isdisjoint(older) and len(newer) + len(older) == len(ids)
    r = get(api, query=QUERY, since_id=ids[0])
    assert r.json() == {"meta": {"result_count": 0}}


def test_max_results_bounds_and_bad_token(api):
    assert get(api, query=QUERY, max_results=9).status_code == 400
    assert get(api, query=QUERY, max_results=101).status_code == 400
    r = get(api, "/2/tweets/search/all", query=QUERY, max_results=500)
    assert r.status_code == 200 and r.json()["meta"]["result_count"] == len(api.matching(QUERY))
    r = get(api, query=QUERY, next_token="nonsense")
    assert r.status_code == 400 and "next_token" in r.json()["errors"][0]["message"]
    r = get(api, query=QUERY, bogus="1")
    assert r.status_code == 400


def test_fields_and_expansions(api):
    bare = get(api, query=QUERY).json()
    assert set(bare["data"][0]) <= {"id", "text", "edit_history_tweet_ids"}
    assert "includes" not in bare
    full = get(api, query=QUERY, max_results=100, expansions="author_id,referenced_tweets.id,"
               "referenced_tweets.id.author_id,attachments.media_keys",
               **{"tweet.fields": "created_at,lang,entities,public_metrics",
                  "user.fields": "public_metrics"}).json()
    t = full["data"][0]
    assert {"created_at", "lang", "author_id"} <= set(t)
    users = {u["id"] for u in full["includes"]["users"]}
    assert all(t["author_id"] in users for t in full["data"])
    assert all("public_metrics" in u for u in full["includes"]["users"])
    refs = {r["id"] for t in full["data"] for r in t.get("referenced_tweets", [])}
    assert refs and refs <= {x["id"] for x in full["includes"]["tweets"]}


@pytest.mark.parametrize("query,check", [
    ("#climatestrike -is:retweet",
     lambda t: "#climatestrike" in t["text"].casefold() and not t["text"].startswith("RT @")),
    ("#climatestrike lang:en", lambda t: t["lang"] == "en"),
    ("(#climatestrike OR #fridaysforfuture) is:quote",
     lambda t: any(r["type"] == "quoted" for r in t["referenced_tweets"])),
])
def test_query_operators(api, query, check):
    data = [t for p in all_pages(api, query=query, max_results=100, **{
        "tweet.fields": "lang,referenced_tweets"}) for t in p.get("data", [])]
    assert data
    assert all(check(t) for t in data)


def test_query_parser_precedence_and_errors():
    class D:  # the minimum a matcher reads
        def __init__(self, words, tags=(), lang="en"):
            self.words, self.text, self.hashtags = set(words), " ".join(words), set(tags)
            self.mentions, self.lang, self.types, self.has = set(), lang, set(), set()
            self.author = self.reply_to = ""

    m = compile_query("apple OR iphone ipad")  # AND before OR, as on X
    assert m(D(["apple"])) and m(D(["iphone", "ipad"])) and not m(D(["iphone"]))
    m = compile_query('-"red car" (blue OR #green) -lang:fr')
    assert m(D(["blue"])) and m(D([], ["green"])) and not m(D(["red", "car", "blue"]))
    assert not m(D(["blue"], lang="fr"))
    for bad in ["", "(a OR b", "foo:bar", "is:nonsense"]:
        with pytest.raises(QueryError):
            compile_query(bad)


def test_counts_endpoints(api):
    # from before the oldest tweet (the default range ends now and reaches 7 days back)
    since = "2026-01-01T00:00:00Z"
    r = get(api, "/2/tweets/counts/recent", query=QUERY, granularity="day", start_time=since)
    body = r.json()
    assert r.status_code == 200
    assert body["meta"]["total_tweet_count"] == len(api.matching(QUERY))
    assert sum(b["tweet_count"] for b in body["data"]) == body["meta"]["total_tweet_count"]
    assert all(set(b) == {"start", "end", "tweet_count"} for b in body["data"])
    r = get(api, "/2/tweets/counts/all", query=QUERY, granularity="hour", start_time=since)
    assert r.json()["meta"]["total_tweet_count"] == len(api.matching(QUERY))


def test_rate_limit_headers_and_429():
    with make_api(50, token=None, rate_limit=2, rate_window=60) as api:
        r1, r2, r3 = (get(api, query=QUERY) for _ in range(3))
        assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 429]
        assert r1.headers["x-rate-limit-limit"] == "2"
        assert [r.headers["x-rate-limit-remaining"] for r in (r1, r2, r3)] == ["1", "0", "0"]
        assert int(r3.headers["x-rate-limit-reset"]) >= time.time() + 50


def test_faults_by_request_number():
    faults = ["2=429", "3=429-noreset", "4=500", "5=503", "6=malformed", "7=401", "8=reset",
              "9=400:since_id too old", "10+=503"]
    with make_api(50, token=None, faults=faults, reset_in=30) as api:
        ok = get(api, query=QUERY)
        assert ok.status_code == 200
        r = get(api, query=QUERY)
        assert r.status_code == 429 and int(r.headers["x-rate-limit-reset"]) >= time.time() + 25
        r = get(api, query=QUERY)
        assert r.status_code == 429 and "x-rate-limit-reset" not in r.headers
        assert get(api, query=QUERY).status_code == 500
        assert get(api, query=QUERY).status_code == 503
        r = get(api, query=QUERY)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
        assert get(api, query=QUERY).status_code == 401
        with pytest.raises(requests.exceptions.RequestException):
            get(api, query=QUERY)
        r = get(api, query=QUERY)
        assert r.status_code == 400 and "since_id" in r.json()["errors"][0]["message"]
        assert get(api, query=QUERY).status_code == 503
        log = api.requests
        assert [e["n"] for e in log] == list(range(1, 11))
        assert [e["fault"] for e in log][:3] == [None, "429", "429-noreset"]


def test_admin_add_and_recorded_pool():
    pool = Pool(recorded_pool([V2 / "2sets.jsonl"]))
    assert len(pool) == 200
    with FakeXAPI(pool) as api:
        r = get(api, query="#brexit OR #kpop", max_results=100)
        assert r.status_code == 200 and r.json()["meta"]["result_count"] > 0
        newest = api.pool.newest().id
        r = requests.post(api.url + "/_admin/add", json={"generated": 20, "seed": 3}, timeout=10)
        assert r.json()["added"] == 20 and len(api.pool) == 220
        assert api.pool.newest().id > newest
        page = orjson.loads((V2 / "kpop.jsonl").read_bytes().splitlines()[0])
        r = requests.post(api.url + "/_admin/add", json={"pages": [page]}, timeout=10)
        assert r.json()["pool"] == 220 + r.json()["added"]
        assert requests.get(api.url + "/_admin/log", timeout=10).json()[0]["status"] == 200


def test_command_line_prints_url_and_serves():
    proc = subprocess.Popen(
        [sys.executable, "-m", "dnflow.fakeapi", "--port", "0", "--pool",
         "generated:200:5", "--token", TOKEN, "--fault", "2=503"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        h = {"Authorization": f"Bearer {TOKEN}"}
        r = requests.get(url + RECENT, params={"query": QUERY}, headers=h, timeout=10)
        assert r.status_code == 200 and r.json()["meta"]["result_count"] == 10
        assert requests.get(url + RECENT, params={"query": QUERY}, headers=h,
                            timeout=10).status_code == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    err = proc.stderr.read()
    assert TOKEN not in err
    host, port = url[7:].split(":")
    with socket.socket() as s:  # the port is free again
        assert s.connect_ex((host, int(port))) != 0
