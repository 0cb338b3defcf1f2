"""The site in a real browser: Debian's chromium through playwright, pages opened from file://.

Skipped when /usr/bin/chromium (or playwright) is missing, unless DNFLOW_REQUIRE_BROWSER=1
(CI), which makes that a failure.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import pytest

from dnflow.site.screenshot import CHROMIUM, launch, offline
from tests.site_helpers import (
    ARCHIVE_ALL,
    CORPUS,
    CRAFTED_META,
    LONG_WORD,
    V2,
    build,
    write_crafted,
)

REQUIRE = os.environ.get("DNFLOW_REQUIRE_BROWSER") == "1"

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright
except ImportError as e:  # pragma: no cover - depends on the machine
    if REQUIRE:
        raise
    pytest.skip(f"playwright / axe-playwright-python not installed: {e}", allow_module_level=True)

if not Path(CHROMIUM).exists():  # pragma: no cover - depends on the machine
    if REQUIRE:
        raise RuntimeError(f"DNFLOW_REQUIRE_BROWSER=1 but there is no chromium at {CHROMIUM}")
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; "
                "DNFLOW_REQUIRE_BROWSER=1 makes this a failure)", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dnflow.generate import write_archive

    root = tmp_path_factory.mktemp("browser-site")
    demo = root / "demo.jsonl.gz"
    write_archive(demo, 3000, seed=5, topic="music", query="#kpop")
    searches = {
        "kpop": ([V2 / "2sets.jsonl"], {"title": "K-pop and Brexit", **ARCHIVE_ALL}),
        "hashtags": ([CORPUS / "twarc-hashtags" / "test-data" / "tweets1.jsonl"],
                     {**ARCHIVE_ALL}),
        "demo": ([demo], {"title": "Generated demo", "source": "demo", "query": "#kpop"}),
        "crafted": ([write_crafted(root / "crafted.jsonl")], CRAFTED_META),
        "empty": ([V2 / "empty.json"], {**ARCHIVE_ALL}),
    }
    return build(root, searches, failed={"broken": "ValueError: <b>bad</b> archive"})


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


class Visit:
    """One page opened offline, with everything that happened while it was open."""

    def __init__(self, browser: Any, path: Path, dark: bool = False) -> None:
        self.context = browser.new_context(color_scheme="dark" if dark else "light",
                                           viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.console: list[Any] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        offline(self.page, self.blocked)
        self.page.on("console", lambda m: self.console.append(m))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(path.resolve().as_uri())

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def console_errors(self) -> list[str]:
        """Console errors, except the failed loads of the thumbnails we blocked."""
        return [f"{m.text} @ {m.location.get('url')}" for m in self.console
                if m.type == "error" and m.location.get("url") not in self.blocked]

    def scroll_through(self) -> None:
        """Bring every lazy thumbnail into view so it asks for its image."""
        self.page.evaluate("""async () => {
            for (let y = 0; y < document.body.scrollHeight; y += 600) {
                window.scrollTo(0, y); await new Promise(r => setTimeout(r, 20));
            }}""")
        self.page.wait_for_timeout(200)

    def axe(self) -> list[str]:
        """Serious and critical axe violations. Axe fetches the stylesheet to inspect it,
        which the page's CSP (no connect-src) refuses: that console error is axe's."""
        before = len(self.console)
        found = serious_violations(self.page)
        self.console[before:] = [m for m in self.console[before:] if "connect-src" not in m.text]
        return found

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any) -> Iterator[Any]:
    opened: list[Visit] = []

    def open_(path: Path, dark: bool = False) -> Visit:
        v = Visit(browser, path, dark)
        opened.append(v)
        return v

    yield open_
    for v in opened:
        v.close()


def serious_violations(page: Any) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["html"][:120] for n in v["nodes"][:3])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def csv_rows(path: Path, n: int = 25) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [r for _, r in zip(range(n), csv.DictReader(f), strict=False)]


def local_links_resolve(page: Any) -> list[str]:
    """Every file:// link or resource of the page that points nowhere."""
    urls = page.evaluate("""() => [...document.querySelectorAll('a[href], link[href]')]
        .map(a => a.href)""")
    broken = []
    for u in urls:
        if not u.startswith("file:"):
            continue
        path = Path(unquote(urlsplit(u).path))
        if not path.exists():
            broken.append(u)
    return broken


