"""P3 (bench/searches.py, quick mode): ten archive searches through a real snakemake run.
Behaviour, not timings: every page is built, a rerun with nothing due runs no job, and a
rerun after one archive changed counts that search again and no other."""

from __future__ import annotations

from bench import searches


def test_quick_searches_bench_builds_and_reruns_only_what_changed(tmp_path):
    m = searches.measure(tmp_path, quick=True)
    slugs = [f"s{i:03d}" for i in range(searches.QUICK_SEARCHES)]

    full = m["full"]
    assert m["pages"] == slugs and m["index"]
    assert full["jobs"]["summarize"] == full["jobs"]["page"] == len(slugs)
    assert full["jobs"]["site_index"] == 1
    assert full["slugs"]["summarize"] == slugs

    none = m["nothing_due"]
    assert none["nothing_to_do"] and not none["jobs"], none
    assert none["changed"] == [], "a rerun with nothing due rewrote files"

    one = m["one_change"]
    changed = one["archive"]
    # the changed search's parquet, networks, bag and media groups are made again from its
    # summary (rules/package.smk, rules/media.smk)
    assert one["jobs"] == {"summarize": 1, "parquet": 1, "networks": 1, "bag": 1,
                           "media_groups": 1, "page": 1, "site_index": 1, "all": 1}, one["jobs"]
    assert one["slugs"]["summarize"] == [changed] and one["slugs"]["page"] == [changed]
    assert one["summaries_rewritten"] == [changed]
    assert one["pages_rewritten"] == [changed]

    # the logs of the three runs are kept for a look; the table names every run
    assert {p.name for p in (tmp_path / "searches").iterdir()} == {
        "full.log", "nothing-due.log", "one-change.log"}
    table = dict(searches.rows(m))
    assert {"P3 full build", "P3 rerun, nothing due", "P3 rerun, one archive changed"} <= set(table)
