"""The originals most reposted in a search."""

from __future__ import annotations

import os
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from dnflow.counting import COUNTS, KeyInfoCount, Output
from dnflow.record import Post
from dnflow.rows import csv_plain, original_row

HEADER = ("tweet_id", "username", "text", "retweets")
TOP_CARDS = 25  # the most reposted originals shown as cards (dnflow.counting.cards)


@COUNTS.register
class Reposted(KeyInfoCount):
    """Reposts per original id; per original the first seen record of it (its row up to
    the count, and its card). An original the archive does not have has its id only."""

    name = "reposted"
    outputs = (Output("retweets.csv", HEADER, "originals most {repost}ed in this search",
                      level="ids", accounts=("username",), texts=("text",)),)

    def take(self, part: tuple[Counter, dict], posts: list[Post]) -> tuple[Counter, dict]:
        counter, info = part
        ids: list[str] = []
        for p in posts:
            of = p.repost_of
            if of:
                ids.append(of)
                orig = p.reposted
                if orig is not None and of not in info:
                    info[of] = original_row(of, orig)
        if ids:
            _count_elements(counter, ids)
        return part

    def distinct(self, part: Any) -> dict[str, int]:
        return {"retweeted_originals": self.size(part)}

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        top: list = []  # the most reposted originals the archive has, for the cards
        tmp = outdir / ".retweets.csv.tmp"
        with open(tmp, "wb") as f:
            f.write(",".join(HEADER).encode() + b"\r\n")
            lines = []
            for tid, c, known in self.ranked(part):
                if known is None:
                    lines.append(csv_plain((tid, "", "", c)).encode())
                else:
                    lines.append(known[0] + b"%d\r\n" % c)
                    if len(top) < TOP_CARDS:
                        top.append((c, known))
                if len(lines) >= 4096:
                    f.write(b"".join(lines))
                    lines.clear()
            f.write(b"".join(lines))
        os.replace(tmp, outdir / "retweets.csv")
        ctx["top_reposted"] = top  # dnflow.counting.cards
