"""The static site: numbers from the summary files, escaping, determinism, size bound, rules."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import orjson
import pytest

from dnflow import outputs, publish
from dnflow.platforms import PLATFORMS, Platform
from dnflow.site import charts
from dnflow.site import text as tx
from dnflow.site.render import build_page, build_site
from tests.site_helpers import (
    ARCHIVE_ALL,
    CORPUS,
    CRAFTED_META,
    LONG_WORD,
    ROOT,
    V2,
    build,
    parse,
    write_crafted,
)

SEARCHES = {
    "kpop": ([V2 / "2sets.jsonl"], {"title": "K-pop and Brexit", **ARCHIVE_ALL,
                                    "query": "#kpop OR #brexit"}),
    "hashtags": ([CORPUS / "twarc-hashtags" / "test-data" / "tweets1.jsonl",
                  V2 / "users.jsonl"], {**ARCHIVE_ALL, "every": "6h"}),
    "empty": ([V2 / "empty.json"], {"title": "Nothing", **ARCHIVE_ALL}),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    crafted = write_crafted(root / "crafted.jsonl")
    searches = dict(SEARCHES, crafted=([crafted], CRAFTED_META))
    return build(root, searches, failed={"broken": "OSError: archive.jsonl: disk on fire"})


def rows(path: Path, n: int = 25) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [r for _, r in zip(range(n), csv.DictReader(f), strict=False)]


def table(html: str, section: str) -> list[list[str]]:
    """Cell texts of the table inside <section id=section>."""
    body = html.split(f'<section id="{section}"', 1)[1].split("</section>", 1)[0]
    body = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    out = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        out.append(["".join(parse(c).text).strip() for c in cells])
    return out


# ------------------------------------------------------------------ the numbers


def test_page_shows_summary_numbers_and_top_counts(site: Path) -> None:
    html = (site / "kpop" / "index.html").read_text()
    summary = orjson.loads((site / "kpop" / "downloads" / "summary.json").read_bytes())
    assert summary["tweets"] == 200
    text = " ".join(parse(html).text)
    for key, label in (("tweets", "Tweets"), ("users", "Users"), ("retweets", "Retweets"),
                       ("quotes", "Quotes"), ("replies", "Replies")):
        assert re.search(rf"{summary[key]:,}\s+{label}", text), label
    d = site / "kpop" / "downloads"
    for section, name, key, prefix in (("hashtags", "hashtags.csv", "hashtag", "#"),
                                       ("mentions", "mentions.csv", "username", "@"),
                                       ("domains", "domains.csv", "domain", ""),
                                       ("languages", "languages.csv", "lang", "")):
        expected = rows(d / name)
        got = table(html, section)
        assert len(got) == len(expected) <= 25
        for cells, r in zip(got, expected, strict=True):
            assert cells[1].startswith(prefix) and r[key] in cells[1]
            assert cells[2] == f"{int(r['count']):,}"
    users = rows(d / "users.csv")
    assert [c[1] for c in table(html, "users")] == ["@" + u["username"] for u in users]
    # a chart per count section, the timeline, and a link to each full CSV
    assert html.count('<svg class="chart bars"') >= 8
    assert '<svg class="chart timeline"' in html
    for name in ("hashtags.csv", "mentions.csv", "domains.csv", "urls.csv", "users.csv",
                 "timeline.csv", "media.csv", "retweets.csv", "tweet-ids.txt", "tweets.csv",
                 "kpop.zip", "raw/2sets.jsonl"):
        assert f'href="downloads/{name}"' in html, name
    assert 'href="../index.html"' in html and 'href="../style.css"' in html


def test_most_followed_and_ratio_rank_users_csv(site: Path) -> None:
    html = (site / "kpop" / "index.html").read_text()
    with open(site / "kpop" / "downloads" / "users.csv", newline="", encoding="utf-8") as f:
        users = [u for u in csv.DictReader(f) if u["followers"]]
    by_followers = sorted(users, key=lambda u: (-int(u["followers"]), u["username"]))[:25]
    assert [c[1] for c in table(html, "followed")] == ["@" + u["username"] for u in by_followers]
    top = table(html, "ratio")[0]
    best = max(users, key=lambda u: int(u["followers"]) / max(int(u["following"] or 0), 1))
    assert top[1] == "@" + best["username"]


def test_cards_media_runs_and_notes(site: Path) -> None:
    html = (site / "kpop" / "index.html").read_text()
    cards = orjson.loads((site / "kpop" / "downloads" / "cards.json").read_bytes())
    assert html.count('<article class="tweet">') == len(cards["top_retweeted"]) + len(
        cards["sample"])
    first = cards["top_retweeted"][0]
    assert f'https://x.com/{first["author"]["username"]}/status/{first["id"]}' in html
    assert f'<strong>{first["retweets_in_search"]:,}</strong> retweets in this search' in html
    # media are links to the platform, never an image loaded from it (pages load nothing
    # from elsewhere; the CSP allows images from 'self' only)
    tags = parse(html).tags
    assert not [a for t, a in tags if t == "img" and "//" in (a.get("src") or "")]
    thumbs = [a for t, a in tags if t == "a" and "thumb" in (a.get("class") or "")]
    assert thumbs and all(a["href"].startswith("https://") for a in thumbs)
    assert "img-src 'self' file:;" in html
    assert "Files read" in html and "2sets.jsonl" in html
    for phrase in ("counted once", "Retweets count the hashtags of the original",
                   "smallest CRC-32"):
        assert phrase in html


def test_empty_and_failed_searches_say_so(site: Path) -> None:
    empty = (site / "empty" / "index.html").read_text()
    assert "This search has no tweets." in empty
    failed = (site / "broken" / "index.html").read_text()
    assert "This search failed" in failed and "disk on fire" in failed
    index = (site / "index.html").read_text()
    row = index.split('id="s-broken"', 1)[1].split("</tr>", 1)[0]
    assert "failed" in row and "disk on fire" in row


def test_skipped_lines_are_reported(site: Path) -> None:
    html = (site / "hashtags" / "index.html").read_text()
    summary = orjson.loads((site / "hashtags" / "downloads" / "summary.json").read_bytes())
    assert summary["skipped"] > 0
    assert re.search(rf"{summary['skipped']:,}\s+Skipped lines", " ".join(parse(html).text))
    assert "users answer" in html


def test_index_compare_and_feed(site: Path) -> None:
    index = (site / "index.html").read_text()
    for slug in ("kpop", "hashtags", "empty", "broken", "crafted"):
        assert f'href="{slug}/index.html"' in index
    assert index.count('<svg class="spark"') == 3  # searches with a timeline
    compare = (site / "compare.html").read_text()
    kpop_tags = rows(site / "kpop" / "downloads" / "hashtags.csv", 10)
    for r in kpop_tags:
        assert f"#{r['hashtag']}" in compare
    assert 'class="chart grouped"' in compare
    assert "Nothing" not in compare  # a search without tweets is not compared
    feed = ET.parse(site / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 5
    for e in entries:
        slug = e.find("a:id", ns).text.rsplit(":", 1)[1]
        s = orjson.loads((site / slug / "downloads" / "summary.json").read_bytes())
        assert e.find("a:updated", ns).text == (s["generated"] or "1970-01-01T00:00:00Z")
        assert e.find("a:link", ns).get("href") == f"{slug}/index.html"
    assert feed.find("a:updated", ns).text == max(e.find("a:updated", ns).text for e in entries)
    assert (site / "style.css").read_text().count("prefers-color-scheme: dark") == 1


def test_stale_is_judged_against_the_newest_update(tmp_path: Path) -> None:
    root = tmp_path
    src = V2 / "two_tweets.jsonl"
    a, b = root / "a.jsonl", root / "b.jsonl"
    shutil.copyfile(src, a)
    shutil.copyfile(src, b)
    os.utime(a, (1_700_000_000, 1_700_000_000))
    os.utime(b, (1_700_000_000 + 86400, 1_700_000_000 + 86400))  # a day newer
    site = build(root, {"hourly": ([a], {"source": "archive", "every": "1h"}),
                        "fresh": ([b], {"source": "archive", "every": "1h"})})
    index = (site / "index.html").read_text()
    hourly = index.split('id="s-hourly"', 1)[1].split("</tr>", 1)[0]
    fresh = index.split('id="s-fresh"', 1)[1].split("</tr>", 1)[0]
    assert "stale" in hourly and 'data-due="2023-11-14T23:13:20Z"' in hourly
    assert "stale" not in fresh


def test_run_history_and_a_failed_latest_run(tmp_path: Path) -> None:
    runs = tmp_path / "data" / "x1" / "runs"
    runs.mkdir(parents=True)
    ok = {"window": "2026-11-28T00", "attempt": 1, "status": "ok", "new_tweets": 200,
          "pages": 2, "requests": 2, "retries": 0, "waits": 0.0, "rate_limit_waits": 0,
          "started": "2026-11-28T00:10:00Z", "finished": "2026-11-28T00:11:00Z",
          "error": None, "note": None, "since_id": None}
    bad = dict(ok, window="2026-11-28T06", status="failed", new_tweets=0,
               started="2026-11-28T06:10:00Z", finished="2026-11-28T06:10:05Z",
               error="X_BEARER_TOKEN is not set: <export it>")
    (runs / "2026-11-28T00.json").write_bytes(orjson.dumps(ok))
    (runs / "2026-11-28T06.json").write_bytes(orjson.dumps(bad))
    d = tmp_path / "data" / "x1" / "summary"
    from dnflow.summary import summarize

    summarize([V2 / "2sets.jsonl"], d, {"slug": "x1", "source": "x", "every": "6h"})
    site = tmp_path / "site"
    records = sorted(runs.glob("*.json"))
    build_page(d, site / "x1" / "index.html", site / "x1" / "downloads", "x1", runs=records)
    build_site([("x1", d)], site, runs={"x1": records})
    html = (site / "x1" / "index.html").read_text()
    assert "The latest collection run failed" in html
    assert "X_BEARER_TOKEN is not set: &lt;export it&gt;" in html
    history = table(html, "runs")
    assert [r[0] for r in history] == ["2026-11-28T06", "2026-11-28T00"]  # newest first
    assert history[1][4] == "200"
    assert "2026-11-28 06:10 UTC" in html  # last updated: the newest run
    saved = orjson.loads((site / "x1" / "downloads" / "runs.json").read_bytes())
    assert [r["window"] for r in saved] == ["2026-11-28T00", "2026-11-28T06"]
    index = (site / "index.html").read_text()
    assert "latest run: X_BEARER_TOKEN is not set" in index


# ------------------------------------------------------------------ escaping


def test_everything_from_tweets_is_escaped(site: Path) -> None:
    for page in ("crafted/index.html", "index.html", "compare.html"):
        html = (site / page).read_text()
        tags = parse(html).tags
        assert [t for t, _ in tags if t in ("script", "iframe", "object", "embed")] == (
            [("script")] if page == "index.html" else [])
        for tag, attrs in tags:
            assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
            for k in ("href", "src"):
                v = attrs.get(k)
                if v is not None:
                    assert re.match(r"(https?://|[a-z0-9._/-]*(#[\w-]+)?$|#)", v), (tag, v)
                    assert "javascript" not in v.lower() and "data:" not in v.lower()
        assert "<script>alert" not in html and "<img src=x" not in html
    html = (site / "crafted" / "index.html").read_text()
    text = "".join(parse(html).text)
    for shown in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                  "javascript:alert(1)", "<i>Crafted</i> & \"quoted\"", LONG_WORD,
                  "👩‍👩‍👧‍👦", "مرحبا بالعالم"):
        assert shown in text, shown
    assert 'dir="auto"' in html
    feed = (site / "feed.xml").read_text()
    ET.fromstring(feed)
    assert "<script>" not in feed and "&lt;script&gt;" in feed


def test_linkify() -> None:
    x = PLATFORMS["x"]
    html = str(tx.linkify("Hi @bob_1, see https://ex.org/a_(b). #tag1 #123 x#no "
                          "javascript:alert(1) <b>&", x))
    assert '<a class="mention" href="https://x.com/bob_1"' in html
    assert 'href="https://ex.org/a_(b)"' in html and "</a>. " in html
    assert 'href="https://x.com/hashtag/tag1"' in html
    assert "#123" in html and "hashtag/123" not in html and "hashtag/no" not in html
    assert "javascript:alert(1) &lt;b&gt;&amp;" in html
    assert 'href="https://x.com/hashtag/%D8%B3%D9%84%D8%A7%D9%85"' in str(tx.linkify("#سلام", x))
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.org", "https://a b",
                'https://x.org/"onmouseover=1', "http://" + "a" * 3000, None, 5):
        assert tx.safe_url(bad) is None
    assert tx.safe_url("HTTPS://Example.org/x?y=1&z=2") == "HTTPS://Example.org/x?y=1&z=2"


def test_a_platform_without_urls_links_no_hashtag_or_mention() -> None:
    html = str(tx.linkify("Hi @bob_1 #tag1 https://ex.org/a", Platform()))
    assert "@bob_1" in html and "#tag1" in html
    assert 'class="mention"' not in html and 'class="hashtag"' not in html
    assert 'href="https://ex.org/a"' in html


def test_charts_escape_labels_and_scale() -> None:
    svg = str(charts.bar_chart([("<script>", 10), ("b", 5)], chart_id="c", title="t<"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t&lt;" in svg
    widths = [float(w) for w in re.findall(r'class="bar"[^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1])
    pts = [(f"2022-01-{d:02d}T00:00:00Z", d) for d in range(1, 29)]
    assert str(charts.timeline_chart(pts, bucket="day", chart_id="t", title="x")).count(
        'class="bar"') == 28
    many = [(f"2022-01-01T00:00:{i % 60:02d}Z", i) for i in range(100_000)]
    assert len(str(charts.timeline_chart(many, bucket="minute", chart_id="t", title="x"))) \
        < 60_000
    minutes = [(f"2022-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z", i % 7)
               for i in range(360)]
    ticks = charts.time_ticks([t for t, _ in minutes], "minute")
    assert [label for _, label in ticks] == ["1 Jan 00:00", "01:00", "02:00", "03:00",
                                             "04:00", "05:00"]


# ------------------------------------------------------------------ determinism and downloads


def test_rendering_is_deterministic(site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    data = site.parent / "data"
    pairs = sorted((d.name, d / "summary") for d in data.iterdir() if d.is_dir())
    metas = {slug: meta for slug, (_, meta) in dict(SEARCHES, crafted=([], CRAFTED_META)).items()}
    levels = {slug: publish.settings(metas.get(slug, {"source": "archive"})) for slug, _ in pairs}
    for slug, d in pairs:
        build_page(d, again / slug / "index.html", again / slug / "downloads", slug,
                   base=site.parent, publish=levels[slug])
    build_site(pairs, again, publish=levels)
    first = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (site / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_zip_is_deterministic_and_holds_what_does_not_grow_per_tweet(site: Path) -> None:
    """Every download but tweets.csv, posts.parquet and the raw archives (their own
    downloads, which can be gigabytes: the zip is remade whenever the search changes)."""
    with zipfile.ZipFile(site / "kpop" / "downloads" / "kpop.zip") as z:
        names = z.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "kpop/summary.json" in names and "kpop/tweet-ids.txt" in names
        downloads = site / "kpop" / "downloads"
        for n in names:
            assert z.read(n) == (downloads / n.split("/", 1)[1]).read_bytes()
    on_disk = {str(p.relative_to(site / "kpop" / "downloads"))
               for p in (site / "kpop" / "downloads").rglob("*") if p.is_file()}
    assert {n.split("/", 1)[1] for n in names} == {
        n for n in on_disk
        if n not in ("kpop.zip", "tweets.csv", "posts.parquet") and not n.startswith("raw/")}
    assert "raw/2sets.jsonl" in on_disk and "tweets.csv" in on_disk


def test_many_raw_files_are_all_listed_on_their_own_page(tmp_path: Path) -> None:
    from dnflow.site.render import MAX_DOWNLOAD_ROWS, build_downloads

    raw = []
    for i in range(MAX_DOWNLOAD_ROWS + 5):
        path = tmp_path / "in" / f"chunk {i:03d}#<b>.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("{}\n")
        raw.append({"path": str(path), "formats": ["v2-page"]})
    summary = {"title": "Many <chunks>", "sources": raw}
    (tmp_path / "s").mkdir()
    got = build_downloads(tmp_path / "s", tmp_path / "d", "many", summary)
    assert len(got["raw"]) == MAX_DOWNLOAD_ROWS and got["raw_more"]["count"] == 5
    page = (tmp_path / "d" / "raw.html").read_text()
    assert page.count('<li><a href="raw/chunk%20') == MAX_DOWNLOAD_ROWS + 5
    assert "chunk%20104%23%3Cb%3E.jsonl" in page and "Many &lt;chunks&gt;" in page
    assert "<b>" not in page


def test_page_size_is_bounded(tmp_path: Path) -> None:
    """A summary the size of a million-tweet search still gives a small page."""
    d = tmp_path / "data" / "big" / "summary"
    d.mkdir(parents=True)
    n = 100_000
    long = "x" * 2000

    def write(name: str, header: str, make) -> None:
        with open(d / name, "w", encoding="utf-8") as f:
            f.write(header + "\n")
            for i in range(n):
                f.write(make(i) + "\n")

    write("hashtags.csv", "hashtag,count", lambda i: f"tag{i}{'y' * 200},{n - i}")
    write("mentions.csv", "username,count", lambda i: f"user{i},{n - i}")
    write("urls.csv", "url,count", lambda i: f"https://example.org/{long}/{i},{n - i}")
    write("domains.csv", "domain,count", lambda i: f"d{i}.example.org,{n - i}")
    write("users.csv", "username,name,tweets,followers,following",
          lambda i: f"user{i},{'N' * 50},{n - i},{i * 7},{i % 13}")
    write("media.csv", "media_key,type,url,count,preview_url,alt_text",
          lambda i: f"3_{i},photo,https://pbs.twimg.com/{i}.jpg,{n - i},,{'alt ' * 250}")
    write("timeline.csv", "time,count",
          lambda i: f"2020-01-01T{(i // 60) % 24:02d}:{i % 60:02d}:00Z,{i % 97}")
    rec = {"id": "1", "created_at": "2020-01-01T00:00:00Z", "text": "#w " * 8000,
           "author": {"username": "u", "name": "n" * 50}, "metrics": {}, "lang": "en",
           "urls": [{"url": f"https://example.org/{long}{i}", "domain": "example.org"}
                    for i in range(50)],
           "media": [{"key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/1.jpg",
                      "preview": None, "alt_text": "a" * 1000}] * 4}
    (d / "cards.json").write_bytes(orjson.dumps(
        {"top_retweeted": [dict(rec, retweets_in_search=5)] * 40, "sample": [rec] * 20}))
    (d / "summary.json").write_bytes(orjson.dumps({
        "slug": "big", "title": "Big", "status": "ok", "tweets": 1_000_000, "users": n,
        "timeline_bucket": "minute", "skipped": 10**6,
        "skipped_sample": [{"file": "f" * 300, "line": i, "reason": "r" * 300}
                           for i in range(100)],
        "sources": [{"path": f"missing/{i}.jsonl", "lines": 1, "tweets": 1, "new": 1,
                     "skipped": 0} for i in range(5000)],
        "runs": [{"stamp": f"2020-01-01T{i % 24:02d}", "tweets": i, "note": "n" * 200}
                 for i in range(5000)],
    }))
    site = tmp_path / "site"
    build_page(d, site / "big" / "index.html", site / "big" / "downloads", "big",
               base=tmp_path)
    size = (site / "big" / "index.html").stat().st_size
    assert size < 2_000_000, size
    html = (site / "big" / "index.html").read_text()
    assert html.count('<article class="tweet">') == 35


# ------------------------------------------------------------------ the Snakemake rules


SNAKEFILE = """\
import os
SEARCHES = {slugs}
SLUGS = sorted(SEARCHES)
SUMMARY_FILES = {files}
collected_runs = lambda slug: []
files_hash = lambda paths: str(len(paths))
include: {package_smk!r}
# as rules/common.smk makes them (dnflow.publish)
from dnflow import publish as dnpublish
PUBLISH = {{s: dnpublish.settings(v) for s, v in SEARCHES.items()}}
publisher_inputs = lambda wc: [f"data/{{s}}/summary/{{n}}" for s in SLUGS
                               if PUBLISH[s]["level"] != "everything"
                               for n in dnpublish.READS]
