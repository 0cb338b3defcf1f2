"""X's JSON tweets (v2 pages, stream lines, twarc2-flattened, v1.1) → post records.

This module only reshapes: it never reads files and never counts. It is on the hot path
of every summary, so it builds plain dicts and avoids per-tweet helper objects.

Formats: X API v2 response pages (``data`` list + ``includes``), v2 stream lines (``data``
object), twarc2 flattened tweets (author and referenced tweets inlined) and v1.1 tweets.
"""

from __future__ import annotations

import html
from datetime import datetime
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

from dnflow.formats import BadPost
from dnflow.platforms import X as XPlatform
from dnflow.record import Author, Post, post

# X ids are decimal digits (snowflakes: 19 today); anything else is not a post of X
MAX_ID = 32


class NotXId(BadPost):
    """A post whose id cannot be an X id: skipped with this reason, never counted."""

    def __init__(self, tid: object) -> None:
        shown = repr(tid)
        super().__init__(f"id {shown[:40] + '…' if len(shown) > 40 else shown} is not an "
                         "X id (decimal digits)")


def check_id(tid: object) -> None:
    if not (tid.__class__ is str and tid.isascii() and tid.isdigit() and len(tid) <= MAX_ID):
        raise NotXId(tid)


# v1.1 gives media ids; v2 keys are "<type code>_<id>". Rebuilding the v2 key lets the
# same picture count as one whatever format it was archived in.
_V1_MEDIA_CODE = {"photo": "3", "video": "7", "animated_gif": "16"}

_TAG = itemgetter("tag")
_USERNAME = itemgetter("username")

_TWEET_HOSTS = frozenset(
    {"twitter.com", "www.twitter.com", "mobile.twitter.com", "x.com", "www.x.com"}
)


X_PLATFORM = XPlatform()
post_url = X_PLATFORM.post_url
profile_url = X_PLATFORM.profile_url


def iso_time(value: str | None) -> str | None:
    """v2 ``2021-04-01T15:52:31.000Z`` or v1.1 ``Wed Oct 10 20:19:24 +0000 2018`` → ISO UTC."""
    if not value:
        return None
    if value[4:5] == "-":  # v2: slicing is ~10x cheaper than parsing
        return value[:19] + "Z"
    try:
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    except ValueError:
        return None


def _host_path(url: str) -> tuple[str, str]:
    # urlsplit costs ~4 µs a call, a tenth of a tweet's budget; URLs from the API are
    # well formed, and odd ones fall back to it
    scheme, sep, rest = url.partition("://")
    if not sep or "@" in rest.split("/", 1)[0]:
        try:
            parts = urlsplit(url)
            return (parts.hostname or ""), parts.path
        except ValueError:
            return "", ""
    host, _, path = rest.partition("/")
    host = host.split(":", 1)[0].split("?", 1)[0].split("#", 1)[0].lower()
    return host, "/" + path


# chosen URL → (url, domain) or None when it is not a shared URL; URLs repeat a lot
# (retweets, popular links), and parsing one costs more than the rest of its tweet
_URL_CACHE: dict[str, tuple[str, str | None] | None] = {}
_URL_CACHE_MAX = 200_000


def _url_item(url: str) -> tuple[str, str | None] | None:
    host, path = _host_path(url)
    # links to tweets (quotes, media pages) and unexpanded t.co links are not shared URLs
    if host == "t.co" or (host in _TWEET_HOSTS and "/status" in path):
        item = None
    else:
        item = (url, (host[4:] if host.startswith("www.") else host) or None)
    if len(_URL_CACHE) >= _URL_CACHE_MAX:
        _URL_CACHE.clear()
    _URL_CACHE[url] = item
    return item


def _url_list(entities_urls: list[dict] | None) -> list[dict]:
    if not entities_urls:
        return []
    return _url_list_of(
        [u.get("unwound_url") or u.get("expanded_url") or u.get("url") for u in entities_urls])


