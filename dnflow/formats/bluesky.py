"""Bluesky's archive formats: what the AppView's XRPC answers and Jetstream hold.

Detected (a line of an archive, or a whole pretty-printed file):

- ``bsky-search``: ``{"posts": [postView…], "cursor"}``: app.bsky.feed.searchPosts pages
  (what ``source: bluesky`` archives, with its ``__dnflow`` provenance), and the other
  answers that are a list of post views (getQuotes, getPosts);
- ``bsky-feed``: ``{"feed": [feedViewPost…], "cursor"}``: getTimeline, getAuthorFeed,
  getFeed, getListFeed pages, where an item whose ``reason`` is a ``reasonRepost`` is a
  repost (by ``reason.by``) of its ``post``;
- ``bsky-list``: a JSON array of post views and feed items (as tools such as twitwi save
  them);
- ``bsky-thread``: getPostThread answers: every post of the thread;
- ``bsky-post``: one post view per line;
- ``jetstream``: Jetstream commit events creating a post or a repost.

The rules (README, "How counting works"): hashtags are the ``#tag`` facets plus
``record.tags``; mentions the ``#mention`` facets, as the handle the text shows at the
facet's bytes (its DID when the text does not show one); links the ``#link`` facets and
external embeds (http(s) only); media the images and videos embedded (alone or beside a
quote), with their alt text; a quote embeds a post (``record`` or ``recordWithMedia``);
a reply has ``record.reply``; the language is the first of ``langs``. Facet offsets are
UTF-8 *byte* offsets, so they slice the encoded text. Facets of any other type (the
corpus has ``#hashtag``, ``#Tag``, ``#bold`` and poll facets) and embeds of any other
type are ignored. A post's id is its at-URI (also its ``uri``).

This module only reshapes: it never reads files and never counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from dnflow.formats import FORMATS, BadPost, Batch, Format
from dnflow.platforms import Bluesky
from dnflow.record import Author, Post, post

PLATFORM = "bluesky"
_BSKY = Bluesky()

TAG = "app.bsky.richtext.facet#tag"
MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
POST_COLLECTION = "app.bsky.feed.post"
REPOST_COLLECTION = "app.bsky.feed.repost"
REASON_REPOST = "app.bsky.feed.defs#reasonRepost"
MAX_URI = 1024  # an at-URI is far shorter; anything longer is not one
MAX_THREAD = 10_000  # posts taken from one thread answer (replies nest without bound)

# What these answers never hold, as the page says it instead of showing 0 as a finding
# ({…}: the platform's words, dnflow.site.text.words)
NO_FOLLOWERS = ("{label}'s post views give no follower or following counts for authors, "
                "so users cannot be ranked by them.")
NO_REPOSTS = ("{label}'s search (and any list of post views) returns no {reposts}: the "
              "number of {reposts} here is not a finding, and no {post} can be ranked by "
              "its {reposts} in this search.")
NO_METRICS = "Jetstream events carry no counts of likes, {reposts}, replies or quotes."


# ---------------------------------------------------------------- small readers


def _str(v: Any) -> str | None:
    return v if v.__class__ is str and v else None


def _dict(v: Any) -> dict:
    return v if v.__class__ is dict else {}


def iso_time(value: Any) -> str | None:
    """An ISO 8601 time (any fraction, ``Z`` or an offset) → ``YYYY-MM-DDTHH:MM:SSZ``
    UTC; None for what is not a time, or one before 1970 (``createdAt`` is written by
    the author's app: the corpus has a ``0000-10-14``)."""
    if value.__class__ is not str or len(value) < 19 or len(value) > 40:
        return None
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if t.year < 1970:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 time or date (``Z``, offsets, any fraction)."""
    if value.__class__ is not str or not value or len(value) > 40:
        return None
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    try:
        return t.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def sort_at(view: Any) -> float | None:
    """A post view's ``sortAt`` as the AppView orders and filters search results by it:
    the earlier of the record's createdAt and the view's indexedAt (so a post dated in
    the future sorts when it was indexed), in epoch seconds."""
    if view.__class__ is not dict:
        return None
    created = epoch(_dict(view.get("record")).get("createdAt"))
    indexed = epoch(view.get("indexedAt"))
    if created is None or indexed is None:
        return indexed if created is None else created
    return min(created, indexed)


def _at_uri(v: Any) -> str | None:
    return v if v.__class__ is str and v.startswith("at://") and len(v) <= MAX_URI else None


def _post_uri(v: Any) -> str | None:
    """``v`` when it is the at-URI of a post (quotes embed lists and feeds too)."""
    uri = _at_uri(v)
    return uri if uri and f"/{POST_COLLECTION}/" in uri else None


def _view_id(view: Any) -> Any:
    return view.get("uri") if view.__class__ is dict else None


def _domain(url: str) -> str | None:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    return (host[4:] if host.startswith("www.") else host) or None


def _http(url: Any) -> str | None:
    if url.__class__ is str and url[:8].lower().startswith(("http://", "https://")):
        return url
    return None


# ---------------------------------------------------------------- author


_SAFE = re.compile(r"[A-Za-z0-9:._-]{1,200}")  # a DID or a CID that can go in a CDN URL


def author_of(a: Any) -> Author:
    """The author of a post view (a profileViewBasic: no follower counts, usually)."""
    a = _dict(a)
    did = _str(a.get("did"))
    handle = _str(a.get("handle"))
    if handle == "handle.invalid" or not handle:
        handle = did  # bsky.app shows a profile by its DID too
    followers, following = a.get("followersCount"), a.get("followsCount")
    verified = _dict(a.get("verification")).get("verifiedStatus")
    return Author(did, handle, _str(a.get("displayName")),
                  followers if followers.__class__ is int else None,
                  following if following.__class__ is int else None,
                  _BSKY.profile_url(handle), True if verified == "valid" else None,
                  _str(a.get("avatar")))


# ---------------------------------------------------------------- facets


def _span(raw: bytes, index: Any) -> str | None:
    """The text at a facet's UTF-8 byte range, or None when it is not one."""
    index = _dict(index)
    start, end = index.get("byteStart"), index.get("byteEnd")
    if start.__class__ is not int or end.__class__ is not int or not 0 <= start < end <= len(raw):
        return None
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError:  # the range cuts a character: not a span of this text
        return None


def facets_of(text: str, facets: Any, tags: Any) -> tuple[list[str], list[str], list[dict]]:
    """(hashtags, mentions, links) of a post record's text."""
    hashtags: list[str] = []
    mentions: list[str] = []
    links: list[dict] = []
    raw: bytes | None = None
    for f in facets if facets.__class__ is list else ():
        if f.__class__ is not dict or f.get("features").__class__ is not list:
            continue
        for ft in f["features"]:
            kind = ft.get("$type") if ft.__class__ is dict else None
            if kind == TAG:
                tag = _tag(ft.get("tag"))
                if tag:
                    hashtags.append(tag)
            elif kind == MENTION:
                # the handle as the text shows it (apps that miscount by a character
                # leave a space or drop the "@"); the DID when the bytes hold no handle
                raw = text.encode("utf-8") if raw is None else raw
                handle = (_span(raw, f.get("index")) or "").strip().lstrip("@＠")
                who = handle if handle and _BSKY.handle_ok(handle) else _str(ft.get("did"))
                if who:
                    mentions.append(who)
            elif kind == LINK:
                url = _http(ft.get("uri"))
                if url:
                    raw = text.encode("utf-8") if raw is None else raw
                    link = {"url": url, "domain": _domain(url)}
                    shown = (_span(raw, f.get("index")) or "").strip()
                    if shown and shown != url and _shows(shown, url):
                        link["short"] = shown
                    links.append(link)
    for tag in tags if tags.__class__ is list else ():
        tag = _tag(tag)
        if tag:
            hashtags.append(tag)
    return _distinct(hashtags), _distinct(mentions), links


def _tag(value: Any) -> str | None:
    """A tag as written, without the "#" some apps keep and the spaces some add."""
    return value.strip().lstrip("#＃").strip() or None if value.__class__ is str else None


def _bare(url: str) -> str:
    return _SCHEME.sub("", url).replace("/", "")


_SCHEME = re.compile(r"^[a-z]+://", re.IGNORECASE)


def _shows(shown: str, url: str) -> bool:
    """Whether a link's text is the app's short form of ``url`` ("example.com/pa...") and
    not bytes a miscounting app pointed at by mistake."""
    head = _bare(shown.strip()).rstrip(".…")
    return len(head) >= 4 and _bare(url).startswith(head)


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def _distinct_links(links: list[dict]) -> list[dict]:
    if len(links) < 2:
        return links
    seen: set[str] = set()
    out = []
    for u in links:
        if u["url"] not in seen:
            seen.add(u["url"])
            out.append(u)
    return out


# ---------------------------------------------------------------- embeds


def _cdn(did: str | None, cid: str | None, size: str) -> str | None:
    """The CDN address of an image blob (the one post views give), for records that
    come without views (Jetstream)."""
    if did and cid and _SAFE.fullmatch(did) and _SAFE.fullmatch(cid):
        return f"https://cdn.bsky.app/img/{size}/plain/{did}/{cid}@jpeg"
    return None


def _blob_cid(blob: Any) -> str | None:
    blob = _dict(blob)
    return _str(_dict(blob.get("ref")).get("$link")) or _str(blob.get("cid"))


def _images(rec: dict, view: dict, did: str | None) -> list[dict]:
    rec_images = rec.get("images") if rec.get("images").__class__ is list else []
    view_images = view.get("images") if view.get("images").__class__ is list else []
    out = []
    for i in range(max(len(rec_images), len(view_images))):
        r = _dict(rec_images[i]) if i < len(rec_images) else {}
        v = _dict(view_images[i]) if i < len(view_images) else {}
        cid = _blob_cid(r.get("image"))
        full, thumb = _http(v.get("fullsize")), _http(v.get("thumb"))
        if cid is None and full:  # …/plain/<did>/<cid>@jpeg
            cid = full.rsplit("/", 1)[-1].split("@", 1)[0] or None
        if cid is None and full is None:
            continue
        out.append({"key": cid, "type": "photo",
                    "url": full or _cdn(did, cid, "feed_fullsize"),
                    "preview": thumb or _cdn(did, cid, "feed_thumbnail"),
                    "alt_text": _str(r.get("alt")) or _str(v.get("alt"))})
    return out


def _video(rec: dict, view: dict, did: str | None) -> list[dict]:
    cid = _blob_cid(rec.get("video")) or _str(view.get("cid"))
    playlist = _http(view.get("playlist"))
    if cid is None and playlist is None:
        return []
    if playlist is None and did and cid and _SAFE.fullmatch(did) and _SAFE.fullmatch(cid):
        playlist = f"https://video.bsky.app/watch/{quote(did, safe='')}/{cid}/playlist.m3u8"
    return [{"key": cid, "type": "video", "url": playlist,
             "preview": _http(view.get("thumbnail")),
             "alt_text": _str(rec.get("alt")) or _str(view.get("alt"))}]


def _embed_type(rec: dict, view: dict) -> str:
    kind = _str(rec.get("$type")) or _str(view.get("$type")) or ""
    return kind[:-5] if kind.endswith("#view") else kind


def embed_of(rec: Any, view: Any, did: str | None) -> tuple[str | None, list[dict], list[dict]]:
    """(the quoted post's at-URI, media, external links) of a post's embed: the record's
    (``rec``) completed by the post view's (``view``: CDN addresses)."""
    rec, view = _dict(rec), _dict(view)
    kind = _embed_type(rec, view)
    if kind == "app.bsky.embed.images":
        return None, _images(rec, view, did), []
    if kind == "app.bsky.embed.video":
        return None, _video(rec, view, did), []
    if kind == "app.bsky.embed.external":
        url = _http(_dict(rec.get("external")).get("uri")) or _http(
            _dict(view.get("external")).get("uri"))
        return None, [], [{"url": url, "domain": _domain(url)}] if url else []
    if kind == "app.bsky.embed.record":
        return (_post_uri(_dict(rec.get("record")).get("uri"))
                or _post_uri(_dict(view.get("record")).get("uri"))), [], []
    if kind == "app.bsky.embed.recordWithMedia":
        quoted = _dict(_dict(rec.get("record")).get("record")).get("uri") or _dict(
            _dict(view.get("record")).get("record")).get("uri")
        _, media, links = embed_of(rec.get("media"), view.get("media"), did)
        return _post_uri(quoted), media, links
    return None, [], []


# ---------------------------------------------------------------- records


def _metrics(view: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for theirs, ours in (("repostCount", "retweet_count"), ("replyCount", "reply_count"),
                         ("likeCount", "like_count"), ("quoteCount", "quote_count"),
                         ("bookmarkCount", "bookmark_count")):
        v = view.get(theirs)
        if v.__class__ is int:
            out[ours] = v
    return out


def record_post(uri: str, author: Author, rec: Any, view_embed: Any, metrics: dict,
                indexed_at: Any) -> Post:
    """The record of one post: its at-URI, its author, its ``app.bsky.feed.post`` record
    and what a view adds (CDN addresses of its media, counts, the time it was indexed)."""
    rec = _dict(rec)
    text = rec.get("text") if rec.get("text").__class__ is str else ""
    hashtags, mentions, links = facets_of(text, rec.get("facets"), rec.get("tags"))
    quote_of, media, external = embed_of(rec.get("embed"), view_embed, author.id)
    if external:
        links = _distinct_links(links + external)
    # a reply's parent is usually a post, but apps reply to other records too (the corpus
    # has replies to a repost and to a wiki page): record.reply makes it a reply
    reply_to = _at_uri(_dict(_dict(rec.get("reply")).get("parent")).get("uri"))
    langs = rec.get("langs")
    lang = _str(langs[0]) if langs.__class__ is list and langs else None
    return post(PLATFORM, uri, _BSKY.post_url(None, uri),
                iso_time(rec.get("createdAt")) or iso_time(indexed_at), author, text, lang,
                None, quote_of, reply_to, None, hashtags, mentions, links, media,
                _str(rec.get("via")), metrics, uri=uri)


def normalize_view(view: Any, ctx: Any = None) -> Post:
    """A post view (searchPosts, getPosts, a feed item's ``post``) → its record."""
    view = _dict(view)
    uri = _at_uri(view.get("uri"))
    if uri is None:
        raise BadPost(f"uri {str(view.get('uri'))[:60]!r} is not an at-URI")
    return record_post(uri, author_of(view.get("author")), view.get("record"),
                       view.get("embed"), _metrics(view), view.get("indexedAt"))


def _repost_reason(item: dict) -> dict | None:
    reason = item.get("reason")
    return reason if reason.__class__ is dict and reason.get("$type") == REASON_REPOST \
        else None


def repost_id(reason: dict, original_uri: Any) -> str | None:
    """A feed repost's id: its record's at-URI when the reason gives it (since 2025),
    else ``repost:<reposter's DID>:<original's at-URI>`` (one repost per account and
    post at a time, so the pair names it)."""
    uri = _at_uri(reason.get("uri"))
    if uri:
        return uri
    did = _str(_dict(reason.get("by")).get("did"))
    return f"repost:{did}:{original_uri}" if did and _at_uri(original_uri) else None


def item_id(item: Any) -> Any:
    """The id of a feed item or a post view: a repost's own, else the post's."""
    if item.__class__ is not dict:
        return None
    inner = item.get("post")
    if inner.__class__ is dict and "record" not in item:
        reason = _repost_reason(item)
        uri = inner.get("uri")
        return repost_id(reason, uri) if reason else uri
    return item.get("uri")


def normalize_item(item: Any, ctx: Any = None) -> Post:
    """A feed item (feedViewPost) or a post view → its record; a feed item whose reason
    is a repost is the repost, with the post as its original (``reposted``)."""
    item = _dict(item)
    inner = item.get("post")
    if inner.__class__ is not dict or "record" in item:
        return normalize_view(item)
    original = normalize_view(inner)
    reason = _repost_reason(item)
    if reason is None:  # a post as it is, or pinned (reasonPin)
        return original
    rid = repost_id(reason, original.id)
    if rid is None:
        raise BadPost("a repost whose reason names no reposter")
    by = author_of(reason.get("by"))
    return post(PLATFORM, rid, None, iso_time(reason.get("indexedAt")) or original.created_at,
                by, original.text, original.lang, original.id, None, None, original, [],
                [], [], [], None, {}, uri=_at_uri(reason.get("uri")))


def thread_posts(thread: Any) -> list[dict]:
    """Every post view of a getPostThread answer: its parents, the post, its replies
    (not-found and blocked posts left out), at most MAX_THREAD."""
    out: list[dict] = []
    todo = [_dict(thread)]
    parent = _dict(_dict(thread).get("parent"))
    while parent and len(out) < MAX_THREAD:  # up the thread, iteratively
        if parent.get("post").__class__ is dict:
            out.append(parent["post"])
        parent = _dict(parent.get("parent"))
    while todo and len(out) < MAX_THREAD:
        node = todo.pop()
        if node.get("post").__class__ is dict:
            out.append(node["post"])
        replies = node.get("replies")
        if replies.__class__ is list:
            todo.extend(_dict(r) for r in reversed(replies))
    return out


# ---------------------------------------------------------------- Jetstream


def jetstream_id(event: Any) -> Any:
    event = _dict(event)
    commit = _dict(event.get("commit"))
    did, rkey = _str(event.get("did")), _str(commit.get("rkey"))
    collection = _str(commit.get("collection"))
    return f"at://{did}/{collection}/{rkey}" if did and rkey and collection else None


def normalize_jetstream(event: Any, ctx: Any = None) -> Post:
    """A Jetstream commit creating a post (→ its record) or a repost (→ a repost of the
    subject, whose own record Jetstream does not send)."""
    event = _dict(event)
    commit = _dict(event.get("commit"))
    uri = jetstream_id(event)
    if uri is None or len(uri) > MAX_URI:
        raise BadPost("a Jetstream event without its DID, collection or record key")
    did = event["did"]
    author = Author(did, did, None, None, None, _BSKY.profile_url(did), None, None)
    rec = _dict(commit.get("record"))
    if commit.get("collection") == REPOST_COLLECTION:
        subject = _post_uri(_dict(rec.get("subject")).get("uri"))
        if subject is None:
            raise BadPost("a Jetstream repost whose subject is not a post")
        return post(PLATFORM, uri, None, iso_time(rec.get("createdAt")), author, "", None,
                    subject, None, None, None, [], [], [], [], None, {}, uri=uri)
    time_us = event.get("time_us")
    seen = (datetime.fromtimestamp(time_us / 1e6, UTC).isoformat()
            if time_us.__class__ is int and 0 < time_us < 2**53 else None)
    return record_post(uri, author, rec, None, {}, seen)


# ---------------------------------------------------------------- the formats


class _Bluesky(Format):
    platform = PLATFORM
    gaps = {"followers": NO_FOLLOWERS}


def _is_view(v: Any) -> bool:
    return v.__class__ is dict and _at_uri(v.get("uri")) is not None and "record" in v


def _is_item(v: Any) -> bool:
    return v.__class__ is dict and (_is_view(v) or _is_view(v.get("post")))


_PAGE_KEYS = {"posts", "cursor", "hitsTotal", "uri", "cid", "__dnflow"}
_FEED_KEYS = {"feed", "cursor", "__dnflow"}


def _listed(value: Any, key: str, is_first: Callable[[Any], bool],
            keys: set[str]) -> list | None:
    """The list under ``key`` of a page: one whose first element passes ``is_first``,
    or an empty one on a page holding nothing but ``keys``."""
    if value.__class__ is dict:
        items = value.get(key)
        if items.__class__ is list and (is_first(items[0]) if items else value.keys() <= keys):
            return items
    return None


@FORMATS.register
class SearchPage(_Bluesky):
    """A list of post views: searchPosts pages (and getQuotes, getPosts answers)."""

    name = "bsky-search"
    gaps = {"reposts": NO_REPOSTS, "followers": NO_FOLLOWERS}

    def split(self, value: Any) -> Batch | None:
        posts = _listed(value, "posts", _is_view, _PAGE_KEYS)
        return None if posts is None else Batch(self.name, posts, None, _view_id,
                                                normalize_view)


@FORMATS.register
class FeedPage(_Bluesky):
    """Feed pages: feedViewPost items, reposts among them."""

    name = "bsky-feed"

    def split(self, value: Any) -> Batch | None:
        feed = _listed(value, "feed", _is_item, _FEED_KEYS)
        return None if feed is None else Batch(self.name, feed, None, item_id,
                                               normalize_item)


@FORMATS.register
class ItemList(_Bluesky):
    """A JSON array of post views and feed items."""

    name = "bsky-list"

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is list and value and _is_item(value[0]):
            return Batch(self.name, value, None, item_id, normalize_item)
        return None


@FORMATS.register
class Thread(_Bluesky):
    """getPostThread answers."""

    name = "bsky-thread"
    gaps = {"reposts": NO_REPOSTS, "followers": NO_FOLLOWERS}

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is dict and _dict(value.get("thread")).get("$type", "").endswith(
                "#threadViewPost"):
            return Batch(self.name, thread_posts(value["thread"]), None, _view_id,
                         normalize_view)
        return None


@FORMATS.register
class SinglePost(_Bluesky):
    """One post view per line."""

    name = "bsky-post"
    gaps = {"reposts": NO_REPOSTS, "followers": NO_FOLLOWERS}

    def split(self, value: Any) -> Batch | None:
        if _is_view(value) and value.get("author").__class__ is dict:
            return Batch(self.name, [value], None, _view_id, normalize_view)
        return None


@FORMATS.register
class Jetstream(_Bluesky):
    """Jetstream events: commits creating a post or a repost."""

    name = "jetstream"
    gaps = {"followers": NO_FOLLOWERS, "metrics": NO_METRICS}

    def split(self, value: Any) -> Batch | None:
        if (value.__class__ is dict and value.get("kind") == "commit"
                and value.get("did").__class__ is str):
            commit = _dict(value.get("commit"))
            if (commit.get("operation") == "create"
                    and commit.get("collection") in (POST_COLLECTION, REPOST_COLLECTION)):
                return Batch(self.name, [value], None, jetstream_id, normalize_jetstream)
        return None

    def explain(self, value: Any) -> str | None:
        """Why a Bluesky answer or event holds no post, in words a user recognises."""
        if value.__class__ is not dict:
            return None
        if value.get("time_us").__class__ is int and value.get("kind").__class__ is str:
            commit = _dict(value.get("commit"))
            if value["kind"] != "commit":
                return f"a Jetstream {value['kind']} event, not a post"
            return (f"a Jetstream {commit.get('operation') or 'commit'} of "
                    f"{commit.get('collection') or 'a record'}, not a new post or repost")
        # XRPC errors carry a message; {"error": …} alone is Mastodon's (or anyone's)
        if value.keys() == {"error", "message"} and value.get("error").__class__ is str:
            return f"an XRPC error answer: {value['error']}"
        if "did" in value and "handle" in value and "record" not in value:
            return "a Bluesky profile, not a post"
        return None