def media_urls(site: Path, slug: str) -> set[str]:
    d = site / slug / "downloads"
    urls = set()
    for r in csv_rows(d / "media.csv", 10**6):
        urls.update(u for u in (r["url"], r["preview_url"]) if u)
    cards = orjson.loads((d / "cards.json").read_bytes())
    for rec in cards["top_retweeted"] + cards["sample"]:
        for m in rec.get("media") or ():
            urls.update(u for u in (m.get("url"), m.get("preview")) if u)
    return urls


# ------------------------------------------------------------------ pages


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_index(site: Path, visit: Any, dark: bool) -> None:
    v = visit(site / "index.html", dark)
    page = v.page
    rows = page.locator("table.searches tbody tr")
    assert rows.count() == 6
    kpop = page.locator("#s-kpop")
    assert kpop.locator("td").nth(0).inner_text() == "200"
    assert kpop.locator("svg.spark").count() == 1
    broken = page.locator("#s-broken")
    assert "failed" in broken.inner_text().lower() and "<b>bad</b> archive" in broken.inner_text()
    assert v.axe() == []
    assert local_links_resolve(page) == []
    assert v.blocked == [] and v.console_errors() == [] and v.errors == []
    page.get_by_role("link", name="K-pop and Brexit").click()
    page.wait_for_load_state()
    assert page.url.endswith("/kpop/index.html")
    assert page.locator("h1").inner_text() == "K-pop and Brexit"


@pytest.mark.parametrize("slug", ["kpop", "demo"])
def test_search_page(site: Path, visit: Any, slug: str) -> None:
    v = visit(site / slug / "index.html")
    page = v.page
    d = site / slug / "downloads"
    summary = orjson.loads((d / "summary.json").read_bytes())
    numbers = page.locator(".numbers li").all_inner_texts()
    assert f"{summary['tweets']:,}\nTweets" in [re.sub(r"\s+", "\n", n) for n in numbers] \
        or any(n.split() == [f"{summary['tweets']:,}", "Tweets"] for n in numbers)
    assert page.locator("svg.chart.timeline").count() == 1
    assert page.locator("section.count svg.chart.bars").count() >= 8
    # the hashtag chart and its table show the top of hashtags.csv
    expected = csv_rows(d / "hashtags.csv")
    cells = page.locator("#hashtags tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert [(c[1], c[2]) for c in cells] == [
        ("#" + r["hashtag"], f"{int(r['count']):,}") for r in expected]
    assert page.locator("#hashtags svg rect.bar").count() == len(expected)
    assert page.locator("#hashtags table caption").inner_text().startswith("Top ")
    assert page.locator("#hashtags th[scope=col]").count() >= 3
    assert page.locator("#hashtags a[href='downloads/hashtags.csv']").count() == 1
    # nothing but file:// loads, except the lazy thumbnails (which the test blocks)
    v.scroll_through()
    assert set(v.blocked) <= media_urls(site, slug), set(v.blocked) - media_urls(site, slug)
    assert all(u.startswith("https://") for u in v.blocked)
    assert v.console_errors() == [] and v.errors == []
    assert v.axe() == []
    assert local_links_resolve(page) == []
    # links between pages
    page.get_by_role("link", name="Compare").click()
    page.wait_for_load_state()
    assert page.url.endswith("/compare.html")


def test_search_page_dark_and_keyboard(site: Path, visit: Any) -> None:
    v = visit(site / "demo" / "index.html", dark=True)
    page = v.page
    assert v.axe() == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()


def test_failed_and_empty_pages(site: Path, visit: Any) -> None:
    v = visit(site / "broken" / "index.html")
    assert "This search failed" in v.page.locator("[role=alert]").inner_text()
    assert v.axe() == []
    v2 = visit(site / "empty" / "index.html")
    assert "This search has no tweets." in v2.page.inner_text("main")
    assert v2.axe() == []
    assert v.console_errors() == v2.console_errors() == []


