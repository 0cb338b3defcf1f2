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

    # how a mention is written in a post's text, after the "@" (a regex, for linking it)
    mention_pattern = r"[A-Za-z0-9_]{1,15}(?![A-Za-z0-9_@])"
    # the generator of its posts for `source: demo` (``platform:``): "module:function",
    # imported only when a demo is made; called as (path, posts, seed, topic=, query=)
    # and returns how many posts it wrote. "" when the platform has none.
    demo = ""

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        return None

    def profile_url(self, handle: str | None) -> str | None:
        return None

    def hashtag_url(self, tag: str) -> str | None:
        return None

    # whether a post's link is its record's ``url`` (cards carry it) rather than one made
    # from its handle and id (X: cards stay as they were)
    post_urls_in_records = False
    # whether some authors' posts are counted but never published (dnflow.optouts): a
    # count table's row without a handle is then "an account"
    withholds_authors = False

    def for_search(self, summary: Any) -> Platform:
        """The platform as one search's pages see it (a Mastodon search links hashtags to
        its own instance); most platforms are the same for every search."""
        return self

    def handle_ok(self, handle: str) -> bool:
        """Whether a handle from a count table may become a profile link."""
        return _WORD_HANDLE.fullmatch(handle) is not None


PLATFORMS: Registry[Platform] = Registry("platform")


_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")
# word-character handles (X's, and what a platform that says nothing else links)
_WORD_HANDLE = re.compile(r"@?[A-Za-z0-9_]{1,50}")


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
    demo = "dnflow.generate:write_archive"

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        # ids are digits and usernames word characters: anything else cannot be a link
        if not (post_id.__class__ is str and post_id.isascii() and post_id.isdigit()):
            return None
        return f"https://x.com/{handle if x_handle(handle) else 'i/web'}/status/{post_id}"

    def profile_url(self, handle: str | None) -> str | None:
        if not handle:
            return None
        # nothing to quote in most handles (letters, digits, underscores)
        if handle.isascii() and (handle.isalnum() or handle.isidentifier()):
            return "https://x.com/" + handle
        return "https://x.com/" + quote(handle.lstrip("@＠"), safe="")

    def hashtag_url(self, tag: str) -> str | None:
        return "https://x.com/hashtag/" + quote(tag.lstrip("#＃"), safe="")


# Bluesky handles are domain names (RFC 1035 labels, a letter-led last label); DIDs stand
# in where a handle is unknown (Jetstream events carry only the author's DID)
_BSKY_HANDLE = re.compile(
    r"@?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?")
_DID = re.compile(r"did:(?:plc:[a-z2-7]{24}|web:[A-Za-z0-9.-]{1,253})")
# at://<did or handle>/app.bsky.feed.post/<record key>
_AT_POST = re.compile(r"at://([^/\s]+)/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]{1,512})")


@PLATFORMS.register
class Bluesky(Platform):
    name = "bluesky"
    label = "Bluesky"
    words = {"post": "post", "posts": "posts", "repost": "repost", "reposts": "reposts"}
    # "@alice.bsky.social": a domain name, not followed by more of one
    mention_pattern = (r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                       r"[A-Za-z][A-Za-z0-9-]{0,61}(?![A-Za-z0-9.@-]*[A-Za-z0-9@])")
    demo = "dnflow.generate_bluesky:write_archive"

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        # the id is the post's at-URI, whose authority is the author's DID: bsky.app
        # resolves it (a handle given beside it could belong to someone else since)
        m = _AT_POST.fullmatch(post_id) if post_id.__class__ is str else None
        if m is None or not (_DID.fullmatch(m.group(1)) or _BSKY_HANDLE.fullmatch(m.group(1))):
            return None
        return f"https://bsky.app/profile/{m.group(1)}/post/{m.group(2)}"

    def profile_url(self, handle: str | None) -> str | None:
        if not handle:
            return None
        handle = handle.lstrip("@")
        if not self.handle_ok(handle):
            return None
        return "https://bsky.app/profile/" + handle

    def hashtag_url(self, tag: str) -> str | None:
        tag = tag.lstrip("#＃")
        return "https://bsky.app/hashtag/" + quote(tag, safe="") if tag else None

    def handle_ok(self, handle: str) -> bool:
        return (_BSKY_HANDLE.fullmatch(handle) is not None
                or _DID.fullmatch(handle.lstrip("@")) is not None)
@PLATFORMS.register
class Mastodon(Platform):
    """Mastodon and the fediverse servers that speak its API.

    A status's id is only its id on the server that gave it, so its link is the status's
    own ``url`` (kept in the record and on cards), never made from an id. Handles are
    ``user@server``; a hashtag links to its page on the search's first instance
    (:meth:`for_search`), or nowhere when the search names none (an archive)."""

    name = "mastodon"
    label = "Mastodon"
    words = {"post": "post", "posts": "posts", "repost": "boost", "reposts": "boosts"}
    kind_words = {"original": "original", "repost": "boost", "quote": "quote",
                  "reply": "reply"}
    post_urls_in_records = True
    withholds_authors = True
    demo = "dnflow.generate_mastodon:write_demo"

    def __init__(self, home: str | None = None) -> None:
        self.home = home.rstrip("/") if home else None

    def for_search(self, summary: Any) -> Mastodon:
        """This platform with the search's first instance as the home of its hashtags."""
        instances = summary.get("instances") if hasattr(summary, "get") else None
        if isinstance(instances, list) and instances and isinstance(instances[0], str):
            return Mastodon(instance_url(instances[0]))
        return self

    def post_url(self, handle: str | None, post_id: str | None) -> str | None:
        return None  # only the status's own url says where it lives

    def profile_url(self, handle: str | None) -> str | None:
        if not handle or handle.__class__ is not str:
            return None
        user, _, server = handle.lstrip("@").partition("@")
        if not user:
            return None
        base = f"https://{server}" if server and _HOST.fullmatch(server) else (
            None if server else self.home)
        return f"{base}/@{quote(user, safe='')}" if base else None

    def hashtag_url(self, tag: str) -> str | None:
        if not self.home:
            return None
        return f"{self.home}/tags/{quote(tag.lstrip('#＃'), safe='')}"

    def handle_ok(self, handle: str) -> bool:
        user, _, server = handle.lstrip("@").partition("@")
        return bool(_USER.fullmatch(user)) and (not server or bool(_HOST.fullmatch(server)))


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+(?::[0-9]{1,5})?")
_USER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def instance_url(instance: str) -> str:
    """An instance as searches.yaml gives it (``mastodon.social``, or a base URL such as
    ``http://127.0.0.1:8766``) → its base URL, without a trailing slash."""
    text = instance.strip().rstrip("/")
    return text if "://" in text else f"https://{text}"
