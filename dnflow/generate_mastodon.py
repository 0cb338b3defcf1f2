"""Seeded generator of realistic Mastodon statuses on a hashtag timeline.

For the loopback fake Mastodon API (dnflow.fakemastodon), the offline demo
(:func:`write_demo_archive`, which a ``source: demo`` with ``platform: mastodon`` can
call) and tests. The conversation comes from dnflow.generate's seeded stream (its Zipf
laws for authors, hashtags, links, media and languages), turned into what a Mastodon
server sends:

- no boosts (hashtag timelines carry none), so the X stream's retweets are skipped; every
  status carries the timeline's hashtag (added where the stream's post has not);
- HTML ``content`` as Mastodon writes it: paragraphs, ``<br />``, hashtag and h-card
  mention anchors, links with ``invisible`` / ``ellipsis`` spans; a quote carries the
  Mastodon 4.4 ``quote`` object and the ``quote-inline`` "RE:" fallback;
- accounts on several servers (``acct`` is ``user@server`` except on its home server,
  where ``uri`` and ``url`` live), with their opt-outs: about 3% ``noindex: true``, 2%
  ``#nobot`` in the bio, and a third ``indexable: false`` (the default of older accounts);
- ids as Mastodon makes them (milliseconds << 16), media with alt text (``description``),
  preview cards for links, replies, languages, clients.

Deterministic: the same arguments give the same statuses (no clock, no ``hash()``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from dnflow import __version__

# home servers of generated accounts, by share; the fake API serves some of them
HOMES: tuple[tuple[str, float], ...] = (
    ("mastodon.social", 0.45), ("fosstodon.org", 0.15), ("hachyderm.io", 0.1),
    ("mastodon.online", 0.1), ("social.coop", 0.08), ("mstdn.social", 0.07),
    ("scholar.social", 0.05))
TAGS = {"climate": "climatestrike", "music": "kpop", "news": "breakingnews"}
CLIENTS = (("Web", 0.55), ("Ivory for iOS", 0.12), ("Tusky", 0.1),
           ("Mastodon for Android", 0.1), ("Elk", 0.06), ("Phanpy", 0.04),
           ("Mastodon for iOS", 0.03))
# share of non-boost posts of the X stream that carry the tag: sizes the stream asked for
_YIELD = 0.42


def _unit(*parts: Any) -> float:
    """A number in [0, 1) fixed by ``parts`` (blake2b: stable across runs and machines)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def _pick(options: Sequence[tuple[str, float]], u: float) -> str:
    acc = 0.0
    total = sum(w for _, w in options)
    for name, w in options:
        acc += w / total
        if u < acc:
            return name
    return options[-1][0]


def mastodon_id(ms: int, seq: int) -> str:
    """A Mastodon id: the time in milliseconds, shifted 16 bits, and a sequence."""
    return str(ms << 16 | (seq & 0xFFFF))


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


# ---------------------------------------------------------------- accounts