def test_compare(site: Path, visit: Any) -> None:
    v = visit(site / "compare.html")
    page = v.page
    heads = [h.strip() for h in page.locator("#hashtags thead th").all_text_contents()]
    assert heads[1:] == [CRAFTED_META["title"], "Generated demo", "hashtags", "K-pop and Brexit"]
    kpop = {r["hashtag"]: int(r["count"])
            for r in csv_rows(site / "kpop" / "downloads" / "hashtags.csv", 10**6)}
    cells = page.locator("#hashtags tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert cells
    for row in cells:
        count = int(re.search(r"\(([\d,]+)\)", row[4]).group(1).replace(",", ""))
        assert count == kpop.get(row[0][1:], 0), row
    assert page.locator("svg.chart.grouped").count() == 2
    assert v.axe() == []
    assert v.console_errors() == [] and v.blocked == []
    assert local_links_resolve(page) == []


# ------------------------------------------------------------------ hostile input


@pytest.mark.parametrize("path", ["crafted/index.html", "index.html", "compare.html"])
def test_crafted_archive_runs_no_script(site: Path, visit: Any, path: str) -> None:
    v = visit(site / path)
    page = v.page
    v.scroll_through()
    assert v.dialogs == []
    injected = page.evaluate("""() => ({
        scripts: [...document.scripts].map(s => s.textContent.slice(0, 40)),
        handlers: [...document.querySelectorAll('*')].filter(
            e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        x: document.querySelectorAll('img[src="x"], svg[onload], iframe, object, embed').length,
        js: [...document.querySelectorAll('[href], [src]')].filter(
            e => /^(javascript|data|vbscript):/i.test(e.getAttribute('href') ||
                                                       e.getAttribute('src'))).length,
        bold: document.querySelectorAll('main b, main i').length,
    })""")
    assert injected["handlers"] == injected["x"] == injected["js"] == injected["bold"] == 0
    allowed = 1 if path == "index.html" else 0  # the index's own staleness check
    assert len(injected["scripts"]) == allowed
    assert v.console_errors() == [] and v.errors == []
    if path == "crafted/index.html":
        text = page.inner_text("main")
        for shown in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                      "javascript:alert(1)", "مرحبا بالعالم", "👩‍👩‍👧‍👦"):
            assert shown in text, shown
        assert page.locator("h1").inner_text() == CRAFTED_META["title"]
        # the 280-character word wraps inside its card instead of widening the page
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        assert LONG_WORD in text
        assert page.locator("p.text[dir=auto]").count() >= 3
        assert v.axe() == []


def test_index_script_marks_overdue_searches_by_the_readers_clock(
        tmp_path: Path, visit: Any) -> None:
    archive = tmp_path / "old.jsonl"
    shutil.copyfile(V2 / "two_tweets.jsonl", archive)
    os.utime(archive, (1_700_000_000, 1_700_000_000))  # 2023: overdue by any clock now
    site = build(tmp_path, {"hourly": ([archive], {"source": "archive", "every": "1h"})})
    html = (site / "index.html").read_text()
    row = html.split('id="s-hourly"', 1)[1].split("</tr>", 1)[0]
    assert 'class="ok"' in row and "stale" not in row  # as rendered: nothing newer on the site
    v = visit(site / "index.html")
    assert "stale" in v.page.locator("#s-hourly").get_attribute("class")
    assert v.page.locator("#s-hourly .badge").inner_text().lower() == "stale"
    assert v.console_errors() == [] and v.errors == []


# ------------------------------------------------------------------ Bluesky beside X


def _hostile_bluesky(path: Path) -> Path:
    """A searchPosts page whose post carries markup in its text, name, tag, link and alt
    text, a javascript: link facet and an external card: shown, never run."""
    text = "<script>alert(5)</script> #xss @eve.bsky.social evil.example/pa..."
    raw = text.encode()

    def at(part: str) -> dict:
        i = raw.index(part.encode())
        return {"byteStart": i, "byteEnd": i + len(part.encode())}

    view = {
        "uri": "at://did:plc:kkergqgbhb56ptpwj2wenkje/app.bsky.feed.post/3lpk2u6qo222m",
        "cid": "bafyreicfzantnhto2yqgukytzgemg4bk7wi4yaojgk7ozdeq67uvsgfcqm",
        "author": {"did": "did:plc:kkergqgbhb56ptpwj2wenkje", "handle": "eve.bsky.social",
                   "displayName": "<b>Eve</b> <script>alert(6)</script>"},
        "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-02T10:00:00.000Z",
                   "text": text, "langs": ["en"], "tags": ["<i>tag</i>"],
                   "facets": [
                       {"index": at("#xss"), "features": [
                           {"$type": "app.bsky.richtext.facet#tag", "tag": "xss\"><b>"}]},
                       {"index": at("@eve.bsky.social"), "features": [
                           {"$type": "app.bsky.richtext.facet#mention",
                            "did": "did:plc:kkergqgbhb56ptpwj2wenkje"}]},
                       {"index": at("evil.example/pa..."), "features": [
                           {"$type": "app.bsky.richtext.facet#link",
                            "uri": "javascript:alert(7)"}]}],
                   "embed": {"$type": "app.bsky.embed.images", "images": [
                       {"alt": "<img src=x onerror=alert(8)>",
                        "image": {"$type": "blob", "ref": {"$link": "bafkreiabc"},
                                  "mimeType": "image/jpeg", "size": 1}}]}},
        "replyCount": 0, "repostCount": 0, "likeCount": 1, "quoteCount": 0,
        "indexedAt": "2026-11-02T10:00:01.000Z"}
    path.write_bytes(orjson.dumps({"posts": [view]}) + b"\n")
    return path


