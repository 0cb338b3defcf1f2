"""End to end: snakemake runs the project's Snakefile with Bluesky searches against the
fake Bluesky API, beside X and archive searches: windows, one login for the whole run,
secret hygiene, a failure that stays with its search, and the pages (words, links, what
the data cannot show, the compare page across platforms)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from .bskyutil import PASSWORD, QUERY, bsky_env, leaks, make_api, snakemake
from .conftest import V2


def write_config(work: Path, searches: dict) -> Path:
    path = work / "searches.yaml"
    path.write_text(json.dumps({"searches": searches}))  # JSON is YAML
    return path


def run(work, cfg, env, now):
    r = snakemake(work, cfg, dict(env, DNFLOW_NOW=now))
    assert r.returncode == 0, r.stderr[-4000:]
    assert PASSWORD not in r.stdout + r.stderr
    return r


def summary(work: Path, slug: str) -> dict:
    return json.loads((work / "data" / slug / "summary" / "summary.json").read_text())


def test_bluesky_searches_windows_one_login_no_secret_anywhere(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    searches = {
        "sky-climate": {"source": "bluesky", "query": QUERY, "every": "6h",
                        "title": "Climate on Bluesky"},
        "sky-fr": {"source": "bluesky", "query": QUERY, "lang": "fr", "every": "6h"},
        "sky-action": {"source": "bluesky", "query": "#ClimateAction", "every": "1d",
                       "max_posts": 5000},
        "sets": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
    }
    cfg = write_config(work, searches)
    with make_api(900) as api:
        env = bsky_env(api, tmp_path / "dnflow-state")
        run(work, cfg, env, "2026-11-28T06:10:00Z")
        assert api.logins() == 1  # three searches, three jobs: one login
        assert summary(work, "sky-climate")["posts"] == len(api.matching(QUERY)) > 0
        assert summary(work, "sky-fr")["posts"] == len(api.matching(QUERY, lang="fr")) > 0
        assert summary(work, "sky-action")["posts"] == len(api.matching("#ClimateAction"))
        assert summary(work, "sets")["posts"] == summary(work, "sets")["tweets"] == 200
        n = len(api.searches())

        r = run(work, cfg, env, "2026-11-28T07:55:00Z")  # the same windows: nothing runs
        assert "Nothing to be done" in r.stdout + r.stderr and len(api.searches()) == n

        api.add({"generated": 80, "seed": 5, "query": QUERY})
        api.expire_sessions()  # hours later: the access token has expired
        run(work, cfg, env, "2026-11-28T12:10:00Z")
        assert api.logins() == 1 and api.refreshes() == 1  # refreshed once, for both jobs
        rec = json.loads((work / "data/sky-climate/runs/2026-11-28T12.json").read_text())
        assert rec["status"] == "ok" and rec["new_posts"] > 0
        assert summary(work, "sky-climate")["posts"] == len(api.matching(QUERY))
        secrets = api.secrets() + [PASSWORD]

    # no password or token anywhere: data, site, logs, Snakemake's metadata
    for d in ("data", "site", "logs", ".snakemake"):
        assert (work / d).is_dir()
    assert leaks(work, secrets) == []
    assert list((tmp_path / "dnflow-state" / "dnflow").glob("bluesky-session-*.json"))

    page = (work / "site/sky-climate/index.html").read_text()
    assert "What this data cannot show" in page
    assert "returns no reposts" in page and "no follower or following counts" in page
    assert 'href="https://bsky.app/hashtag/climatestrike"' in page
    assert re.search(r'href="https://bsky\.app/profile/did:plc:[a-z2-7]{24}/post/[a-z2-7]{13}"',
                     page)
    # the platform's words: no "tweet" or "retweet" in what the page says (file names,
    # CSS classes and handles such as jo-tweets17.bsky.social aside)
    words = re.sub(r"<[^>]+>|tweets\.csv|tweet-ids\.txt|retweets\.csv|[\w.-]+\.bsky\.social",
                   " ", page)
    assert not re.search(r"(?i)\b(re)?tweets?\b", words)
    assert ">Reposts<" in page or "Reposts<span" in page
    assert "2026-11-28T12" in page  # the run history
    index = (work / "site/index.html").read_text()
    assert '<span class="platform">Bluesky</span>' in index
    assert '<span class="platform">X</span>' in index


def test_missing_password_fails_only_that_search(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    searches = {"sky": {"source": "bluesky", "query": QUERY, "every": "1d"},
                "sets": {"source": "archive", "files": str(V2 / "2sets.jsonl")}}
    cfg = write_config(work, searches)
    with make_api(200) as api:
        run(work, cfg, bsky_env(api, tmp_path / "st", password=None), "2026-11-28T09:00:00Z")
        assert api.requests == []
        failed = json.loads((work / "data/sky/runs/2026-11-28.json").read_text())
        assert failed["status"] == "failed"
        assert failed["error"].startswith("BLUESKY_APP_PASSWORD is not set")
        assert summary(work, "sets")["posts"] == 200
        assert summary(work, "sky")["posts"] == 0
        page = (work / "site/sky/index.html").read_text()
        assert "The latest collection run failed" in page and "BLUESKY_APP_PASSWORD" in page
        # with the password the next run tries the window again and succeeds
        run(work, cfg, bsky_env(api, tmp_path / "st"), "2026-11-28T09:30:00Z")
        ok = json.loads((work / "data/sky/runs/2026-11-28~2.json").read_text())
        assert ok["status"] == "ok" and summary(work, "sky")["posts"] == len(
            api.matching(QUERY))


def test_demo_per_platform_and_the_compare_page(tmp_path):
    """`source: demo` with `platform: bluesky` builds offline beside an X demo of the same
    event; the compare page sets them side by side, each count linking to its own
    platform's hashtag page."""
    work = tmp_path / "work"
    work.mkdir()
    searches = {
        "x-demo": {"source": "demo", "topic": "climate", "query": QUERY, "seed": 7,
                   "tweets": 800},
        "sky-demo": {"source": "demo", "platform": "bluesky", "topic": "climate",
                     "query": QUERY, "seed": 7, "posts": 600},
    }
    cfg = write_config(work, searches)
    t0 = time.monotonic()
    run(work, cfg, {}, "2026-11-28T06:00:00Z")
    assert time.monotonic() - t0 < 120
    sky = summary(work, "sky-demo")
    assert sky["posts"] == 600 and sky["retweets"] == 0
    assert sky["sources"][0]["formats"] == ["bsky-search"]
    assert summary(work, "x-demo")["tweets"] == 800
    compare = (work / "site/compare.html").read_text()
    assert "The searches are on Bluesky and X" in compare
    assert 'href="https://bsky.app/hashtag/climatestrike"' in compare
    assert 'href="https://x.com/hashtag/climatestrike"' in compare
    page = (work / "site/sky-demo/index.html").read_text()
    assert "Reposts<span class=\"sr-only\">: not in the data</span>" in page
    xpage = (work / "site/x-demo/index.html").read_text()
    assert "What this data cannot show" not in xpage
