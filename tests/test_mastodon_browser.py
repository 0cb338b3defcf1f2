"""A Mastodon search's page in a real browser: accessible (axe), nothing loads from
elsewhere but thumbnails, every local link resolves, no script runs; the coverage table,
the opt-out note and withheld cards are there. Skipped like tests/test_browser.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from dnflow.generate_mastodon import write_demo_archive
from dnflow.site.render import build_page, build_site
from dnflow.summary import summarize

from .test_browser import browser, local_links_resolve, media_urls, visit  # noqa: F401

INSTANCES = ["mastodon.social", "fosstodon.org"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mastodon-browser")
    raw = root / "data/fedi/raw/2026-11-28T06.jsonl"
    raw.parent.mkdir(parents=True)
    write_demo_archive(raw, 800, 3)
    meta = {"slug": "fedi", "title": "Fediverse <climate>", "source": "mastodon",
            "query": "#climatestrike", "every": "6h", "instances": INSTANCES}
    summary_dir = root / "data/fedi/summary"
    summarize([raw], summary_dir, meta)
    run = root / "data/fedi/runs/2026-11-28T06.json"
    run.parent.mkdir(parents=True)
    run.write_bytes(orjson.dumps({
        "window": "2026-11-28T06", "attempt": 1, "status": "failed", "finished":
        "2026-11-28T06:20:00Z", "new_tweets": 760, "pages": 20, "requests": 22,
        "error": "fosstodon.org requires login for its hashtag timelines (401 Unauthorized: "
                 "<b>login</b>)",
        "instances": {"mastodon.social": {"status": "done", "posts": 760, "new": 760,
                                          "left_out": 40, "requests": 21},
                      "fosstodon.org": {"status": "failed", "posts": 0, "new": 0,
                                        "left_out": 0, "requests": 1,
                                        "error": "fosstodon.org requires login"}}}))
    site = root / "site"
    # published in full (`publish: everything`): its cards are tested for what opt-outs
    # withhold whatever the level (a mastodon search's default level, ids, shows no text)
    level = {"level": "everything", "followers": 5000}
    build_page(summary_dir, site / "fedi/index.html", site / "fedi/downloads", "fedi",
               base=root, runs=[run], publish=level)
    build_site([("fedi", summary_dir)], site, runs={"fedi": [run]}, publish={"fedi": level})
    return site


def test_mastodon_page_in_a_browser(site: Path, visit: Any) -> None:  # noqa: F811
    v = visit(site / "fedi" / "index.html")
    page = v.page
    assert page.locator("h1").inner_text() == "Fediverse <climate>"
    numbers = " ".join(page.locator(".numbers li").all_inner_texts())
    assert "Boosts" in numbers and "Tweets" not in numbers
    assert "Opt-outs are respected" in page.locator(".optouts").inner_text()
    rows = page.locator("table:has(caption:text('Coverage by instance')) tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").nth(0).inner_text() == "760"
    # withheld authors: "an account", nothing of what they wrote
    withheld = page.locator("article.tweet:has(p.withheld)")
    assert withheld.count() >= 1
    assert withheld.first.locator("a.handle, ul.links, .thumbs").count() == 0
    assert "an account" in withheld.first.locator(".name").inner_text()
    # hashtags link to the search's first instance
    href = page.locator("#hashtags tbody a").first.get_attribute("href")
    assert href == "https://mastodon.social/tags/climatestrike"
    v.scroll_through()
    assert set(v.blocked) <= media_urls(site, "fedi"), set(v.blocked) - media_urls(site, "fedi")
    assert v.console_errors() == [] and v.errors == [] and v.dialogs == []
    assert v.axe() == []
    assert local_links_resolve(page) == []
    assert not (site / "fedi/downloads/raw").exists() or not any(
        (site / "fedi/downloads/raw").iterdir())


def test_mastodon_index_row(site: Path, visit: Any) -> None:  # noqa: F811
    v = visit(site / "index.html")
    row = v.page.locator("#s-fedi")
    assert "fosstodon.org requires login" in row.inner_text()
    assert v.axe() == [] and v.errors == []
