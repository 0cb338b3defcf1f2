"""The originals most reposted in a search."""

from __future__ import annotations

import os
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from dnflow.counting import COUNTS, KeyInfoCount, Output, sorted_counts
from dnflow.record import Post
from dnflow.rows import csv_plain, original_row

HEADER = ("tweet_id", "username", "text", "retweets")


@COUNTS.register
class Reposted(KeyInfoCount):
    """Reposts per original id; per original the first seen record of it (its row up to
    the count, and its card). An original the archive does not have has its id only."""

    name = "reposted"
    outputs = (Output("retweets.csv", HEADER, "originals most {repost}ed in this search"),)

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

    def distinct(self, part: tuple) -> dict[str, int]:
        return {"retweeted_originals": len(part[0])}

    def write(self, part: tuple, outdir: Path, ctx: dict[str, Any]) -> None:
        counter, info = part
        top = sorted_counts(counter)
        lines = [",".join(HEADER).encode() + b"\r\n"]
        for tid, c in top:
            known = info.get(tid)
            lines.append(known[0] + b"%d\r\n" % c if known is not None
                         else csv_plain((tid, "", "", c)).encode())
        tmp = outdir / ".retweets.csv.tmp"
        tmp.write_bytes(b"".join(lines))
        os.replace(tmp, outdir / "retweets.csv")
        ctx["top_reposted"] = (top, info)  # the cards' (dnflow.counting.cards)