@pytest.fixture(scope="module")
def mixed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dnflow.generate import write_archive
    from dnflow.generate_bluesky import write_archive as write_bluesky

    root = tmp_path_factory.mktemp("mixed-site")
    x, sky = root / "x.jsonl.gz", root / "sky.jsonl.gz"
    write_archive(x, 1500, seed=7, topic="climate", query="#climatestrike")
    write_bluesky(sky, 1200, seed=7, topic="climate", query="#climatestrike")
    searches = {
        "x-demo": ([x], {"title": "Climate on X", "source": "demo"}),
        "sky-demo": ([sky], {"title": "Climate on Bluesky", "source": "demo"}),
        "sky-corpus": ([CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json"],
                       {"title": "Recorded Bluesky posts", **ARCHIVE_ALL}),
        "sky-hostile": ([_hostile_bluesky(root / "hostile.jsonl")],
                        {"title": "Hostile Bluesky post", **ARCHIVE_ALL}),
    }
    return build(root, searches)


@pytest.mark.parametrize("path", ["sky-demo/index.html", "sky-corpus/index.html",
                                  "sky-hostile/index.html", "index.html", "compare.html"])
def test_bluesky_pages_in_a_browser(mixed_site: Path, visit: Any, path: str) -> None:
    v = visit(mixed_site / path)
    page = v.page
    v.scroll_through()
    assert v.axe() == []
    assert v.console_errors() == [] and v.errors == [] and v.dialogs == []
    assert local_links_resolve(page) == []
    assert all(u.startswith("https://") for u in v.blocked)
    text = page.inner_text("main")
    if path.startswith("sky-"):
        assert page.locator("a[href^='https://bsky.app/']").count() >= 1
    if path in ("sky-demo/index.html", "sky-hostile/index.html"):  # (the corpus's own
        # posts may say "tweets": one has an image named "…50 tweets.jpg")
        assert not re.search(r"\b(re)?tweets?\b", text.lower().replace("tweets.csv", "")
                             .replace("tweet-ids.txt", "").replace("retweets.csv", ""))
    if path == "sky-demo/index.html":
        assert "What this data cannot show" in text
        assert "no follower or following counts" in page.inner_text("#followed")
        gap = " ".join(page.locator(".numbers li.gap").inner_text().split())
        assert gap.startswith("– Reposts") and gap.endswith("not in the data")
    if path == "sky-corpus/index.html":  # a feed with reposts: they are counted
        assert page.locator(".numbers li.gap").count() == 0
    if path == "sky-hostile/index.html":
        for shown in ("<script>alert(5)</script>", "<b>Eve</b>"):
            assert shown in text
        assert page.locator("main script, main b, main img[src='x']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
    if path == "compare.html":
        assert "The searches are on Bluesky and X" in text
        heads = page.locator("#hashtags thead th .platform").all_text_contents()
        assert sorted(set(heads)) == ["Bluesky", "X"]


@pytest.mark.parametrize("level", ["ids", "counts"])
def test_pages_published_below_everything(tmp_path: Path, visit: Any, level: str) -> None:
    """A real archive at ids (cards are links, small accounts "an account") and at counts
    (aggregates only): accessible, nothing loaded from elsewhere but thumbnails, every
    local link resolves (the downloads the level publishes)."""
    site = build(tmp_path, {"sets": ([V2 / "2sets.jsonl"], {"source": "archive",
                                                            "publish": level})})
    v = visit(site / "sets" / "index.html")
    assert f"Published as {level}" in v.page.locator(".publish-level").inner_text()
    cards = v.page.locator("article.tweet")
    assert cards.count() == (35 if level == "ids" else 0)
    if level == "ids":
        assert cards.locator(".ids-only a[href^='https://x.com/']").count() >= 30
    v.scroll_through()
    shared = {u for r in csv_rows(tmp_path / "data" / "sets" / "summary" / "media.csv", 10**6)
              for u in (r["url"], r["preview_url"]) if u}
    assert set(v.blocked) <= shared
    assert v.console_errors() == [] and v.errors == []
    assert v.axe() == []
    assert local_links_resolve(v.page) == []
