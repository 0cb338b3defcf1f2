"""Seeded generator of realistic Bluesky posts, as app.bsky.feed.searchPosts answers.

Used by ``source: demo`` with ``platform: bluesky``, by the fake Bluesky API's pool
(dnflow.fakebsky) and by the collection bench. The conversation is dnflow.generate's (the
same Zipf-distributed authors, hashtags, links and pictures, the same topics), reshaped
the way Bluesky writes it:

- searchPosts returns no reposts, so the generator's retweets are left out (it is asked
  for enough posts to give ``n`` others);
- handles are domain names (``kim11`` → ``kim11.bsky.social``), ids at-URIs whose record
  key is a TID made from the post's time, so they sort as the posts;
- text carries no short links: a link shows as the text the app shows (the first 27
  characters of the address, then "..."), and its ``#link`` facet holds the address;
  hashtags and mentions are ``#tag`` and ``#mention`` facets; every facet's offsets are
  UTF-8 byte offsets into the text; some posts carry ``record.tags`` beyond their text;
- quotes are ``app.bsky.embed.record`` embeds (``recordWithMedia`` with pictures),
  pictures ``app.bsky.embed.images`` with alt text, videos ``app.bsky.embed.video``, a
  link without media gets an ``app.bsky.embed.external`` card; replies ``record.reply``;
- authors have no follower counts (post views carry none).

Determinism: no clock, no ``hash()``; the same arguments give the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from dnflow import __version__
from dnflow.generate import DEFAULT_START, TWITTER_EPOCH_MS, iter_tweet_pool

PAGE_SIZE = 100  # searchPosts' largest page
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # the sortable base32 of TIDs
_X_HOSTS = ("twitter.com", "x.com", "www.twitter.com", "pic.twitter.com", "pic.x.com")
_HASHTAG = re.compile(r"(?<![\w#＃])[#＃](\w*[^\W\d_]\w*)")
# about 45% of the generator's tweets are not retweets: ask for enough of them
_OVERSAMPLE = 2.4


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def did_for(user_id: str) -> str:
    """A did:plc (24 base32 characters) made from an X user id."""
    return "did:plc:" + base64.b32encode(_digest("did", user_id)).decode().lower()[:24]


def cid_for(*parts: str) -> str:
    """A CIDv1-looking content id (bafyrei… base32) made from ``parts``."""
    return "bafyrei" + base64.b32encode(_digest("cid", *parts)).decode().lower()[:52]


def handle_for(username: str) -> str:
    """An X username as a bsky.social handle: lower-case, ``_`` → ``-`` (a domain label)."""
    label = re.sub(r"-{2,}", "-", username.lower().replace("_", "-")).strip("-")
    return f"{label or 'user'}.bsky.social"


def tid(ms: int, salt: int) -> str:
    """A TID: 53 bits of microseconds since the epoch, 10 bits of clock id, base32-sort."""
    n = ((ms * 1000 + salt % 1000) << 10) | (salt >> 10) % 1024
    return "".join(_B32[(n >> (5 * i)) & 31] for i in range(12, -1, -1))


def _snowflake_ms(tweet_id: str) -> int:
    return (int(tweet_id) >> 22) + TWITTER_EPOCH_MS


def uri_for(tweet_id: str, author_id: str) -> str:
    """The at-URI a generated tweet becomes (from its id alone: replies and quotes name
    posts that may not be in the pool)."""
    return (f"at://{did_for(author_id)}/app.bsky.feed.post/"
            f"{tid(_snowflake_ms(tweet_id), int(tweet_id) & 0xFFFFF)}")


def _iso_ms(ms: int) -> str:
    return (datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{ms % 1000:03d}Z")


def _profile(user: dict) -> dict:
    did = did_for(user["id"])
    return {"did": did, "handle": handle_for(user["username"]),
            "displayName": user.get("name") or "",
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/"
                      f"{cid_for('avatar', user['id'])}@jpeg",
            "labels": [], "createdAt": user.get("created_at") or "2023-05-01T00:00:00.000Z"}


def _ref(tweet_id: str, author_id: str) -> dict:
    uri = uri_for(tweet_id, author_id)
    return {"uri": uri, "cid": cid_for(uri)}


def _shown(url: str) -> str:
    """How the Bluesky app shows a link in a post's text."""
    s = re.sub(r"^https?://", "", url)
    return s if len(s) <= 30 else s[:27] + "..."


