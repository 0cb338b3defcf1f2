"""The post record: what every format's normalizer makes and every count reads.

One shape for every platform (X, and the sources that come after it), so that a count,
an output or a page is written once. A record is a msgspec Struct: the hot path of every
summary makes one per post (and one per reposted original), and a struct is about a
third of a dict's memory and of its time to make, and faster to read (measured in
docs/performance.md). Links and media stay dicts: they are made once per URL or media key
and shared. docs/internals.md has the rules each field follows.

Structs are not checked when they are made: a format decoded into typed structs (X's
v2 pages) is held to these types by its decoder; any other record goes through
:func:`problem` before it is counted.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

import msgspec

Kind = Literal["original", "repost", "quote", "reply"]
KINDS: tuple[Kind, ...] = ("original", "repost", "quote", "reply")


class Author(msgspec.Struct, gc=False):
    """A post's author as the post gives it (gc=False: records never form cycles)."""

    id: str | None          # the platform's id of the account
    handle: str | None      # X username, Bluesky handle, Mastodon acct (without "@")
    name: str | None        # display name
    followers: int | None   # when the platform gives them
    following: int | None
    url: str | None         # the profile on the platform (the format's platform makes it)
    verified: bool | None
    avatar: str | None      # the profile image's URL
    # Mastodon's opt-in to search: False for an account that did not (its posts are
    # counted, never published: dnflow.optouts); None where the platform has no such flag
    indexable: bool | None = None


class Link(TypedDict):
    url: str                # expanded (or unwound); shortener and self links left out
    domain: str | None      # host without "www."
    short: NotRequired[str]  # the link as the post's text shows it, when not the URL


class Media(TypedDict):
    key: str | None         # the platform's media key (X: "3_<id>"); None if unknown
    type: str | None        # photo, video, animated_gif, …
    url: str | None         # the original file (a video's best mp4)
    preview: str | None     # a still or thumbnail
    alt_text: str | None


class Post(msgspec.Struct, gc=False):
    """One post, normalized. Make it with :func:`post` (it sets ``kind``) or, on a hot
    path, positionally in this order."""

    platform: str           # the name of the format's platform ("x")
    id: str | None          # the platform's id, as text (None: not counted)
    url: str | None         # the post on the platform
    created_at: str | None  # ISO 8601 UTC, "2026-11-28T06:00:00Z"; None if unreadable
    author: Author
    text: str               # unescaped; a repost shows "RT @handle: original text"
    lang: str | None
    kind: str               # one of KINDS: repost before quote before reply before original
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
    place: dict[str, Any] | None = None  # {id, full_name, country_code}
    coordinates: Any = None
    # the platform's global URI of the post where its id is not one (Bluesky: the
    # at-URI, which is also its id; Mastodon: the status URI, the same on every instance)
    uri: str | None = None
    # the account id of the replied-to and of the quoted post's author, where the data
    # gives it (X: in_reply_to_user_id, the quoted tweet's author_id): network edges
    reply_user: str | None = None
    quote_user: str | None = None


def kind_of(repost_of: Any, quote_of: Any, reply_to: Any) -> Kind:
    """A post's kind from the ids it references (a repost of a reply is a repost)."""
    if repost_of:
        return "repost"
    if quote_of:
        return "quote"
    if reply_to:
        return "reply"
    return "original"


def post(platform: str, id: Any, url: str | None, created_at: str | None, author: Author,
         text: str, lang: Any, repost_of: Any, quote_of: Any, reply_to: Any,
         reposted: Post | None, hashtags: list, mentions: list, links: list, media: list,
         client: Any, metrics: dict, place: Any = None, coordinates: Any = None,
         uri: str | None = None, reply_user: str | None = None,
         quote_user: str | None = None) -> Post:
    """A record, its ``kind`` worked out from the ids it references."""
    return Post(platform, id, url, created_at, author, text, lang,
                kind_of(repost_of, quote_of, reply_to), repost_of, quote_of, reply_to,
                reposted, hashtags, mentions, links, media, client, metrics, place,
                coordinates, uri, reply_user, quote_user)


_STR_OR_NONE = (str, type(None))
# the longest id a post may have: X ids are 19 digits, at-URIs and status URIs a few
# dozen characters; an id is one line of tweet-ids.txt, so never longer than this
MAX_ID_CHARS = 512


def id_problem(tid: Any) -> str | None:
    """Why ``tid`` cannot be a post's id (one line of tweet-ids.txt, a dedup key), or
    None: it must be text, at most MAX_ID_CHARS long, without spaces or control
    characters."""
    if tid.__class__ is not str:
        return f"id is {type(tid).__name__}, not text"
    if not tid:
        return "id is empty"
    if len(tid) > MAX_ID_CHARS:
        return f"id of {len(tid)} characters (at most {MAX_ID_CHARS})"
    if not tid.isprintable() or " " in tid:
        return "id holds spaces or control characters"
    return None


def _strs(values: Any) -> bool:
    return values.__class__ is list and all(v.__class__ is str for v in values)


def problem(rec: Any, _depth: int = 0) -> str | None:
    """Why a normalizer's record breaks the rules above (so counting it could fail or
    mislead), or None."""
    if not isinstance(rec, Post):
        return "not a record"
    why = id_problem(rec.id)
    if why is not None:
        return why
    for key in ("created_at", "lang", "repost_of", "quote_of", "reply_to", "client", "url",
                "uri", "reply_user", "quote_user"):
        if not isinstance(getattr(rec, key), _STR_OR_NONE):
            return f"{key} is {type(getattr(rec, key)).__name__}, not text"
    if rec.text.__class__ is not str:
        return "text is not text"
    if rec.kind not in KINDS:
        return f"kind {rec.kind!r} is not one of {', '.join(KINDS)}"
    a = rec.author
    if not isinstance(a, Author):
        return "author is not an Author"
    for key in ("id", "handle", "name"):
        if not isinstance(getattr(a, key), _STR_OR_NONE):
            return f"author {key} is {type(getattr(a, key)).__name__}, not text"
    for key in ("hashtags", "mentions"):
        if not _strs(getattr(rec, key)):
            return f"{key} are not a list of text"
    links = rec.links
    if links.__class__ is not list or not all(
            isinstance(u, dict) and u.get("url").__class__ is str
            and isinstance(u.get("domain"), _STR_OR_NONE) for u in links):
        return "links are not a list of {url, domain}"
    media = rec.media
    if media.__class__ is not list or not all(
            isinstance(m, dict) and isinstance(m.get("key"), _STR_OR_NONE) for m in media):
        return "media are not a list of {key, …}"
    if not isinstance(rec.metrics, dict):
        return "metrics are not an object"
    if rec.reposted is not None:
        if _depth:
            return "a reposted post that reposts"
        why = problem(rec.reposted, 1)
        if why is not None:
            return f"the reposted post: {why}"
    return None