def _url_list_of(chosen: list[str | None]) -> list[dict]:
    """The shared URLs of one tweet, distinct, from each URL entity's best address."""
    out: list[dict] = []
    seen = None
    cache = _URL_CACHE
    for url in chosen:
        if not url:
            continue
        item = cache.get(url, False)
        if item is False:
            item = _url_item(url)
        if item is None:
            continue
        if out:
            if seen is None:
                seen = {d["url"] for d in out}
            if url in seen:
                continue
            seen.add(url)
        out.append({"url": item[0], "domain": item[1]})
    return out


# ---------------------------------------------------------------- v2 (pages, stream, flat)


def author(id: Any, handle: Any, name: Any, followers: Any, following: Any, verified: Any,
           avatar: Any) -> Author:
    """The record's author, with its profile URL."""
    return Author(id, handle, name, followers, following,
                  profile_url(handle) if handle else None, verified, avatar)


def _v2_user(user: dict | None, user_id: str | None) -> Author:
    if not user:
        return author(user_id, None, None, None, None, None, None)
    pm = user.get("public_metrics") or {}
    return author(user.get("id", user_id), user.get("username"), user.get("name"),
                  pm.get("followers_count"), pm.get("following_count"), user.get("verified"),
                  user.get("profile_image_url"))


def _v2_media(m: dict) -> dict:
    url = m.get("url")
    if not url and m.get("variants"):
        # video: the highest bit rate mp4 is the most useful original link
        mp4 = [v for v in m["variants"] if v.get("content_type") == "video/mp4"]
        best = max(mp4, key=lambda v: v.get("bit_rate", 0)) if mp4 else m["variants"][0]
        url = best.get("url")
    return {
        "key": m.get("media_key"),
        "type": m.get("type"),
        "url": url,
        "preview": m.get("preview_image_url") or m.get("url"),
        "alt_text": m.get("alt_text"),
    }


class Includes:
    """Lookup tables for one v2 response's ``includes``; flat tweets carry theirs inline."""

    __slots__ = ("users", "tweets", "media", "places", "normalized", "authors", "media_norm")

    def __init__(self, includes: dict | None = None):
        inc = includes or {}
        self.users = {u["id"]: u for u in inc.get("users", ()) if "id" in u}
        self.tweets = {t["id"]: t for t in inc.get("tweets", ()) if "id" in t}
        self.media = {m["media_key"]: m for m in inc.get("media", ()) if "media_key" in m}
        self.places = {p["id"]: p for p in inc.get("places", ()) if "id" in p}
        # a page often retweets the same original many times: normalize it once
        self.normalized: dict[str, Post] = {}
        self.authors: dict[str, Author] = {}
        self.media_norm: dict[str, dict] = {}

    @classmethod
    def of(cls, users: dict, tweets: dict, media: dict, places: dict) -> Includes:
        """Tables built by the caller (dnflow.formats.x_struct decodes its own)."""
        inc = cls()
        inc.users, inc.tweets, inc.media, inc.places = users, tweets, media, places
        return inc


_EMPTY = Includes()


