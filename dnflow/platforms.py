"""Platforms: where posts live. Each knows its words and its own URLs.

A format's records name their platform (``Post.platform``); pages take the words
("tweets" or "posts") and every link to the platform (post, profile, hashtag) from it,
never from a template. A new platform is one ``Platform`` subclass registered here or in
a plugin module (dnflow.registry).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from dnflow.registry import Registry


class Platform:
    """A platform's words and URLs. Subclasses set ``name`` and override what differs."""

    name = ""
    label = ""  # as people write it: "X", "Bluesky"
    # the words pages use: singular and plural of a post and of a repost
    words = {"post": "post", "posts": "posts", "repost": "repost", "reposts": "reposts"}
    # the tweets.csv ``type`` of each record kind (dnflow.record.KINDS)
    kind_words = {"original": "original", "repost": "repost", "quote": "quote",
                  "reply": "reply"}

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        return None

    def profile_url(self, handle: str | None) -> str | None:
        return None

    def hashtag_url(self, tag: str) -> str | None:
        return None


PLATFORMS: Registry[Platform] = Registry("platform")


_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")


def x_handle(handle: Any) -> bool:
    """Whether ``handle`` is an X username that can go in a URL as it is."""
    # two C-level tests settle most handles (word characters, not starting with a digit)
    if handle.__class__ is str and handle.isascii() and len(handle) <= 50:
        return handle.isidentifier() or _X_HANDLE.fullmatch(handle) is not None
    return False


@PLATFORMS.register
class X(Platform):
    name = "x"
    label = "X"
    words = {"post": "tweet", "posts": "tweets", "repost": "retweet", "reposts": "retweets"}
    kind_words = {"original": "original", "repost": "retweet", "quote": "quote",
                  "reply": "reply"}

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        # ids are digits and usernames word characters: anything else cannot be a link
        if not (post_id.__class__ is str and post_id.isascii() and post_id.isdigit()):
            return None
        return f"https://x.com/{handle if x_handle(handle) else 'i/web'}/status/{post_id}"

    def profile_url(self, handle: str | None) -> str | None:
        if not handle:
            return None
        if handle.isascii() and handle.isalnum():  # nothing to quote (most handles)
            return "https://x.com/" + handle
        return "https://x.com/" + quote(handle.lstrip("@＠"), safe="")

    def hashtag_url(self, tag: str) -> str | None:
        return "https://x.com/hashtag/" + quote(tag.lstrip("#＃"), safe="")
