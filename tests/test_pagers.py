"""Issue 15, class 5: every loop is bounded. Each pager (X next_token, Bluesky cursor,
Mastodon Link header) against its fake going round in every way, from every page on:
the window ends with a clear message, in a bounded number of requests, and keeps what
was archived before.
"""

from __future__ import annotations

import pytest

from dnflow.sources.x import collect_window

from .xutil import FAST, QUERY, TOKEN, archived_ids, make_api, x_env

IDLE = 4  # DNFLOW_MAX_IDLE_PAGES for these tests: pages in a row with nothing new
LOOPS = ["repeat-token", "dup-pages", "empty-pages", "data-object"]


@pytest.fixture(autouse=True)
def _few_idle_pages(monkeypatch):
    monkeypatch.setenv("DNFLOW_MAX_IDLE_PAGES", str(IDLE))


@pytest.mark.parametrize("start", [1, 2, 4])
@pytest.mark.parametrize("loop", LOOPS)
def test_x_pager_going_round_ends_the_window(tmp_path, loop, start):
    with make_api(450, token=TOKEN, faults=[f"{start}+={loop}"]) as api:
        rec = collect_window("s", {"source": "x", "query": QUERY}, "once", tmp_path,
                             env=x_env(api), backoff=FAST)
        requests = len(api.requests)
    assert rec["status"] == "ok" and rec["stopped"] == "loop", rec
    assert "round" in rec["note"] or "not a list" in rec["note"]
    assert requests <= start + IDLE + 2
    ids = archived_ids(tmp_path, "s")
    # every page before the fault is kept (100 a page); the pages going round are few
    assert len(set(ids)) >= 100 * (start - 1)
    assert len(ids) - len(set(ids)) <= 100 * (IDLE + 1)


@pytest.mark.parametrize("start", [1, 2, 4])
@pytest.mark.parametrize("loop", ["repeat-cursor", "dup-pages", "empty-pages"])
def test_bluesky_cursor_going_round_ends_the_window(tmp_path, loop, start):
    from dnflow.sources.bluesky import collect_window as bsky_collect

    from .bskyutil import FAST as BFAST
    from .bskyutil import QUERY as BQUERY
    from .bskyutil import archived_uris, bsky_env
    from .bskyutil import make_api as bsky_api

    with bsky_api(450, faults=[f"{start}+={loop}"]) as api:
        env = bsky_env(api, tmp_path / "state")
        rec = bsky_collect("s", {"source": "bluesky", "query": BQUERY}, "once",
                           tmp_path / "data", env=env, backoff=BFAST)
        requests = len(api.searches())
    assert rec["status"] == "ok" and rec["stopped"] == "loop", rec
    assert "round" in rec["note"]
    assert requests <= start + IDLE + 2
    uris = archived_uris(tmp_path / "data", "s")
    assert len(set(uris)) >= 100 * (start - 1)


@pytest.mark.parametrize("start", [1, 2, 4])
@pytest.mark.parametrize("loop", ["repeat-token", "dup-pages", "empty-pages", "data-object"])
def test_mastodon_link_going_round_ends_the_window(tmp_path, loop, start):
    from dnflow.sources.mastodon import collect_window as m_collect

    from .mastodonutil import FAST as MFAST
    from .mastodonutil import SEARCH as MSEARCH
    from .mastodonutil import archived, m_env, make_fake

    with make_fake(240, faults=[f"{start}+={loop}"]) as api:
        rec = m_collect("s", MSEARCH, "once", tmp_path, env=m_env(api), backoff=MFAST)
        requests = len(api.requests)
    # each instance's walk ends: going round, or at an empty page, or with a clear error
    assert rec["status"] in ("ok", "failed"), rec
    if rec["status"] == "failed":
        assert loop == "data-object" and "list" in rec["error"]
    if loop in ("repeat-token", "dup-pages"):
        assert rec["stopped"] == "loop" and "round" in rec["note"]
    assert requests <= 2 * (start + IDLE + 2)  # two instances
    if rec["status"] == "ok":  # (a failed window keeps its pages for the next run)
        per = archived(tmp_path, "s")
        assert sum(len(set(u)) for u in per.values()) >= 40 * (start - 1)