def normalize_v2(t: dict, inc: Includes = _EMPTY, _depth: int = 0) -> Post:
    """One v2 tweet (page item, stream ``data`` or twarc2-flattened) → record."""
    # the hot path of every summary: every test and lookup below is paid per tweet
    retweet_of = quote_of = reply_to = retweeted = None
    refs = t.get("referenced_tweets")
    if refs:
        for ref in refs:
            kind = ref.get("type")
            if kind == "retweeted":
                retweet_of = ref.get("id")
                if _depth == 0:
                    # flattened tweets inline the referenced tweet; pages put it in includes
                    if "text" in ref:
                        retweeted = normalize_v2(ref, inc, 1)
                    elif inc is not _EMPTY:
                        retweeted = inc.normalized.get(retweet_of)
                        if retweeted is None and retweet_of in inc.tweets:
                            retweeted = inc.normalized[retweet_of] = normalize_v2(
                                inc.tweets[retweet_of], inc, 1)
            elif kind == "quoted":
                quote_of = ref.get("id")
            elif kind == "replied_to":
                reply_to = ref.get("id")

    media = _v2_media_of(t, inc)
    place, coords = _v2_place(t.get("geo"), inc)

    if retweeted is not None and retweeted.author.handle:
        text = f"RT @{retweeted.author.handle}: {retweeted.text}"
    else:
        text = t.get("text") or ""
        if "&" in text:  # the API sends text HTML-escaped (&amp; &lt; &gt;); pages escape
            text = html.unescape(text)

    author_id = t.get("author_id")
    author = t.get("author")
    if author is not None or inc is _EMPTY:  # never cache in the shared empty tables
        author = _v2_user(author, author_id)
    else:
        author = inc.authors.get(author_id)
        if author is None:
            author = inc.authors[author_id] = _v2_user(inc.users.get(author_id), author_id)

    hashtags = mentions = urls = None
    ent = t.get("entities")
    if ent:
        tags = ent.get("hashtags")
        if tags:
            hashtags = _pluck(tags, _TAG, "tag")
        names = ent.get("mentions")
        if names:
            mentions = _pluck(names, _USERNAME, "username")
        if "urls" in ent:
            urls = _url_list(ent["urls"])

    ca = t.get("created_at")
    tid = t.get("id")
    if _depth == 0:
        check_id(tid)
    return post("x", tid, post_url(author.handle, tid),
                ca[:19] + "Z" if ca and ca[4:5] == "-" else iso_time(ca), author, text,
                t.get("lang"), retweet_of, quote_of, reply_to, retweeted,
                hashtags if hashtags is not None else [],
                mentions if mentions is not None else [], urls if urls is not None else [],
                media, t.get("source"),
                # the API's own dict: retweet_count, reply_count, like_count, quote_count…
                t.get("public_metrics") or {}, place, coords,
                reply_user=t.get("in_reply_to_user_id"),
                quote_user=_quoted_author(refs, quote_of, inc))


def _quoted_author(refs: Any, quote_of: Any, inc: Includes) -> Any:
    """The quoted tweet's author id: flattened tweets inline it, pages include it."""
    if not quote_of:
        return None
    for ref in refs:
        if ref.get("type") == "quoted" and "author_id" in ref:
            return ref["author_id"]
    quoted = inc.tweets.get(quote_of)
    return quoted.get("author_id") if quoted.__class__ is dict else None


def _v2_media_of(t: dict, inc: Includes) -> list[dict]:
    """A v2 tweet's media, from its page's includes or inlined (flattened)."""
    media: list[dict] = []
    att = t.get("attachments")
    keys = att.get("media_keys") if att else None
    if not keys:
        return media
    if "media" in att:
        # flattened tweets inline the media objects they found but keep every key
        found = {m.get("media_key"): m for m in att["media"]}
        for key in keys:
            m = found.get(key)
            media.append(_v2_media(m) if m else _no_media(key))
        return media
    cache = inc.media_norm
    for key in keys:
        m = cache.get(key)
        if m is None:
            m = inc.media.get(key)
            # a key without its object (removed for a policy violation) counts
            m = _v2_media(m) if m else _no_media(key)
            if inc is not _EMPTY:
                cache[key] = m
        media.append(m)
    return media


def _v2_place(geo: dict | None, inc: Includes) -> tuple[dict | None, Any]:
    """A v2 tweet's place and coordinates (the place from its page's includes)."""
    if not geo:
        return None, None
    place = None
    p = geo.get("place") or inc.places.get(geo.get("place_id"))
    if p:
        place = {"id": p.get("id"), "full_name": p.get("full_name"),
                 "country_code": p.get("country_code")}
    elif geo.get("place_id"):
        place = {"id": geo["place_id"], "full_name": None, "country_code": None}
    return place, (geo.get("coordinates") or {}).get("coordinates")


def _pluck(items: list, get: Any, key: str) -> list:
    """``key`` of every entity that has it (``get`` is its itemgetter: all of them, at C
    speed, unless one lacks it)."""
    try:
        return list(map(get, items))
    except (KeyError, TypeError):
        return [i[key] for i in items if key in i]


def _no_media(key: Any) -> dict:
    return {"key": key, "type": None, "url": None, "preview": None, "alt_text": None}


# ---------------------------------------------------------------- v1.1


def _v1_user(u: dict) -> Author:
    return author(u.get("id_str"), u.get("screen_name"), u.get("name"),
                  u.get("followers_count"), u.get("friends_count"), u.get("verified"),
                  u.get("profile_image_url_https"))


