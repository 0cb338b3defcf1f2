"""The loopback fake Bluesky API has the semantics collection depends on."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
import pytest
import requests

from dnflow.fakebsky import (
    CREATE,
    REFRESH,
    SEARCH,
    FakeBluesky,
    Pool,
    compile_query,
    recorded_pool,
    sort_at,
)
from dnflow.sources.bluesky import iso_ms

from .bskyutil import HANDLE, PASSWORD, QUERY, make_api
from .conftest import CORPUS


@pytest.fixture(scope="module")
def api():
    with make_api(450) as api:
        yield api


def login(api, password=PASSWORD) -> requests.Response:
    return requests.post(api.url + CREATE, json={"identifier": HANDLE, "password": password},
                         timeout=10)


def search(api, token, **params) -> requests.Response:
    return requests.get(api.url + SEARCH, params=params, timeout=10,
                        headers={"Authorization": f"Bearer {token}"} if token else {})


def all_pages(api, token, **params) -> list[dict]:
    pages, cursor = [], None
    while True:
        r = search(api, token, **dict(params, **({"cursor": cursor} if cursor else {})))
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json().get("cursor")
        if not cursor:
            return pages


def test_login_refresh_and_wrong_password(api):
    r = login(api, "wrong")
    assert r.status_code == 401 and r.json()["error"] == "AuthenticationRequired"
    s = login(api).json()
    assert s["handle"] == HANDLE and s["did"].startswith("did:plc:")
    assert search(api, s["accessJwt"], q=QUERY).status_code == 200
    r = search(api, None, q=QUERY)
    assert r.status_code == 401 and r.json()["error"] == "AuthMissing"
    fresh = requests.post(api.url + REFRESH, timeout=10,
                          headers={"Authorization": f"Bearer {s['refreshJwt']}"}).json()
    assert fresh["accessJwt"] != s["accessJwt"]
    # a refresh token is used once
    again = requests.post(api.url + REFRESH, timeout=10,
                          headers={"Authorization": f"Bearer {s['refreshJwt']}"})
    assert again.status_code == 401
    api.expire_sessions()
    r = search(api, fresh["accessJwt"], q=QUERY)
    assert r.status_code == 400 and r.json()["error"] == "ExpiredToken"
    log = orjson.dumps(api.requests)
    assert PASSWORD.encode() not in log and s["accessJwt"].encode() not in log


def test_pages_newest_first_each_post_once(api):
    token = login(api).json()["accessJwt"]
    pages = all_pages(api, token, q=QUERY, limit=100)
    views = [v for p in pages for v in p["posts"]]
    times = [sort_at(v) for v in views]
    assert times == sorted(times, reverse=True)
    uris = [v["uri"] for v in views]
    assert len(uris) == len(set(uris)) == len(api.matching(QUERY)) > 300
    assert all(len(p["posts"]) == 100 for p in pages[:-1])
    r = search(api, token, q=QUERY, limit=101)
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"
    assert search(api, token, q=QUERY).json()["posts"].__len__() == 25  # the default limit


def test_since_until_and_query_terms(api):
    token = login(api).json()["accessJwt"]
    views = [v for p in all_pages(api, token, q=QUERY, limit=100) for v in p["posts"]]
    mid = views[len(views) // 2]
    cut = mid["indexedAt"]
    newer = [v for p in all_pages(api, token, q=QUERY, limit=100, since=cut)
             for v in p["posts"]]
    older = [v for p in all_pages(api, token, q=QUERY, limit=100, until=cut)
             for v in p["posts"]]
    assert len(newer) + len(older) == len(views)  # since inclusive, until exclusive
    assert {v["uri"] for v in newer}.isdisjoint({v["uri"] for v in older})
    m = compile_query("#ClimateStrike -lol lang:en")
    picked = [e for e in api.pool.snapshot()[0] if m(e.doc)]
    assert picked and all("en" in e.doc.langs and "climatestrike" in e.doc.tags
                          and "lol" not in e.doc.words for e in picked)


def test_cursor_ends_at_its_limit(tmp_path):
    with make_api(700, cursor_limit=250) as api:
        token = login(api).json()["accessJwt"]
        pages = all_pages(api, token, q=QUERY, limit=100)
        got = [v for p in pages for v in p["posts"]]
        assert len(got) == 250 < len(api.matching(QUERY))  # the rest only through until
        # until (exclusive) at the oldest post's sortAt: the posts below it, none twice
        until = iso_ms(sort_at(got[-1]))
        rest = [v for p in all_pages(api, token, q=QUERY, limit=100, until=until)
                for v in p["posts"]]
        assert {v["uri"] for v in rest}.isdisjoint({v["uri"] for v in got})
        assert len(rest) == min(250, len(api.matching(QUERY)) - 250)


def test_rate_limit_headers_and_429(tmp_path):
    with make_api(200, rate_limit=3, rate_window=30.0) as api:
        token = login(api).json()["accessJwt"]
        answers = [search(api, token, q=QUERY) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
        assert answers[0].headers["RateLimit-Policy"] == "3;w=30"
        assert int(answers[3].headers["RateLimit-Reset"]) > time.time()


@pytest.mark.parametrize("kind,status,error", [
    ("429", 429, "RateLimitExceeded"), ("500", 500, "InternalServerError"),
    ("502", 502, "UpstreamFailure"), ("503", 503, "NotEnoughResources"),
    ("expired", 400, "ExpiredToken"), ("401", 401, "InvalidToken"),
    ("400:bad query", 400, "InvalidRequest"),
])
def test_faults(kind, status, error):
    with make_api(100, faults=[f"2={kind}"]) as api:
        token = login(api).json()["accessJwt"]
        assert search(api, token, q=QUERY).status_code == 200
        r = search(api, token, q=QUERY)
        assert r.status_code == status and r.json()["error"] == error
        if kind in ("expired", "401"):  # the session stays refused; a new one works
            assert search(api, token, q=QUERY).status_code == status
            assert search(api, login(api).json()["accessJwt"], q=QUERY).status_code == 200
        else:
            assert search(api, token, q=QUERY).status_code == 200


def test_malformed_and_reset_faults():
    with make_api(100, faults=["1=malformed", "2=reset"]) as api:
        token = login(api).json()["accessJwt"]
        r = search(api, token, q=QUERY)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(r.content)
        with pytest.raises(requests.exceptions.RequestException):
            search(api, token, q=QUERY)


def test_login_rate_limit():
    with make_api(10, login_limit=2) as api:
        assert [login(api).status_code for _ in range(3)] == [200, 200, 429]


def test_corpus_pool_and_cli(tmp_path):
    """A pool from the corpus's real searchPosts answer; `dnflow fakebsky` serves one."""
    cassette = CORPUS / "bluesky" / "decoded" / "f_search.0.json"
    views = list(recorded_pool([cassette]))
    assert len({v["uri"] for v in views}) == len(Pool(views)) >= 20
    with FakeBluesky(Pool(views), handle=HANDLE) as api:
        token = login(api, "anything").json()["accessJwt"]
        got = [v["uri"] for p in all_pages(api, token, q="redistricting", limit=100)
               for v in p["posts"]]
        assert len(got) == len(api.matching("redistricting")) >= 15
    proc = subprocess.Popen([sys.executable, "-m", "dnflow", "fakebsky", "--port", "0",
                             "--pool", "generated:50:3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        r = requests.post(url + CREATE, json={"identifier": "dnflow-test.bsky.social",
                                              "password": "x"}, timeout=10)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
