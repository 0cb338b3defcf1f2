"""X API v2 answers decoded straight into typed structs: the fast path of every summary.

An API page is mostly what dnflow never reads (user descriptions, annotations, edit
history, entity offsets). msgspec, given the fields below, skips the rest while parsing
instead of building Python objects for it: the decode is cheaper than ``orjson.loads``
of the same line, and the structs' attributes are cheaper to read than dict keys
(docs/performance.md has the figures).

This path changes no result: anything it does not take for certain (another format, a
field of an unexpected type, an answer without tweets, invalid JSON) goes to the generic
path, ``orjson.loads`` and :mod:`dnflow.formats.x_json`, and ``normalize`` builds exactly
the record :func:`dnflow.formats.x_json.normalize_v2` builds for the same tweet
(tests/test_v2struct.py and tests/test_x_paths.py compare both on every v2 file of the
corpus).
"""

from __future__ import annotations

import html
from typing import Any

import msgspec
import orjson

from dnflow.formats.x_json import (
    MAX_ID,
    Includes,
    NotXId,
    _no_media,
    _url_list_of,
    _v2_media,
    author,
    iso_time,
    profile_url,
)
from dnflow.platforms import x_handle
from dnflow.record import Author, Post


# gc=False: these structs never form cycles, and the cyclic GC need not track them
class _Tag(msgspec.Struct, gc=False):
    tag: str  # required, as the generic path's itemgetter: a tag without one goes there


class _Mention(msgspec.Struct, gc=False):
    username: str


class _Url(msgspec.Struct, gc=False):
    url: str | None = None
    expanded_url: str | None = None
    unwound_url: str | None = None


class _Entities(msgspec.Struct, gc=False):
    hashtags: list[_Tag] | None = None
    mentions: list[_Mention] | None = None
    urls: list[_Url] | None = None


class _Ref(msgspec.Struct, gc=False):
    type: str | None = None
    id: str | None = None


class _Attachments(msgspec.Struct, gc=False):
    media_keys: list[str] | None = None


class _Geo(msgspec.Struct, gc=False):
    place: dict[str, Any] | None = None
    place_id: str | None = None
    coordinates: dict[str, Any] | None = None


class Tweet(msgspec.Struct, gc=False):
    id: str | None = None
    text: str | None = None
    author_id: str | None = None
    created_at: str | None = None
    lang: str | None = None
    source: str | None = None
    public_metrics: dict[str, Any] | None = None  # kept whole: the record carries the API's
    entities: _Entities | None = None
    referenced_tweets: list[_Ref] | None = None
    attachments: _Attachments | None = None
    geo: _Geo | None = None
    in_reply_to_user_id: str | None = None


class _UserMetrics(msgspec.Struct, gc=False):
    followers_count: int | None = None
    following_count: int | None = None


class User(msgspec.Struct, gc=False):
    id: str
    username: str | None = None
    name: str | None = None
    verified: bool | None = None
    profile_image_url: str | None = None
    public_metrics: _UserMetrics | None = None


class _Includes(msgspec.Struct, gc=False):
    users: list[User] | None = None
    tweets: list[Tweet] | None = None
    media: list[dict[str, Any]] | None = None
    places: list[dict[str, Any]] | None = None


class Page(msgspec.Struct, gc=False):
    """A v2 search page (``data`` list) or stream line (``data`` object)."""

    data: list[Tweet] | Tweet | None = None
    includes: _Includes | None = None
    errors: Any = None


_decode = msgspec.json.Decoder(Page).decode


def loads(line: bytes) -> Any:
    """A ``Page`` when the line is a v2 answer with tweets, else ``orjson.loads(line)``
    (which raises ``orjson.JSONDecodeError`` for a line that is not JSON)."""
    try:
        page = _decode(line)
    except msgspec.MsgspecError:  # not JSON, not an object, or a field of another type
        return orjson.loads(line)
    data = page.data
    if data.__class__ is list:
        # the generic path decides on the first item alone, and so does this one
        if data and data[0].text is not None:
            return page
    elif data is not None and data.text is not None:
        return page
    return orjson.loads(line)  # rare: let the generic path say what it is


def includes_of(page: Page) -> Includes:
    """The lookup tables of a decoded page's ``includes``."""
    inc = page.includes
    if inc is None:
        return Includes()
    return Includes.of(
        users={u.id: u for u in inc.users} if inc.users else {},
        tweets={t.id: t for t in inc.tweets if t.id is not None} if inc.tweets else {},
        media={m["media_key"]: m for m in inc.media if "media_key" in m} if inc.media else {},
        places={p["id"]: p for p in inc.places if "id" in p} if inc.places else {},
    )