def _strip_html(source: str | None) -> str | None:
    # v1.1 gives '<a href="…" rel="nofollow">Twitter for iPhone</a>'; v2 just the name
    if source and source.startswith("<"):
        start = source.find(">") + 1
        end = source.rfind("<")
        return source[start:end] if 0 < start <= end else source
    return source


def normalize_v1(t: dict, _depth: int = 0) -> Post:
    ext = t.get("extended_tweet") or {}
    text = ext.get("full_text") or t.get("full_text") or t.get("text") or ""
    if "&" in text:  # HTML-escaped by the API, like v2
        text = html.unescape(text)
    ent = ext.get("entities") or t.get("entities") or {}
    xent = ext.get("extended_entities") or t.get("extended_entities") or {}
    retweeted = None
    rs = t.get("retweeted_status")
    if rs and _depth == 0:
        retweeted = normalize_v1(rs, 1)
        text = f"RT @{retweeted.author.handle}: {retweeted.text}"
    media = []
    for m in xent.get("media") or ent.get("media") or ():
        code = _V1_MEDIA_CODE.get(m.get("type"), "3")
        url = m.get("media_url_https") or m.get("media_url")
        for v in sorted(
            (m.get("video_info") or {}).get("variants") or (),
            key=lambda v: -v.get("bitrate", 0),
        ):
            if v.get("content_type") == "video/mp4":
                url = v.get("url")
                break
        media.append({
            "key": f"{code}_{m.get('id_str')}",
            "type": m.get("type"),
            "url": url,
            "preview": m.get("media_url_https") or m.get("media_url"),
            "alt_text": m.get("ext_alt_text"),
        })
    coords = (t.get("coordinates") or {}).get("coordinates")
    p = t.get("place")
    place = (
        {"id": p.get("id"), "full_name": p.get("full_name"),
         "country_code": p.get("country_code")}
        if p else None
    )
    tid = t.get("id_str") or (str(t["id"]) if "id" in t else None)
    if _depth == 0:
        check_id(tid)
    user = _v1_user(t.get("user") or {})
    return post(
        "x", tid, post_url(user.handle, tid), iso_time(t.get("created_at")), user, text,
        t.get("lang"), rs.get("id_str") if rs else None, t.get("quoted_status_id_str"),
        t.get("in_reply_to_status_id_str"), retweeted,
        [h["text"] for h in ent.get("hashtags") or () if "text" in h],
        [m["screen_name"] for m in ent.get("user_mentions") or () if "screen_name" in m],
        _url_list(ent.get("urls")), media, _strip_html(t.get("source")),
        {"retweet_count": t.get("retweet_count"), "reply_count": t.get("reply_count"),
         "like_count": t.get("favorite_count"), "quote_count": t.get("quote_count")},
        place, coords, reply_user=t.get("in_reply_to_user_id_str"),
        quote_user=_v1_quoted_author(t.get("quoted_status")))


def _v1_quoted_author(qs: Any) -> Any:
    user = qs.get("user") if qs.__class__ is dict else None
    return user.get("id_str") if user.__class__ is dict else None


# ---------------------------------------------------------------- one JSON line


def _describe(obj: Any) -> str:
    """Why a JSON value is not tweets, in words a user recognises."""
    if not isinstance(obj, dict):
        return f"JSON {type(obj).__name__}, not a tweet or an API response"
    data = obj.get("data")
    if isinstance(data, list):
        item = next((d for d in data if isinstance(d, dict)), {})
        if "tweet_count" in item:
            return "a counts answer, not tweets"
        if "username" in item:
            return "a users answer, not tweets"
        if "owner_id" in item or "member_count" in item:
            return "a lists answer, not tweets"
        return "a v2 answer whose data are not tweets"
    if "action" in obj and "id" in obj:
        return "a compliance record, not a tweet"
    if "errors" in obj and not data:
        first = obj["errors"][0] if obj["errors"] else {}
        msg = first.get("detail") or first.get("title") or first.get("message") or ""
        return f"an error-only line: {msg}".rstrip(": ")
    if "username" in obj and "text" not in obj:
        return "a user, not a tweet"
    return "JSON object that is not a tweet"
