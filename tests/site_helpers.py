"""Building test sites: real summaries (dnflow.summary) of corpus files and crafted archives."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson

from dnflow import publish
from dnflow.site.render import build_page, build_site
from dnflow.summary import summarize, write_failed

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DNFLOW_CORPUS", ROOT.parent / "shared" / "corpus"))
V2 = CORPUS / "twarc-csv" / "test-data"

XSS_TEXT = "<script>alert(1)</script> and <img src=x onerror=alert(1)> #xss @evil"
EVIL_NAME = "\"Eve\" <b>'quotes'</b> <script>alert(3)</script>"
RTL_TEXT = "مرحبا بالعالم #سلام ‏שלום עולם @rtl_user"
ZWJ_TEXT = "family 👩‍👩‍👧‍👦 rainbow 🏳️‍🌈 coder 👨🏽‍💻 flag 🇺🇦 #emoji"
LONG_WORD = "a" * 280


def _user(uid: str, username: str, name: str, followers: int = 10, following: int = 5) -> dict:
    return {"id": uid, "username": username, "name": name,
            "public_metrics": {"followers_count": followers, "following_count": following,
                               "tweet_count": 1, "listed_count": 0}}


def _tweet(tid: str, author: str, text: str, when: str, **extra: Any) -> dict:
    t = {"id": tid, "author_id": author, "text": text, "created_at": when, "lang": "en",
         "edit_history_tweet_ids": [tid],
         "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": 2,
                            "quote_count": 0}}
    t.update(extra)
    return t


def crafted_page() -> dict:
    """One v2 search page full of things a page must show, not run."""
    t1 = _tweet(
        "1500000000000000001", "901", XSS_TEXT + " https://t.co/js https://t.co/ok",
        "2022-03-01T10:00:00.000Z",
        entities={
            "hashtags": [{"start": 0, "end": 4, "tag": "xss"},
                         {"start": 0, "end": 4, "tag": "<svg onload=alert(6)>"}],
            "mentions": [{"start": 0, "end": 5, "username": "evil"}],
            "urls": [
                {"start": 0, "end": 1, "url": "https://t.co/js",
                 "expanded_url": "javascript:alert(1)", "display_url": "javascript:alert(1)"},
                {"start": 0, "end": 1, "url": "https://t.co/ok",
                 "expanded_url": "https://example.org/a?b=1&c=\"><script>alert(2)</script>",
                 "display_url": "example.org/a"},
                {"start": 0, "end": 1, "url": "https://t.co/dt",
                 "expanded_url": "data:text/html,<script>alert(7)</script>"},
            ],
        },
        attachments={"media_keys": ["3_1", "3_2"]},
        source="<script>alert(8)</script>",
    )
    t2 = _tweet("1500000000000000002", "902", RTL_TEXT, "2022-03-01T11:00:00.000Z", lang="ar",
                entities={"hashtags": [{"start": 0, "end": 1, "tag": "سلام"}]})
    t3 = _tweet("1500000000000000003", "903", ZWJ_TEXT + " " + LONG_WORD,
                "2022-03-01T12:00:00.000Z",
                entities={"hashtags": [{"start": 0, "end": 1, "tag": "emoji"}]})
    rt = _tweet("1500000000000000004", "902", "RT @eve_1: " + XSS_TEXT[:40],
                "2022-03-01T13:00:00.000Z",
                referenced_tweets=[{"type": "retweeted", "id": "1500000000000000001"}])
    rt2 = _tweet("1500000000000000005", "903", "RT @eve_1: " + XSS_TEXT[:40],
                 "2022-03-01T14:00:00.000Z",
                 referenced_tweets=[{"type": "retweeted", "id": "1500000000000000001"}])
    return {
        "data": [t1, t2, t3, rt, rt2],
        "includes": {
            "users": [_user("901", "eve_1", EVIL_NAME, 1000, 0),
                      _user("902", "rtl_user", "مستخدم עברית"),
                      _user("903", "zwj", "👩‍👩‍👧‍👦 " + LONG_WORD)],
            "tweets": [t1],
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "javascript:alert(4)",
                 "alt_text": "<img src=x onerror=alert(5)>"},
                {"media_key": "3_2", "type": "photo",
                 "url": "https://pbs.twimg.com/media/evil.jpg\" onerror=\"alert(9)",
                 "alt_text": "a \"quoted\" <alt>"},
            ],
        },
        "meta": {"result_count": 5, "newest_id": "1500000000000000005",
                 "oldest_id": "1500000000000000001"},
    }


def write_crafted(path: Path) -> Path:
    path.write_bytes(orjson.dumps(crafted_page()) + b"\n" + b"{not json\n")
    return path


CRAFTED_META = {
    "title": "<i>Crafted</i> & \"quoted\" <script>alert(10)</script>",
    "description": "Hostile input: <script>alert(11)</script>",
    "source": "archive",
    "publish": "everything",  # its pages are tested for how they show text
    "query": "<img src=x onerror=alert(12)>",
}


# an archive search whose pages are tested for how they show text: published in full
# (an archive's default level, ids, publishes no text: tests/test_publish.py)
ARCHIVE_ALL = {"source": "archive", "publish": "everything"}

# searches.yaml keys the page job takes as params, not the summary (rules/site.smk)
SITE_KEYS = ("publish", "public_figure_followers")


def make_summary(data: Path, slug: str, files: Sequence[Path], meta: Mapping[str, Any]
                 ) -> Path:
    d = data / slug / "summary"
    summarize(files, d, {"slug": slug, **{k: v for k, v in meta.items()
                                          if k not in SITE_KEYS}})
    return d


def make_failed(data: Path, slug: str, error: str, meta: Mapping[str, Any] | None = None
                ) -> Path:
    d = data / slug / "summary"
    write_failed(d, {"slug": slug, "source": "archive", **(meta or {})}, error)
    return d


def build(root: Path, searches: Mapping[str, tuple[Sequence[Path], Mapping[str, Any]]],
          failed: Mapping[str, str] | None = None) -> Path:
    """data/ and site/ under ``root`` for the given searches; returns the site dir."""
    data, site = root / "data", root / "site"
    pairs = []
    levels = {}  # each search's publishing, as rules/common.smk makes it (dnflow.publish)
    for slug, (files, meta) in searches.items():
        pairs.append((slug, make_summary(data, slug, files, meta)))
        levels[slug] = publish.settings(meta)
    for slug, error in (failed or {}).items():
        pairs.append((slug, make_failed(data, slug, error)))
        levels[slug] = publish.settings({"source": "archive"})
    pairs.sort()
    for slug, d in pairs:
        build_page(d, site / slug / "index.html", site / slug / "downloads", slug, base=root,
                   publish=levels[slug])
    build_site(pairs, site, publish=levels)
    return site


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    p.close()
    return p
