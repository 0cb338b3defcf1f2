"""P5 (bench/collect.py, quick mode): a real snakemake run of several X searches sharing
one rate-limited fake API loses no tweet, doubles none, makes exactly the fewest requests
possible and never goes over the limit. Behaviour, not timings: no figure here is a time.
"""

from __future__ import annotations

from pathlib import Path

from bench import collect
from dnflow.sources.x import collect_window

from .xutil import QUERY, TOKEN, make_api, x_env


def test_quick_collection_bench_meets_p5(tmp_path):
    m = collect.run_measure(tmp_path, quick=True)
    searches = m["searches"]
    assert m["profile"], "the workflow profile (x_api=1) was not used"
    assert {x["endpoint"] for x in searches.values()} == {"recent", "all"}
    for slug, x in searches.items():
        assert x["records"] and all(status == "ok" for status, _ in x["records"]), (slug, x)
        assert x["matching"] > 0
        # every matching tweet archived, once; nothing else
        assert x["archived"] == x["matching"] and x["lost"] == 0, (slug, x)
        assert x["duplicates"] == 0 and x["foreign"] == 0, (slug, x)
        # the fewest requests: full pages (100 recent, 500 all), no empty last page
        assert x["requests"] == x["minimum"], (slug, x)
        assert x["max_results"] == [collect.PAGE_MAX[x["endpoint"]]]
        assert x["short_before_last"] == 0 and 0 not in x["page_sizes"]
        assert x["statuses"] == {200: x["requests"]}
    # the limit was hit (the bench would prove nothing otherwise) and never passed
    assert m["http_429"] == 0
    assert m["max_in_window"] == m["plan"]["rate_limit"]
    assert len(m["windows"]["search/recent"]) > 1
    assert all(n <= m["plan"]["rate_limit"] for ns in m["windows"].values() for n in ns)
    rows = dict(collect.rows(m))
    assert rows["X 429 answers"] == "0"
    assert rows["X requests made / minimum possible"].endswith("(0 wasted)")


def test_a_search_waits_for_a_window_an_earlier_search_used_up(tmp_path):
    """Two collection jobs one after the other on one token (what x_api=1 makes of
    parallel searches): the first ends on an exhausted window, so the second waits for
    the reset before its first request instead of provoking a 429."""
    with make_api(450, token=TOKEN, rate_window=2.0) as api:
        pages = -(-len(api.matching(QUERY)) // 100)
        api.state.rate_limit = pages  # the first search uses the window up exactly
        search = {"source": "x", "query": QUERY}
        logs: dict[str, list[str]] = {"a": [], "b": []}
        recs = [collect_window(slug, search, "once", tmp_path, env=x_env(api),
                               log=logs[slug].append) for slug in ("a", "b")]
        statuses = [e["status"] for e in api.requests]
    assert [r["status"] for r in recs] == ["ok", "ok"]
    assert [r["new_tweets"] for r in recs] == [len(api.matching(QUERY))] * 2
    assert statuses == [200] * 2 * pages  # no 429, no retry
    assert recs[0]["rate_limit_waits"] == 0 and recs[1]["rate_limit_waits"] >= 1
    assert any("an earlier collection left 0 requests" in line for line in logs["b"])
    assert TOKEN.encode() not in (Path(tmp_path) / ".x-rate-limit.json").read_bytes()


def test_quick_mastodon_collection_bench(tmp_path):
    """Two Mastodon searches of two instances sharing a rate-limited fake: nothing lost,
    nothing archived twice, exactly the fewest requests (full pages of 40 and the empty
    answer ending each walk), never over an instance's limit."""
    from bench import collect_mastodon

    m = collect_mastodon.run_measure(tmp_path, quick=True)
    for slug, x in m["searches"].items():
        assert x["matching"] > 0 and x["archived"] == x["matching"] == x["counted"], slug
        assert x["lost"] == 0 and x["doubles"] == 0, slug
        assert x["requests"] == x["minimum"], (slug, x)
        assert x["statuses"] == {200: x["requests"]}
        # every page full but an instance's last
        assert x["full_pages"] >= x["nonempty"] - len(collect_mastodon.INSTANCES)
    assert m["http_429"] == 0
    assert m["max_in_window"] == m["plan"]["rate_limit"]  # the limit was reached, not passed
    rows = dict(collect_mastodon.rows(m))
    assert "(0 wasted" in rows["Mastodon requests made / minimum possible"]