def _user(u: User | None, user_id: str | None) -> Author:
    if u is None:
        return author(user_id, None, None, None, None, None, None)
    pm = u.public_metrics
    handle = u.username
    return Author(u.id, handle, u.name, pm.followers_count if pm is not None else None,
                  pm.following_count if pm is not None else None,
                  # X.profile_url: nothing to quote in most handles
                  ("https://x.com/" + handle if handle.isascii() and (
                      handle.isalnum() or handle.isidentifier()) else profile_url(handle))
                  if handle else None,
                  u.verified, u.profile_image_url)


def author_of(inc: Includes, author_id: str | None) -> Author:
    """The author's part of a record, made once per page and author."""
    a = inc.authors[author_id] = _user(inc.users.get(author_id), author_id)
    return a


def text_of(t: Tweet) -> str:
    """A tweet's own text, unescaped (the API escapes &, < and > as HTML)."""
    text = t.text or ""
    return html.unescape(text) if "&" in text else text


def entities_of(t: Tweet, inc: Includes) -> tuple[Any, Any, Any, Any]:
    """The hashtags, mentions, URLs and media of a record, each an empty tuple when the
    tweet has none (cheaper to make than a list; a record turns them into lists)."""
    tags = names = urls = media = ()
    ent = t.entities
    if ent is not None:
        if ent.hashtags:
            tags = [h.tag for h in ent.hashtags]
        if ent.mentions:
            names = [m.username for m in ent.mentions]
        if ent.urls:
            urls = _url_list_of([u.unwound_url or u.expanded_url or u.url for u in ent.urls])
    att = t.attachments
    if att is not None and att.media_keys:
        media = []
        cache = inc.media_norm
        for key in att.media_keys:
            m = cache.get(key)
            if m is None:
                m = inc.media.get(key)
                m = cache[key] = _v2_media(m) if m else _no_media(key)
            media.append(m)
    return tags, names, urls, media


def normalize(t: Tweet, inc: Includes, _depth: int = 0) -> Post:
    """:func:`dnflow.formats.x_json.normalize_v2` for a ``Tweet`` of a decoded page."""
    retweet_of = quote_of = reply_to = retweeted = None
    refs = t.referenced_tweets
    if refs:
        for ref in refs:
            kind = ref.type
            if kind == "retweeted":
                retweet_of = ref.id
                if _depth == 0:
                    retweeted = inc.normalized.get(retweet_of)
                    if retweeted is None and retweet_of in inc.tweets:
                        retweeted = inc.normalized[retweet_of] = normalize(
                            inc.tweets[retweet_of], inc, 1)
            elif kind == "quoted":
                quote_of = ref.id
            elif kind == "replied_to":
                reply_to = ref.id


    place = coords = None
    geo = t.geo
    if geo is not None:
        p = geo.place or inc.places.get(geo.place_id)
        if p:
            place = {"id": p.get("id"), "full_name": p.get("full_name"),
                     "country_code": p.get("country_code")}
        elif geo.place_id:
            place = {"id": geo.place_id, "full_name": None, "country_code": None}
        coords = (geo.coordinates or {}).get("coordinates")

    if retweeted is not None and retweeted.author.handle:
        text = f"RT @{retweeted.author.handle}: {retweeted.text}"
    else:
        text = t.text or ""
        if "&" in text:  # the API escapes &, < and > as HTML
            text = html.unescape(text)
    user = inc.authors.get(t.author_id) or author_of(inc, t.author_id)
    hashtags, mentions, urls, media = entities_of(t, inc)

    ca = t.created_at
    tid = t.id
    # X.post_url, inlined
    handle = user.handle
    if tid is not None and tid.isdigit() and tid.isascii() and len(tid) <= MAX_ID:
        url = f"https://x.com/{handle if x_handle(handle) else 'i/web'}/status/{tid}"
    elif _depth:
        url = None  # an original with an odd id: context, not counted
    else:
        raise NotXId(tid)
    # dnflow.record.post, inlined: this is the hot path of every big summary
    return Post("x", tid, url, ca[:19] + "Z" if ca and ca[4:5] == "-" else iso_time(ca),
                user, text, t.lang,
                ("repost" if retweet_of else "quote" if quote_of else "reply" if reply_to
                 else "original"),
                retweet_of, quote_of, reply_to, retweeted, hashtags or [], mentions or [],
                urls or [], media or [], t.source, t.public_metrics or {}, place, coords,
                None, t.in_reply_to_user_id, _author_id(inc.tweets.get(quote_of)))


def _author_id(t: Tweet | None) -> str | None:
    return t.author_id if t is not None else None
