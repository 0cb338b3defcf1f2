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
