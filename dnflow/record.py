"""The post record: what every format's normalizer makes and every count reads.

One shape for every platform (X, and the sources that come after it), so that a count,
an output or a page is written once. Records are plain dicts (the hot path of every
summary makes one per post); the TypedDicts below are their documentation and what a
type checker holds normalizers to. docs/internals.md has the rules each field follows.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Kind = Literal["original", "repost", "quote", "reply"]
KINDS: tuple[Kind, ...] = ("original", "repost", "quote", "reply")


class Author(TypedDict):
    id: str | None          # the platform's id of the account
    handle: str | None      # X username, Bluesky handle, Mastodon acct (without "@")
    name: str | None        # display name
    followers: int | None   # when the platform gives them
    following: int | None
    url: str | None         # the profile on the platform (the format's platform makes it)
    verified: bool | None
    avatar: str | None      # the profile image's URL


class Link(TypedDict):
    url: str                # expanded (or unwound); shortener and self links left out
    domain: str | None      # host without "www."


class Media(TypedDict):
    key: str | None         # the platform's media key (X: "3_<id>"); None if unknown
    type: str | None        # photo, video, animated_gif, …
    url: str | None         # the original file (a video's best mp4)
    preview: str | None     # a still or thumbnail
    alt_text: str | None


class Post(TypedDict):
    platform: str           # the name of the format's platform ("x")
    id: str | None          # the platform's id, as text (None: not counted)
    url: str | None         # the post on the platform
    created_at: str | None  # ISO 8601 UTC, "2026-11-28T06:00:00Z"; None if unreadable
    author: Author
    text: str               # unescaped; a repost shows "RT @handle: original text"
    lang: str | None
    kind: Kind              # repost before quote before reply before original
    repost_of: str | None   # ids it references
    quote_of: str | None
    reply_to: str | None
    reposted: Post | None   # the reposted post when the archive has it (its entities count)
    hashtags: list[str]     # as written (counts case-fold them)
    mentions: list[str]     # handles as written
    links: list[Link]       # distinct per post
    media: list[Media]
    client: str | None      # the app it was posted with
    metrics: dict[str, Any]  # the platform's counts: retweet_count, reply_count,
    #                          like_count, quote_count (and whatever else it gives)
    place: dict[str, Any] | None  # {id, full_name, country_code}
    coordinates: Any


def kind_of(repost_of: Any, quote_of: Any, reply_to: Any) -> Kind:
    """A post's kind from the ids it references (a repost of a reply is a repost)."""
    if repost_of:
        return "repost"
    if quote_of:
        return "quote"
    if reply_to:
        return "reply"
    return "original"