class _Text:
    """A post's text and its facets, built from an X tweet's text and entities."""

    def __init__(self, t: dict, handles: dict[str, tuple[str, str]]) -> None:
        text = t.get("text") or ""
        ents = t.get("entities") or {}
        self.links: list[str] = []
        for u in ents.get("urls") or []:
            short, url = u.get("url") or "", u.get("unwound_url") or u.get("expanded_url") or ""
            if not short:
                continue
            host = url.split("/")[2] if url.count("/") >= 2 else ""
            if not url or host in _X_HOSTS:  # quote and media links: embeds on Bluesky
                text = text.replace(" " + short, "").replace(short, "")
            else:
                text = text.replace(short, _shown(url))
                self.links.append(url)
        for m in ents.get("mentions") or []:
            who = handles.get(m.get("username", "").casefold())
            if who:
                text = re.sub(rf"@{re.escape(m['username'])}(?![A-Za-z0-9_])", "@" + who[0],
                              text)
        self.text = text.strip()
        self.facets: list[dict] = []
        self._facet_links()
        for who in {h for h, _ in handles.values()}:
            for m in re.finditer(rf"@{re.escape(who)}(?![A-Za-z0-9.-])", self.text):
                did = next(d for h, d in handles.values() if h == who)
                self._add(m.start(), m.end(), {"$type": "app.bsky.richtext.facet#mention",
                                               "did": did})
        for m in _HASHTAG.finditer(self.text):
            self._add(m.start(), m.end(), {"$type": "app.bsky.richtext.facet#tag",
                                           "tag": m.group(1)})
        self.facets.sort(key=lambda f: f["index"]["byteStart"])

    def _facet_links(self) -> None:
        pos = 0
        for url in self.links:
            i = self.text.find(_shown(url), pos)
            if i < 0:
                continue
            pos = i + len(_shown(url))
            self._add(i, pos, {"$type": "app.bsky.richtext.facet#link", "uri": url})

    def _add(self, start: int, end: int, feature: dict) -> None:
        # UTF-8 byte offsets, as the lexicon has them (emoji and accents take 2-4 bytes)
        b0 = len(self.text[:start].encode())
        self.facets.append({"index": {"byteStart": b0,
                                      "byteEnd": b0 + len(self.text[start:end].encode())},
                            "features": [feature]})


def _media_embed(t: dict, media: dict[str, dict], did: str) -> tuple[dict, dict] | None:
    keys = (t.get("attachments") or {}).get("media_keys") or []
    items = [media[k] for k in keys if k in media]
    if not items:
        return None
    if items[0].get("type") in ("video", "animated_gif"):
        cid = cid_for("video", items[0]["media_key"])
        alt = items[0].get("alt_text") or ""
        return ({"$type": "app.bsky.embed.video", "alt": alt,
                 "video": {"$type": "blob", "ref": {"$link": cid}, "mimeType": "video/mp4",
                           "size": 1_000_000}},
                {"$type": "app.bsky.embed.video#view", "cid": cid, "alt": alt,
                 "playlist": f"https://video.bsky.app/watch/{did.replace(':', '%3A')}/{cid}"
                             "/playlist.m3u8",
                 "thumbnail": f"https://video.bsky.app/watch/{did.replace(':', '%3A')}/{cid}"
                              "/thumbnail.jpg"})
    rec, view = [], []
    for m in items[:4]:
        cid = cid_for("image", m["media_key"])
        alt = m.get("alt_text") or ""
        rec.append({"alt": alt, "image": {"$type": "blob", "ref": {"$link": cid},
                                          "mimeType": "image/jpeg", "size": 400_000}})
        view.append({"alt": alt,
                     "thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{cid}@jpeg",
                     "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}"
                                 "@jpeg"})
    return ({"$type": "app.bsky.embed.images", "images": rec},
            {"$type": "app.bsky.embed.images#view", "images": view})


def _quote_embed(q: dict, users: dict[str, dict]) -> tuple[dict, dict]:
    ref = _ref(q["id"], q.get("author_id") or "0")
    author = users.get(q.get("author_id") or "")
    view = {"$type": "app.bsky.embed.record#viewRecord", **ref,
            "author": _profile(author) if author else {"did": did_for(q.get("author_id")
                                                                      or "0"),
                                                        "handle": "handle.invalid"},
            "value": {"$type": "app.bsky.feed.post", "text": q.get("text") or "",
                      "createdAt": q.get("created_at") or ""},
            "indexedAt": q.get("created_at") or ""}
    return ({"$type": "app.bsky.embed.record", "record": ref},
            {"$type": "app.bsky.embed.record#view", "record": view})