import sys
include: {site_smk!r}
include: {media_smk!r}

rule all:
    input: "site/index.html"
    default_target: True
"""


def test_site_rules_run_once(site: Path, tmp_path: Path) -> None:
    shutil.copytree(site.parent / "data", tmp_path / "data")
    slugs = {s: {"source": "archive"} for s in ("kpop", "empty", "broken")}
    for s in list(tmp_path.joinpath("data").iterdir()):
        if s.is_dir() and s.name not in slugs:
            shutil.rmtree(s)
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(SNAKEFILE.format(slugs=slugs, files=outputs.names(),
                                          site_smk=str(ROOT / "rules" / "site.smk"),
                                          package_smk=str(ROOT / "rules" / "package.smk"),
                                          media_smk=str(ROOT / "rules" / "media.smk")))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path),
           "--cores", "2"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    for slug in slugs:
        assert (tmp_path / "site" / slug / "index.html").exists()
        assert (tmp_path / "logs" / "site" / f"{slug}.log").exists()
    assert (tmp_path / "site" / "feed.xml").exists()
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert "Nothing to be done" in second.stdout + second.stderr
    # `snakemake --lint` of the whole workflow: tests/test_pipeline.py


def test_top_users_read_the_same_with_or_without_the_csv_module(tmp_path: Path,
                                                                monkeypatch) -> None:
    """users.csv without quoted fields is split by one regex (a big search has a row per
    author); the rankings are the csv module's, ties and empty counts included."""
    from dnflow.site import data as sd

    rows = [("username", "name", "tweets", "followers", "following")]
    rows += [(f"u{i % 7}", f"N {i}", str(1 + i % 3), "" if i % 11 == 0 else str(i * 37 % 50),
              "" if i % 5 == 0 else str(i % 4)) for i in range(300)]
    plain = tmp_path / "plain.csv"
    with open(plain, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    quoted = tmp_path / "quoted.csv"
    with open(quoted, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows + [("q,uote", 'a "b"', "1", "3", "1")])
    for path in (plain, quoted):
        got = sd.top_users(path)
        want_rows = [r for r in sd.iter_rows(path) if sd.to_int(r["followers"]) is not None]
        followed = sorted(want_rows, key=lambda r: (-int(r["followers"]), r["username"]))
        assert [r["followers"] for r in got[0]] == [r["followers"] for r in followed[:25]]
        assert [r["username"] for r in got[0]][:1] == [followed[0]["username"]]
        assert all(isinstance(v, str) for r in got[0] + got[1] for v in r.values())
    assert sd.top_users(tmp_path / "missing.csv") == ([], [])
    fast = sd.top_users(plain)
    split = [(a, b, u, sd._user_dict(r)) for a, b, u, r in sd.user_numbers(plain)]
    assert len(split) == 300
    monkeypatch.setattr(sd, "_USERS_BLOCK", 64)  # a few lines at a time: the same rows
    assert [(a, b, u, sd._user_dict(r)) for a, b, u, r in sd.user_numbers(plain)] == split
    monkeypatch.setattr(sd, "splits_at_commas", lambda *a: False)  # every file: csv module
    assert sd.top_users(plain) == fast
    assert list(sd.user_numbers(plain)) == split
