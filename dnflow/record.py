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


def post(platform: str, id: Any, url: str | None, created_at: str | None, author: Author,
         text: str, lang: Any, repost_of: Any, quote_of: Any, reply_to: Any,
         reposted: Post | None, hashtags: list, mentions: list, links: list, media: list,
         client: Any, metrics: dict, place: Any = None, coordinates: Any = None) -> Post:
    """A record with every key, in the documented order (one call per post: positional)."""
    return {
        "platform": platform, "id": id, "url": url, "created_at": created_at,
        "author": author, "text": text, "lang": lang,
        "kind": ("repost" if repost_of else "quote" if quote_of else "reply" if reply_to
                 else "original"),
        "repost_of": repost_of, "quote_of": quote_of, "reply_to": reply_to,
        "reposted": reposted, "hashtags": hashtags, "mentions": mentions, "links": links,
        "media": media, "client": client, "metrics": metrics, "place": place,
        "coordinates": coordinates,
    }


_STR_OR_NONE = (str, type(None))


def _strs(values: Any) -> bool:
    return values.__class__ is list and all(v.__class__ is str for v in values)


def problem(rec: Any, _depth: int = 0) -> str | None:
    """Why a normalizer's record breaks the rules above (so counting it could fail or
    mislead), or None. Formats decoded into typed structs are held to them by their
    types; records of parsed JSON go through this before they are counted."""
    if not isinstance(rec, dict):
        return "not a record"
    tid = rec.get("id")
    if tid.__class__ is not str or not tid:
        return f"id is {type(tid).__name__}, not text"
    for key in ("created_at", "lang", "repost_of", "quote_of", "reply_to", "client", "url"):
        if not isinstance(rec.get(key), _STR_OR_NONE):
            return f"{key} is {type(rec.get(key)).__name__}, not text"
    if rec.get("text").__class__ is not str:
        return "text is not text"
    if rec.get("kind") not in KINDS:
        return f"kind {rec.get('kind')!r} is not one of {', '.join(KINDS)}"
    a = rec.get("author")
    if not isinstance(a, dict):
        return "author is not an object"
    for key in ("id", "handle", "name"):
        if not isinstance(a.get(key), _STR_OR_NONE):
            return f"author {key} is {type(a.get(key)).__name__}, not text"
    for key in ("hashtags", "mentions"):
        if not _strs(rec.get(key)):
            return f"{key} are not a list of text"
    links = rec.get("links")
    if links.__class__ is not list or not all(
            isinstance(u, dict) and u.get("url").__class__ is str
            and isinstance(u.get("domain"), _STR_OR_NONE) for u in links):
        return "links are not a list of {url, domain}"
    media = rec.get("media")
    if media.__class__ is not list or not all(
            isinstance(m, dict) and isinstance(m.get("key"), _STR_OR_NONE) for m in media):
        return "media are not a list of {key, …}"
    if not isinstance(rec.get("metrics"), dict):
        return "metrics are not an object"
    reposted = rec.get("reposted")
    if reposted is not None:
        if _depth:
            return "a reposted post that reposts"
        why = problem(reposted, 1)
        if why is not None:
            return f"the reposted post: {why}"
    return None