def post_view(t: dict, inc: dict) -> dict:
    """One X tweet (not a retweet) and its includes → a Bluesky post view."""
    users = {u["id"]: u for u in inc.get("users") or []}
    handles = {u["username"].casefold(): (handle_for(u["username"]), did_for(u["id"]))
               for u in users.values()}
    tweets = {x["id"]: x for x in inc.get("tweets") or []}
    media = {m["media_key"]: m for m in inc.get("media") or []}
    author = users.get(t["author_id"]) or {"id": t["author_id"], "username": "user"}
    profile = _profile(author)
    ms = _snowflake_ms(t["id"])
    uri = uri_for(t["id"], t["author_id"])
    body = _Text(t, handles)
    rec: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso_ms(ms),
                           "text": body.text}
    if t.get("lang") and t["lang"] != "und":
        rec["langs"] = [t["lang"]]
    if body.facets:
        rec["facets"] = body.facets
    if int(t["id"]) % 23 == 0:  # a tag beyond the text, as some apps add
        rec["tags"] = ["demo"]
    refs = {r["type"]: r["id"] for r in t.get("referenced_tweets") or []}
    view: dict[str, Any] = {"uri": uri, "cid": cid_for(uri), "author": profile}
    embed = _media_embed(t, media, profile["did"])
    if "quoted" in refs:
        q = tweets.get(refs["quoted"]) or {"id": refs["quoted"], "author_id": "0"}
        quote = _quote_embed(q, users)
        if embed:
            embed = ({"$type": "app.bsky.embed.recordWithMedia", "record": quote[0],
                      "media": embed[0]},
                     {"$type": "app.bsky.embed.recordWithMedia#view", "record": quote[1],
                      "media": embed[1]})
        else:
            embed = quote
    elif embed is None and body.links:
        url = body.links[0]
        card = {"uri": url, "title": body.text[:60], "description": ""}
        embed = ({"$type": "app.bsky.embed.external", "external": card},
                 {"$type": "app.bsky.embed.external#view", "external": card})
    if embed:
        rec["embed"] = embed[0]
        view["embed"] = embed[1]
    if "replied_to" in refs:
        parent = tweets.get(refs["replied_to"])
        pref = _ref(refs["replied_to"], (parent or {}).get("author_id")
                    or t.get("in_reply_to_user_id") or "0")
        rec["reply"] = {"root": pref, "parent": pref}
    view["record"] = rec
    m = t.get("public_metrics") or {}
    view.update({"replyCount": m.get("reply_count", 0), "repostCount": m.get(
        "retweet_count", 0), "likeCount": m.get("like_count", 0),
                 "quoteCount": m.get("quote_count", 0),
                 "indexedAt": _iso_ms(ms + 150 + int(t["id"]) % 700), "labels": []})
    return view


def iter_posts(n: int, seed: int = 1, *, topic: str = "climate", query: str | None = None,
               start: str = DEFAULT_START, days: float = 7.0) -> Iterator[dict]:
    """``n`` post views, newest first (fewer only if the generator runs dry)."""
    query = query or {"climate": "#climatestrike", "music": "#kpop",
                      "news": "breaking"}.get(topic, "#demo")
    made = 0
    pool = iter_tweet_pool(int(n * _OVERSAMPLE) + 20, seed, query=query, topic=topic,
                           start=start, days=days)
    for t, inc in pool:
        if made == n:
            return
        if any(r.get("type") == "retweeted" for r in t.get("referenced_tweets") or ()):
            continue  # searchPosts returns no reposts
        made += 1
        yield post_view(t, inc)


def iter_pages(n: int, seed: int = 1, *, topic: str = "climate", query: str | None = None,
               start: str = DEFAULT_START, days: float = 7.0,
               page_size: int = PAGE_SIZE) -> Iterator[dict]:
    """searchPosts answers of ``n`` posts, newest first, with their cursors."""
    page: list[dict] = []
    done = 0
    q = query or "#demo"
    for view in iter_posts(n, seed, topic=topic, query=query, start=start, days=days):
        page.append(view)
        if len(page) == page_size:
            done += len(page)
            yield _page(page, done, q, seed, more=True)
            page = []
    if page:
        done += len(page)
        yield _page(page, done, q, seed, more=False)


def _page(posts: list[dict], offset: int, query: str, seed: int, more: bool) -> dict:
    out: dict[str, Any] = {"posts": posts}
    if more:
        out["cursor"] = str(offset)
    out["__dnflow"] = {"generated": f"dnflow-generate-bluesky/{__version__}", "seed": seed,
                       "query": query, "url": "https://bsky.social/xrpc/"
                                              "app.bsky.feed.searchPosts"}
    return out


def write_archive(path: str | Path, n: int, seed: int = 1, **kw: Any) -> int:
    """Write searchPosts pages as JSONL (gzip when the name ends in .gz; no name and
    mtime 0 in its header, so the bytes depend only on the arguments); atomic. Returns
    the posts written. ``kw``: :func:`iter_pages`' keywords."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    written = 0
    with open(tmp, "wb") as raw:
        out = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3)
               if path.name.endswith(".gz") else raw)
        try:
            for page in iter_pages(n, seed, **kw):
                out.write(orjson.dumps(page, option=orjson.OPT_APPEND_NEWLINE))
                written += len(page["posts"])
        finally:
            if out is not raw:
                out.close()
    os.replace(tmp, path)
    return written
