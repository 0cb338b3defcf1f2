"""cards.json: the most reposted originals and a sample of posts, as cards."""

from __future__ import annotations

import heapq
import zlib
from pathlib import Path
from typing import Any

import orjson

from dnflow.counting import COUNTS, Count, Output
from dnflow.optouts import WITHHELD_ACCOUNTS, hide_mentions_in_card
from dnflow.record import Post
from dnflow.rows import card, write_json

SAMPLE_SIZE = 10


@COUNTS.register
class Cards(Count):
    """The sample: the SAMPLE_SIZE posts with the smallest (CRC-32, Adler-32) of their id,
    the same whatever order the archive is read in. Its part is a min-heap of
    (-hash, id, card): a post's card is made when it enters the sample."""

    name = "cards"
    outputs = (Output("cards.json", (), "the {posts} shown as cards, as records"),)

    def start(self) -> list:
        return []

    def take(self, part: list, posts: list[Post]) -> list:
        crc32, adler32 = zlib.crc32, zlib.adler32
        full = len(part) >= SAMPLE_SIZE
        worst = (-part[0][0]) >> 32 if full else 1 << 32  # a CRC above it cannot enter
        for p in posts:
            tid = p.id
            b = tid.encode()
            h = crc32(b)
            if h <= worst:
                key = -(h << 32 | adler32(b))
                if not full:
                    heapq.heappush(part, (key, tid, card(p)))
                    full = len(part) >= SAMPLE_SIZE
                elif key > part[0][0] or (key == part[0][0] and tid > part[0][1]):
                    heapq.heapreplace(part, (key, tid, card(p)))
                else:
                    continue
                if full:
                    worst = (-part[0][0]) >> 32
        return part

    def merge(self, part: list, later: list) -> list:
        both = heapq.nlargest(SAMPLE_SIZE, part + later, key=lambda s: s[:2])
        heapq.heapify(both)
        return both

    def write(self, part: list, outdir: Path, ctx: dict[str, Any]) -> None:
        # the most reposted originals the archive has (dnflow.counting.reposts)
        cards = [{**orjson.loads(known[1]), "retweets_in_search": c}
                 for c, known in ctx.get("top_reposted", [])]
        sample = [c for _, _, c in sorted(part, key=lambda s: s[:2], reverse=True)]
        hidden = ctx.get(WITHHELD_ACCOUNTS)
        if hidden:  # others' posts mentioning a withheld author (dnflow.optouts)
            cards = [hide_mentions_in_card(c, hidden) for c in cards]
            sample = [hide_mentions_in_card(c, hidden) for c in sample]
        write_json(outdir / "cards.json", {"top_retweeted": cards, "sample": sample})
