"""Media keys shared, with what is known of each."""

from __future__ import annotations

from collections import Counter, _count_elements  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from dnflow.counting import (
    COUNTS,
    KeyInfoCount,
    Output,
    Page,
    write_csv,
)
from dnflow.counting.keys import KeyCount

HEADER = ("media_key", "type", "url", "count", "preview_url", "alt_text")


@COUNTS.register
class Media(KeyInfoCount):
    """Posts per media key (a repost counts its original's), and per key its type, URL,
    preview and alt text: from the first post that gives a URL, else the first."""

    name = "media"
    outputs = (Output("media.csv", HEADER, "media key, type, url, {posts}, preview, alt text",
                      level="ids", texts=("alt_text",), scan=("url", "preview_url")),)

    def take(self, part: tuple[Counter, dict], posts: Page) -> tuple[Counter, dict]:
        counter, info = part
        keys: list[str] = []
        for p in posts.sources:
            media = p.media
            if media:
                for m in media:
                    key = m["key"]
                    if key is None:
                        continue
                    keys.append(key)
                    known = info.get(key)
                    if known is None or (known[1] is None and m["url"]):
                        info[key] = (m["type"], m["url"], m["preview"], m["alt_text"])
        if keys:
            _count_elements(counter, keys)
        return part

    def pick(self, info: tuple, later: tuple) -> tuple:
        return later if info[1] is None and later[1] else info

    def distinct(self, part: Any) -> dict[str, int]:
        return {"media": self.size(part)}

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        write_csv(outdir / "media.csv", HEADER,
                  ((k, i[0] or "", i[1] or "", c, i[2] or "", i[3] or "")
                   for k, c, i in self.ranked(part)))


@COUNTS.register
class MediaSets(KeyCount):
    """Posts per set of two or more media keys carried together (a repost counts its
    original's): what turns media.csv's posts per key into posts per group of
    near-identical images (dnflow.media.grouping), where a post with two images of one
    group is one post, not two. Keys space-separated, sorted."""

    name = "media_sets"
    file = "media-sets.csv"
    header = ("media_keys", "count")
    note = "media keys carried together, {posts}"
    level = "ids"

    def keys(self, posts: Page) -> list:
        out = []
        for p in posts.sources:
            media = p.media
            if len(media) > 1:
                keys = {m["key"] for m in media if m["key"] is not None}
                if len(keys) > 1:
                    out.append(" ".join(sorted(keys)))
        return out

    def distinct(self, part: Any) -> dict[str, int]:
        return {}
