"""A toy source and its platform, defined only here: the proof that a source is one module.

Loaded by ``DNFLOW_PLUGINS=tests.toy_source`` (tests/test_sources.py), with no edit
anywhere in dnflow. Its collection job writes what it "fetched" as X API v2 pages, a format
dnflow already reads; its posts are on the "toy" platform, whose words and URLs the page
must show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from dnflow.platforms import PLATFORMS, Platform
from dnflow.sources import SOURCES, Source
from dnflow.sources.runs import chunk_files


@PLATFORMS.register
class Toy(Platform):
    name = "toy"
    label = "Toyland"
    words = {"post": "toot", "posts": "toots", "repost": "boost", "reposts": "boosts"}

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        return f"https://toy.example/@{quote(handle or '', safe='')}/{post_id}"

    def profile_url(self, handle: str | None) -> str | None:
        return f"https://toy.example/@{quote(handle.lstrip('@'), safe='')}" if handle else None

    def hashtag_url(self, tag: str) -> str | None:
        return f"https://toy.example/tags/{quote(tag.lstrip('#'), safe='')}"


def _page(n: int) -> dict[str, Any]:
    """One v2 page: ``n`` originals by @ana tagged #toy, each boosted once by @ben."""
    tweets, users = [], [{"id": "1", "username": "ana", "name": "Ana"},
                         {"id": "2", "username": "ben", "name": "Ben"}]
    for i in range(1, n + 1):
        text = f"toot {i} #toy"
        tweets.append({"id": str(100 + i), "author_id": "1", "text": text, "lang": "en",
                       "created_at": f"2026-11-01T0{i % 10}:00:00.000Z",
                       "entities": {"hashtags": [{"start": len(text) - 4, "end": len(text),
                                                  "tag": "toy"}]}})
        tweets.append({"id": str(200 + i), "author_id": "2", "text": f"RT @ana: {text}",
                       "lang": "en", "created_at": f"2026-11-01T0{i % 10}:30:00.000Z",
                       "referenced_tweets": [{"type": "retweeted", "id": str(100 + i)}]})
    originals = [t for t in tweets if "referenced_tweets" not in t]
    return {"data": tweets, "includes": {"users": users, "tweets": originals},
            "meta": {"result_count": len(tweets)}}


@SOURCES.register
class ToySource(Source):
    name = "toy"
    platform = "toy"
    properties = {"toots": {"type": "integer", "minimum": 1, "maximum": 9}}
    required = ("toots",)
    collects = True

    def raw_inputs(self, slug: str, search: Mapping[str, Any],
                   workdir: str | Path) -> list[str]:
        return [str(Path(p).relative_to(workdir))
                for p in chunk_files(Path(workdir, "data", slug, "raw"))]

    def collect(self, slug: str, search: Mapping[str, Any], stamp: str,
                datadir: str | Path, log: TextIO) -> dict[str, Any]:
        raw = Path(datadir, slug, "raw")
        raw.mkdir(parents=True, exist_ok=True)
        (raw / f"{stamp}.jsonl").write_text(json.dumps(_page(search["toots"])) + "\n")
        record = {"slug": slug, "stamp": stamp, "status": "ok",
                  "new_tweets": 2 * search["toots"], "note": "made up by the toy source"}
        out = Path(datadir, slug, "runs", f"{stamp}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record))
        log.write(f"toy: {record['new_tweets']} toots\n")
        return record