def account(user: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """An X user of the stream as a Mastodon account on its home server (as that server
    shows it), with its opt-outs."""
    uid = user["id"]
    username = user["username"]
    home = _pick(HOMES, _unit(seed, "home", uid))
    u = _unit(seed, "optout", uid)
    noindex = u < 0.03
    nobot = 0.03 <= u < 0.05
    indexable = _unit(seed, "indexable", uid) >= 0.33
    bio = html.escape(user.get("description") or "")
    note = f"<p>{bio}</p>"
    if nobot:
        note += (f'<p>No bots please <a href="https://{home}/tags/nobot" '
                 'class="mention hashtag" rel="tag">#<span>nobot</span></a></p>')
    metrics = user.get("public_metrics") or {}
    created = (user.get("created_at") or "2022-11-01T00:00:00.000Z")[:10]
    avatar = f"https://files.{home}/accounts/avatars/{int(uid) % 10**9:09d}/original/a.png"
    return {
        "id": str(int(uid) % 10**17), "username": username, "acct": username,
        "display_name": user.get("name") or username, "locked": False, "bot": False,
        "discoverable": indexable, "indexable": indexable, "group": False,
        "created_at": f"{created}T00:00:00.000Z", "note": note,
        "url": f"https://{home}/@{username}", "uri": f"https://{home}/users/{username}",
        "avatar": avatar, "avatar_static": avatar,
        "header": f"https://{home}/headers/original/missing.png",
        "header_static": f"https://{home}/headers/original/missing.png",
        "followers_count": int(metrics.get("followers_count") or 0),
        "following_count": int(metrics.get("following_count") or 0),
        "statuses_count": int(metrics.get("tweet_count") or 0),
        "last_status_at": None, "noindex": noindex, "emojis": [], "fields": [],
    }


# ---------------------------------------------------------------- content


def _link_html(url: str) -> str:
    scheme, _, rest = url.partition("://")
    prefix = scheme + "://"
    if rest.startswith("www."):
        prefix, rest = prefix + "www.", rest[4:]
    shown, hidden = rest[:30], rest[30:]
    cls = "ellipsis" if hidden else ""
    return (f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{html.escape(prefix)}</span>'
            f'<span class="{cls}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>')


def content_html(text: str, home: str, tags: Sequence[str], people: Mapping[str, str],
                 links: Mapping[str, str]) -> str:
    """Plain text → Mastodon's HTML: hashtags and mentions as anchors, short links as
    their targets, paragraphs and line breaks."""
    import re

    def token(m: re.Match) -> str:
        word = m.group(0)
        if word.startswith(("#", "＃")):
            tag = word[1:]
            return (f'<a href="https://{home}/tags/{html.escape(tag)}" class="mention '
                    f'hashtag" rel="tag">#<span>{html.escape(tag)}</span></a>')
        if word.startswith("@"):
            acct = people.get(word[1:].casefold())
            if acct:
                user, _, server = acct.partition("@")
                return (f'<span class="h-card" translate="no"><a href="https://{server}/@'
                        f'{html.escape(user)}" class="u-url mention">@<span>'
                        f'{html.escape(user)}</span></a></span>')
            return html.escape(word)
        target = links.get(word)
        return _link_html(target) if target else ""

    pattern = re.compile(r"https?://\S+|[#＃]\w+|@\w+")
    paragraphs = []
    for para in text.split("\n\n"):
        out, pos = [], 0
        for m in pattern.finditer(para):
            out.append(html.escape(para[pos:m.start()]))
            out.append(token(m))
            pos = m.end()
        out.append(html.escape(para[pos:]))
        body = "".join(out).strip().replace("\n", "<br />")
        if body:
            paragraphs.append(f"<p>{body}</p>")
    del tags
    return "".join(paragraphs)


# ---------------------------------------------------------------- statuses


class _Convert:
    """X stream posts → Mastodon statuses (as their home servers show them)."""

    def __init__(self, seed: int, tag: str) -> None:
        self.seed = seed
        self.tag = tag
        self.seq = 0
        self.ids: dict[str, str] = {}  # X id → Mastodon id (replies, quotes)

    def status_id(self, tid: str, created: str) -> str:
        sid = self.ids.get(tid)
        if sid is None:
            sid = self.ids[tid] = mastodon_id(_ms(created), int(tid) & 0xFFFF)
        return sid

    def status(self, tweet: Mapping[str, Any], inc: Mapping[str, Any],
               quoted: bool = False) -> dict[str, Any]:
        users = {u["id"]: u for u in inc.get("users") or ()}
        media = {m["media_key"]: m for m in inc.get("media") or ()}
        acc = account(users.get(tweet["author_id"]) or {"id": tweet["author_id"],
                                                          "username": "someone"}, self.seed)
        home = acc["url"].split("/")[2]
        sid = self.status_id(tweet["id"], tweet["created_at"])
        ents = tweet.get("entities") or {}
        text = tweet["text"]
        tags = [h["tag"] for h in ents.get("hashtags") or ()]
        if not quoted and self.tag.casefold() not in (t.casefold() for t in tags):
            text += f" #{self.tag}"
            tags.append(self.tag)
        refs = {r["type"]: r["id"] for r in tweet.get("referenced_tweets") or ()}
        links: dict[str, str] = {}
        for u in ents.get("urls") or ():
            target = u.get("unwound_url") or u.get("expanded_url") or ""
            # the link to a quoted post becomes Mastodon's quote, and X's links to its
            # own media pages are no links on Mastodon (the media are attachments)
            if "quoted" in refs and ("/status/" + refs["quoted"]) in target:
                continue
            if target.split("/")[2:3] in (["twitter.com"], ["x.com"]):
                continue
            if target.startswith(("http://", "https://")):
                links[u["url"]] = target
        mentioned = [m["username"] for m in ents.get("mentions") or ()]
        by_name = {u["username"].casefold(): u for u in users.values()}
        mentions, people = [], {}
        for name in mentioned:
            u = by_name.get(name.casefold())
            if u is None:
                continue
            a = account(u, self.seed)
            server = a["url"].split("/")[2]
            full = f"{a['username']}@{server}"
            people[name.casefold()] = full
            mentions.append({"id": a["id"], "username": a["username"], "url": a["url"],
                             "acct": a["username"] if server == home else full})
        content = content_html(text, home, tags, people, links)
        out: dict[str, Any] = {
            "id": sid, "created_at": tweet["created_at"][:19] + ".000Z",
            "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": bool(tweet.get("possibly_sensitive")), "spoiler_text": "",
            "visibility": "public", "language": tweet.get("lang") if tweet.get("lang") not in (
                None, "und") else None,
            "uri": f"https://{home}/users/{acc['username']}/statuses/{sid}",
            "url": f"https://{home}/@{acc['username']}/{sid}",
            "replies_count": (tweet.get("public_metrics") or {}).get("reply_count", 0),
            "reblogs_count": (tweet.get("public_metrics") or {}).get("retweet_count", 0),
            "favourites_count": (tweet.get("public_metrics") or {}).get("like_count", 0),
            "quotes_count": (tweet.get("public_metrics") or {}).get("quote_count", 0),
            "edited_at": None, "content": content, "reblog": None,
            "application": {"name": _pick(CLIENTS, _unit(self.seed, "app", tweet["id"])),
                            "website": None},
            "account": acc, "media_attachments": [], "mentions": mentions,
            "tags": [{"name": t.casefold(), "url": f"https://{home}/tags/{t.casefold()}"}
                     for t in dict.fromkeys(tags)],
            "emojis": [], "quote": None, "card": None, "poll": None,
        }
        if "replied_to" in refs:
            out["in_reply_to_id"] = mastodon_id(_ms(tweet["created_at"]) - 60_000,
                                                int(refs["replied_to"]) & 0xFFFF)
            out["in_reply_to_account_id"] = acc["id"]
        for key in (tweet.get("attachments") or {}).get("media_keys") or ():
            m = media.get(key)
            if m:
                out["media_attachments"].append(self.media(m, home))
        if links and not out["media_attachments"]:
            url = next(iter(links.values()))
            out["card"] = {"url": url, "title": url.split("/")[2], "description": "",
                           "type": "link", "author_name": "", "provider_name": "",
                           "image": None, "embed_url": "", "html": ""}
        if "quoted" in refs and not quoted:
            original = next((t for t in inc.get("tweets") or () if t["id"] == refs["quoted"]),
                            None)
            if original is not None:
                q = self.status(original, inc, quoted=True)
                out["quote"] = {"state": "accepted", "quoted_status": q}
                out["content"] += (f'<p class="quote-inline">RE: <a href="{q["url"]}">'
                                   f'{q["url"]}</a></p>')
        return out

    def media(self, m: Mapping[str, Any], home: str) -> dict[str, Any]:
        kind = {"photo": "image", "video": "video", "animated_gif": "gifv"}.get(
            m.get("type"), "image")
        mid = str(int(_unit(self.seed, "media", m["media_key"]) * 10**17))
        base = f"https://files.{home}/media_attachments/files/{mid}"
        ext = "jpg" if kind == "image" else "mp4"
        return {"id": mid, "type": kind, "url": f"{base}/original/{mid[-8:]}.{ext}",
                "preview_url": f"{base}/small/{mid[-8:]}.jpg", "remote_url": None,
                "description": m.get("alt_text"), "blurhash": None,
                "meta": {"original": {"width": m.get("width") or 1200,
                                      "height": m.get("height") or 800}}}


def iter_statuses(n: int, seed: int = 1, *, topic: str = "climate", tag: str | None = None,
                  start: str = "2026-11-01T00:00:00Z", days: float = 7.0
                  ) -> Iterator[dict[str, Any]]:
    """``n`` statuses with the hashtag ``tag`` (default: the topic's), newest first, as
    their home servers show them; spread over ``days`` from ``start``."""
    from dnflow.generate import iter_tweet_pool

    tag = (tag or TAGS.get(topic, "demo")).lstrip("#")
    conv = _Convert(seed, tag)
    asked = math.ceil(n / _YIELD) + 50
    made = 0
    for tweet, inc in iter_tweet_pool(asked, seed, query=f"#{tag}", topic=topic, start=start,
                                      days=days):
        if made >= n:
            return
        if any(r["type"] == "retweeted" for r in tweet.get("referenced_tweets") or ()):
            continue  # hashtag timelines carry no boosts
        yield conv.status(tweet, inc)
        made += 1


def write_demo_archive(path: str | Path, n: int, seed: int = 1, *, topic: str = "climate",
                       tag: str | None = None, start: str = "2026-11-01T00:00:00Z",
                       days: float = 7.0, page_size: int = 40) -> int:
    """A Mastodon archive of ``n`` generated statuses: timeline answers as a
    ``source: mastodon`` chunk holds them (``statuses`` + ``__dnflow``, the
    ``mastodon-chunk`` format), JSONL, gzip when the name ends in ``.gz`` (no name or
    time in its header: the bytes depend only on the arguments). Opted-out accounts'
    posts are in it: the summary leaves them out, as it would from any archive. Returns
    the statuses written.

    The demo hook of ``source: demo`` (``platform: mastodon``) calls this."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    made = 0
    page: list[dict] = []
    tag = (tag or TAGS.get(topic, "demo")).lstrip("#")
    gz = path.name.endswith(".gz")
    with open(tmp, "wb") as raw, (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz
            else contextlib.nullcontext(raw)) as f:
        def flush() -> None:
            prov = {"platform": "mastodon", "instance": "generated", "generated": {
                "seed": seed, "topic": topic, "tag": tag}, "version": f"dnflow/{__version__}",
                "ids": {"newest": page[0]["id"], "oldest": page[-1]["id"]}, "left_out": []}
            f.write(orjson.dumps({"statuses": page, "__dnflow": prov},
                                 option=orjson.OPT_APPEND_NEWLINE))
            page.clear()

        for status in iter_statuses(n, seed, topic=topic, tag=tag, start=start, days=days):
            page.append(status)
            made += 1
            if len(page) == page_size:
                flush()
        if page:
            flush()
    tmp.replace(path)
    return made


def write_demo(path: str | Path, n: int, seed: int = 1, *, topic: str = "climate",
               query: str | None = None) -> int:
    """``source: demo`` with ``platform: mastodon`` (Platform.demo): its hashtag is the
    query's first word, without its "#"."""
    words = (query or "").split()
    tag = words[0].lstrip("#") if words else None
    return write_demo_archive(path, n, seed, topic=topic, tag=tag or None)
