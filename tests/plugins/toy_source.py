"""A toy source and its platform, defined only here: the proof that a source is one module.

Loaded by ``DNFLOW_PLUGINS=tests.plugins.toy_source`` (tests/test_sources.py), with no
edit anywhere in dnflow. Its collection job writes what it "fetched" in the toy platform's
own format (a detector and a normalizer to the post record, registered here too); its
posts are on the "toy" platform, whose words and URLs the page must show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from dnflow.formats import FORMATS, Batch, Format
from dnflow.platforms import PLATFORMS, Platform
from dnflow.record import Author, Post, post
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


_TOY = Toy()


@FORMATS.register
class ToyLines(Format):
    """The toy platform's own archive lines: ``{"toots": [...]}``, each toot with an id,
    an author, a text, tags, a time and what it boosts."""

    name = "toy-lines"
    platform = "toy"

    def split(self, value: Any) -> Batch | None:
        if isinstance(value, dict) and isinstance(value.get("toots"), list):
            # the line's toots by id: a boost's original, when the line has it
            by_id = {t.get("id"): t for t in value["toots"] if isinstance(t, dict)}
            return Batch(self.name, value["toots"], by_id, _toot_id, _toot)
        return None


def _toot_id(raw: dict) -> Any:
    return raw.get("id")


def _toot(raw: dict, by_id: dict, _depth: int = 0) -> Post:
    who = raw["by"]
    of = raw.get("boosts")
    boosted = _toot(by_id[of], by_id, 1) if of in by_id and not _depth else None
    author = Author(None, who, who.title(), None, None, _TOY.profile_url(who), None, None)
    return post("toy", raw["id"], _TOY.post_url(who, raw["id"]), raw["at"], author,
                raw["text"], "en", of, None, None, boosted, raw["tags"], [], [], [],
                "toy app", {})


def _page(n: int) -> dict[str, Any]:
    """One line: ``n`` originals by @ana tagged #toy, each boosted once by @ben."""
    toots = []
    for i in range(1, n + 1):
        toots.append({"id": str(100 + i), "by": "ana", "text": f"toot {i} #toy",
                      "tags": ["toy"], "at": f"2026-11-01T0{i % 10}:00:00Z"})
        toots.append({"id": str(200 + i), "by": "ben", "text": f"boost of toot {i}",
                      "tags": [], "at": f"2026-11-01T0{i % 10}:30:00Z",
                      "boosts": str(100 + i)})
    return {"toots": toots}


@SOURCES.register
class ToySource(Source):
    name = "toy"
    platform = "toy"
    formats = ("toy-lines",)
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
