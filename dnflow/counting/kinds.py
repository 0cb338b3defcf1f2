"""How many posts of each kind: the page's first numbers."""

from __future__ import annotations

from typing import Any

from dnflow.counting import COUNTS, Count
from dnflow.record import Post

_FIELDS = ("tweets", "originals", "retweets", "quotes", "replies")


@COUNTS.register
class Kinds(Count):
    """Posts, originals, reposts and quotes by kind; replies are every post that answers
    another (a quote that replies is a quote and a reply). summary.json has ``posts`` for
    every platform and keeps X's words ("tweets", the same number, and "retweets")
    because users' scripts read them."""

    name = "kinds"

    def start(self) -> list[int]:
        return [0, 0, 0, 0, 0]

    def take(self, part: list[int], posts: list[Post]) -> list[int]:
        originals = reposts = quotes = replies = 0
        for p in posts:
            kind = p.kind
            if kind == "repost":
                reposts += 1
            elif kind == "quote":
                quotes += 1
            elif kind == "original":
                originals += 1
            if p.reply_to:
                replies += 1
        part[0] += len(posts)
        part[1] += originals
        part[2] += reposts
        part[3] += quotes
        part[4] += replies
        return part

    def merge(self, part: list[int], later: list[int]) -> list[int]:
        return [a + b for a, b in zip(part, later, strict=True)]

    def summary(self, part: list[int]) -> dict[str, Any]:
        # "posts" is every platform's word for the counted posts; "tweets" the same
        # number, kept for the scripts that read X searches' summaries
        return {"posts": part[0], **dict(zip(_FIELDS, part, strict=True))}
