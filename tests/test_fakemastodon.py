"""The loopback fake Mastodon has the semantics collection depends on."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from dnflow.fakemastodon import FakeMastodon, corpus_pool, generated_pool

from .conftest import CORPUS
from .mastodonutil import INSTANCES, TAG, make_fake


@pytest.fixture(scope="module")
def api():
    statuses = list(generated_pool(300, 7)) + list(corpus_pool(CORPUS))
    with FakeMastodon(statuses, instances=INSTANCES) as api:
        yield api


def get(api, instance, tag=TAG, headers=None, **params):
    return requests.get(f"{api.instance_url(instance)}/api/v1/timelines/tag/{tag}",
                        params=params, headers=headers or {}, timeout=10)


def walk(api, instance, key="max_id", **params):
    """Every page following the Link header (rel=next for max_id, prev for min_id)."""
    pages, rel = [], "next" if key == "max_id" else "prev"
    while True:
        r = get(api, instance, **params)
        assert r.status_code == 200, r.text
        if not r.json():
            return pages
        pages.append(r.json())
        params = dict(params, **{key: r.links[rel]["url"].split(f"{key}=")[1].split("&")[0]})


def test_backwards_and_forwards_walks_each_status_once(api):
    for inst in INSTANCES:
        pages = walk(api, inst, limit=40)
        ids = [int(s["id"]) for p in pages for s in p]
        assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
        assert [s["uri"] for p in pages for s in p] == api.known(inst, TAG)
        assert all(len(p) == 40 for p in pages[:-1])
        # forwards from the oldest: the statuses just above min_id, sent newest first
        oldest = str(ids[-1])
        fwd = walk(api, inst, key="min_id", limit=40, min_id=oldest)
        assert all([int(s["id"]) for s in p] == sorted((int(s["id"]) for s in p), reverse=True)
                   for p in fwd)
        assert sorted(int(s["id"]) for p in fwd for s in p) == sorted(ids[:-1])


def test_instances_know_different_posts_under_their_own_ids(api):
    a, b = (set(api.known(i, TAG)) for i in INSTANCES)
    assert a - b and b - a and a & b  # overlapping, neither covers the other
    uri = next(iter(a & b))
    ids = [api.network.known[i][uri] for i in INSTANCES]
    assert ids[0] != ids[1]
    seen = {i: next(s for s in api.statuses(i, TAG) if s["uri"] == uri) for i in INSTANCES}
    home = seen[INSTANCES[0]]["account"]["url"].split("/")[2]
    for inst, s in seen.items():  # an acct has its server except on its home server
        assert ("@" in s["account"]["acct"]) == (inst != home)


def test_link_header_rate_limit_headers_and_filters(api):
    r = get(api, "fosstodon.org", limit=5)
    assert len(r.json()) == 5
    assert set(r.links) == {"next", "prev"}
    assert r.headers["X-RateLimit-Limit"] == "300"
    assert r.headers["X-RateLimit-Reset"].endswith("Z")
    def tagged(**p):
        return {s["uri"] for page in walk(api, "mastodon.social", limit=40, **p) for s in page}

    everything = tagged()
    assert everything == set(api.known("mastodon.social", TAG))
    with_ff = tagged(**{"all[]": ["fridaysforfuture"]})
    without_ff = tagged(**{"none[]": ["fridaysforfuture"]})
    assert with_ff and without_ff and not with_ff & without_ff
    assert with_ff | without_ff == everything
    rstats = get(api, "mastodon.social", tag="rstats", limit=40).json()
    assert len(rstats) == 5  # the corpus's own #rstats page
    assert get(api, "nowhere.example").status_code == 404


def test_login_rate_limit_and_faults():
    with make_fake(100, login=["fosstodon.org"], rate_limit=4, rate_window=60,
                   faults=["5=503", "6=malformed"]) as api:
        r = get(api, "fosstodon.org")  # request 1
        assert r.status_code == 401
        assert r.json() == {"error": "This method requires an authenticated user"}
        assert get(api, "fosstodon.org", headers={"Authorization": "Bearer t"}).status_code == 200
        answers = [get(api, "mastodon.social") for _ in range(4)]  # requests 3 to 6
        assert [r.status_code for r in answers] == [200, 200, 503, 200]
        with pytest.raises(ValueError):
            answers[3].json()  # malformed: the body is cut
        r = get(api, "mastodon.social")  # the 5th of its window, over the limit of 4
        assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
        log = api.requests
        assert [e["fault"] for e in log][4:6] == ["503", "malformed"]
        assert all(e["auth"] in ("none", "token") for e in log)  # never the token itself


def test_cli_serves_and_stops():
    proc = subprocess.Popen([sys.executable, "-m", "dnflow", "fakemastodon", "--port", "0",
                             "--pool", "generated:50:3", "--instance", "a.example",
                             "--instance", "b.example"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        deadline = time.monotonic() + 20
        while True:
            try:
                r = requests.get(f"{url}/a.example/api/v1/timelines/tag/{TAG}", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
