"""P5B (bench/collect_bluesky.py, quick mode): a real snakemake run of several Bluesky
searches sharing one rate-limited fake loses no post, makes the fewest requests possible
(full pages of 100), logs in once, walks back past the cursor's depth and never gets a
429. Behaviour, not timings: no figure here is a time.
"""

from __future__ import annotations

from bench import collect_bluesky


def test_quick_bluesky_collection_bench(tmp_path):
    m = collect_bluesky.run_measure(tmp_path, quick=True)
    assert m["profile"], "the workflow profile (bluesky_api=1) was not used"
    for slug, x in m["searches"].items():
        assert x["records"] and all(status == "ok" for status, _ in x["records"]), (slug, x)
        assert x["matching"] > 0 and x["archived"] == x["matching"] == x["counted"], slug
        assert x["lost"] == 0 and x["foreign"] == 0, (slug, x)
        assert x["requests"] == x["minimum"], (slug, x)
        assert x["statuses"] == {200: x["requests"]}, (slug, x)
        assert all(n == 100 for n in x["page_sizes"][:-1]), (slug, x)  # only the last short
    assert m["searches"]["climate"]["restarts"] == 1  # past the (lowered) cursor depth
    assert m["logins"] == 1 and m["http_429"] == 0
    rows = dict(collect_bluesky.rows(m))
    assert rows["Bluesky requests made / minimum possible"].endswith("(0 beyond the minimum)")
    assert rows["Bluesky logins (createSession) for the run"] == "1"
    assert sum(x["reset_waits"] for x in m["searches"].values()) >= 1  # the limit was hit
