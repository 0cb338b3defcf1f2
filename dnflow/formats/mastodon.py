"""Mastodon's archive formats, and its statuses → post records (dnflow.formats).

Formats (each line of an archive is offered to them):

- ``mastodon-chunk``: a line of a ``source: mastodon`` raw chunk: one API answer (a page
  of statuses, verbatim) under ``statuses``, with dnflow's provenance under ``__dnflow``;
- ``mastodon-page``: an API answer as the server sends it: a JSON array of statuses
  (a timeline page saved by another tool, or a whole file of one array);
- ``mastodon-status``: one status per line;
- ``mastodon-context``: a ``/statuses/:id/context`` answer (its ancestors and
  descendants are the posts).

A status's id is local to the server that gave it (each instance numbers the statuses it
knows); its ``uri`` is the same everywhere, so dedup is by ``uri`` (the summary's dedup
key, and what tweet-ids.txt lists). Opt-outs (dnflow.optouts) are applied here: posts of
accounts that asked not to be collected never become records (their keys go to
``Batch.left_out``), and posts of accounts that did not opt in to search become withheld
records.

How a status becomes a record (the README's "How counting works"):

- text: ``content`` (HTML) parsed into text (dnflow.formats.mastodon_html), after the
  content warning (``spoiler_text``) when there is one;
- hashtags: the status's ``tags`` (as the text spells them when it does);
- mentions: ``mentions[].acct``, always as ``user@server`` (a local acct gets the server
  of its profile URL, so one person is one handle whichever instance was asked);
- links: the content's anchors that are not hashtags or mentions, plus the preview
  ``card``'s URL; http(s) only, distinct;
- media: ``media_attachments`` (``description`` is the alt text);
- kind: a boost (``reblog``) is a repost, whose original is ``reposted``; ``quote``
  (Mastodon 4.4) a quote; ``in_reply_to_id`` a reply;
- language: ``language``; client: ``application.name``; metrics: reblogs (as
  ``retweet_count``), replies, favourites (as ``like_count``) and quotes counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from dnflow import optouts
from dnflow.formats import FORMATS, BadPost, Batch, Format
from dnflow.formats.mastodon_html import Anchor, Parsed, parse
from dnflow.record import Author, Post, post

PLATFORM = "mastodon"
# media_attachments[].type → the record's media types (X's words, which counts share)
_MEDIA_TYPES = {"image": "photo", "gifv": "animated_gif", "video": "video",
                "audio": "audio", "unknown": "unknown"}
MAX_URI = 2048


# ---------------------------------------------------------------- detection


def is_status(value: Any) -> bool:
    """Whether a JSON value is a Mastodon status (the fields every server sends; a
    deleted status, as the delete answer gives it back, has its plain ``text`` instead of
    ``content``)."""
    return (value.__class__ is dict and "uri" in value and "account" in value
            and "id" in value and ("content" in value or "text" in value))


def post_key(raw: Any) -> str:
    """A status's dedup key: its ``uri``, or for a withheld post a stand-in that does not
    show it (the URI holds the handle). BadPost when it has no usable URI."""
    uri = raw.get("uri")
    if uri.__class__ is not str or not uri or len(uri) > MAX_URI or not uri.isprintable():
        shown = repr(uri)
        raise BadPost(f"uri {shown[:40] + '…' if len(shown) > 40 else shown} is not a "
                      "status URI")
    if optouts.withholds(raw.get("account")):
        return optouts.hidden_key(uri)
    return uri


def _left_out(raw: Any) -> str | None:
    reason = optouts.leaves_out(raw.get("account"))
    reblog = raw.get("reblog")
    if reason is None and isinstance(reblog, dict):
        reason = optouts.leaves_out(reblog.get("account"))
    return reason


def keep(statuses: list) -> tuple[list, tuple[str, ...]]:
    """The statuses whose authors did not opt out (under the current policy), and the
    left-out ones' keys (hidden: they are never published)."""
    kept: list = []
    gone: list[str] = []
    for s in statuses:
        if s.__class__ is dict and _left_out(s):
            uri = s.get("uri")
            gone.append(optouts.hidden_key(uri if isinstance(uri, str) else repr(s.get("id"))))
        else:
            kept.append(s)
    return kept, tuple(gone)


def _normalize(raw: Any, ctx: Any) -> Post:
    return normalize(raw)


class _Mastodon(Format):
    platform = PLATFORM
    opt_outs = True

    def settings(self) -> str:
        return optouts.fingerprint()

    def batch(self, statuses: list, left_out: tuple[str, ...] = ()) -> Batch:
        kept, gone = keep(statuses)
        return Batch(self.name, kept, None, post_key, _normalize, False, 0, left_out + gone)


@FORMATS.register
class Chunk(_Mastodon):
    """A line of a ``source: mastodon`` raw chunk (dnflow.sources.mastodon)."""

    name = "mastodon-chunk"

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is not dict:
            return None
        prov = value.get("__dnflow")
        statuses = value.get("statuses")
        if (prov.__class__ is not dict or prov.get("platform") != PLATFORM
                or statuses.__class__ is not list):
            return None
        gone = prov.get("left_out")
        left = tuple(k for k in gone if isinstance(k, str)) if isinstance(gone, list) else ()
        return self.batch(statuses, left)


@FORMATS.register
class StatusPage(_Mastodon):
    """An API answer as sent: a JSON array of statuses."""

    name = "mastodon-page"

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is list and value and is_status(value[0]):
            return self.batch(value)
        return None


@FORMATS.register
class Status(_Mastodon):
    """One status per line."""

    name = "mastodon-status"

    def split(self, value: Any) -> Batch | None:
        return self.batch([value]) if is_status(value) else None


@FORMATS.register
class Context(_Mastodon):
    """A ``/api/v1/statuses/:id/context`` answer: its ancestors and descendants."""

    name = "mastodon-context"

    def split(self, value: Any) -> Batch | None:
        if (value.__class__ is dict and value.keys() >= {"ancestors", "descendants"}
                and isinstance(value["ancestors"], list)
                and isinstance(value["descendants"], list)):
            return self.batch(value["ancestors"] + value["descendants"])
        return None


# ---------------------------------------------------------------- normalizing


def _host(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _http(url: Any) -> bool:
    return isinstance(url, str) and url[:8].lower().startswith(("http://", "https://"))


def full_acct(acct: Any, url: Any) -> str | None:
    """``user@server``: an acct as another instance would write it (a local account's
    acct has no server; its profile URL's host is its server)."""
    if not isinstance(acct, str) or not acct:
        return None
    acct = acct.lstrip("@")
    if "@" in acct:
        return acct
    host = _host(url)
    return f"{acct}@{host}" if host else acct


def iso_time(value: Any) -> str | None:
    """``2025-07-17T19:07:48.000Z`` (or any ISO 8601 time) → ``2025-07-17T19:07:48Z``."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    if value[4:5] == "-" and value[10:11] == "T" and value.endswith("Z") and (
            value[:4].isdigit()):
        return value[:19] + "Z"
    try:
        t = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _author(account: Any) -> Author:
    if not isinstance(account, dict):
        return Author(None, None, None, None, None, None, None, None)
    url = account.get("url")
    ident = account.get("uri") or url or account.get("id")
    followers, following = account.get("followers_count"), account.get("following_count")
    indexable = account.get("indexable")
    return Author(
        ident if isinstance(ident, str) else None,
        full_acct(account.get("acct") or account.get("username"), url or account.get("uri")),
        account.get("display_name") if isinstance(account.get("display_name"), str) else None,
        followers if followers.__class__ is int else None,
        following if following.__class__ is int else None,
        url if _http(url) else None,
        None,  # Mastodon has no verified accounts (verified profile links are not that)
        account.get("avatar_static") if _http(account.get("avatar_static")) else None,
        indexable if isinstance(indexable, bool) else None)


def _hashtags(tags: Any, anchors: list[Anchor]) -> list[str]:
    """The status's tags, spelled as its text writes them when it does."""
    if not isinstance(tags, list):
        return []
    written = {a.text.lstrip("#＃").casefold(): a.text.lstrip("#＃")
               for a in anchors if a.is_hashtag}
    out: list[str] = []
    for t in tags:
        name = t.get("name") if isinstance(t, dict) else None
        if isinstance(name, str) and name:
            out.append(written.get(name.casefold(), name))
    return list(dict.fromkeys(out))


def _mentions(mentions: Any) -> list[str]:
    if not isinstance(mentions, list):
        return []
    out = [full_acct(m.get("acct") or m.get("username"), m.get("url"))
           for m in mentions if isinstance(m, dict)]
    return list(dict.fromkeys(m for m in out if m))


def _links(anchors: list[Anchor], raw: dict) -> list[dict]:
    """Shared links: anchors that are neither hashtags nor mentions (nor point where the
    status's tags and mentions do), then the preview card's URL; distinct."""
    not_links = {t.get("url") for t in raw.get("tags") or () if isinstance(t, dict)}
    not_links |= {m.get("url") for m in raw.get("mentions") or () if isinstance(m, dict)}
    urls = [a.href for a in anchors
            if not a.is_hashtag and not a.is_mention and a.href not in not_links]
    card = raw.get("card")
    if isinstance(card, dict):
        urls.append(card.get("url"))
    out: list[dict] = []
    seen: set[str] = set()
    for url in urls:
        if not _http(url) or url in seen:
            continue
        seen.add(url)
        host = _host(url)
        out.append({"url": url, "domain": (host[4:] if host.startswith("www.") else host)
                    or None})
    return out


def _media(attachments: Any) -> list[dict]:
    if not isinstance(attachments, list):
        return []
    out = []
    for m in attachments:
        if not isinstance(m, dict):
            continue
        mid = m.get("id")
        url = m.get("url") if _http(m.get("url")) else m.get("remote_url")
        alt = m.get("description")
        out.append({
            "key": str(mid) if isinstance(mid, str | int) and not isinstance(mid, bool)
            else None,
            "type": _MEDIA_TYPES.get(m.get("type"), m.get("type")
                                     if isinstance(m.get("type"), str) else None),
            "url": url if _http(url) else None,
            "preview": m.get("preview_url") if _http(m.get("preview_url")) else None,
            "alt_text": alt.strip() or None if isinstance(alt, str) else None,
        })
    return out


def _metrics(raw: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field in (("retweet_count", "reblogs_count"), ("reply_count", "replies_count"),
                       ("like_count", "favourites_count"), ("quote_count", "quotes_count")):
        v = raw.get(field)
        if v.__class__ is int:
            out[key] = v
    return out


def _quoted_account(quote: Any) -> str | None:
    """The quoted status's author, keyed as authors are (the networks' quote edge)."""
    qs = quote.get("quoted_status") if isinstance(quote, dict) else None
    return _author(qs.get("account")).id if isinstance(qs, dict) else None


def _replied_account(raw: dict) -> str | None:
    """The replied-to account (the networks' reply edge). A status names it by its id on
    the instance asked, not by the URI authors are keyed by: the author's own URI for a
    reply to themselves, else "@" and the handle of the mention with that id (the
    networks resolve a handle to an author's URI), else None."""
    rid = raw.get("in_reply_to_account_id")
    if rid is None or isinstance(rid, bool):
        return None
    rid = str(rid)
    own = raw.get("account")
    if isinstance(own, dict) and str(own.get("id")) == rid:
        return _author(own).id
    for m in raw.get("mentions") or ():
        if isinstance(m, dict) and str(m.get("id")) == rid:
            handle = full_acct(m.get("acct") or m.get("username"), m.get("url"))
            return "@" + handle.casefold() if handle else None
    return None


def _quote_of(quote: Any) -> str | None:
    if not isinstance(quote, dict):
        return None
    qs = quote.get("quoted_status")
    qid = qs.get("id") if isinstance(qs, dict) else quote.get("quoted_status_id")
    return qid if isinstance(qid, str) and qid else None


def _text(raw: dict) -> tuple[str, list[Anchor]]:
    content = raw.get("content")
    if isinstance(content, str):
        parsed = parse(content)
    else:  # a deleted status: its source text, plain (not HTML)
        source = raw.get("text")
        parsed = Parsed(source.strip() if isinstance(source, str) else "", [])
    spoiler = raw.get("spoiler_text")
    text = parsed.text
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"CW: {spoiler.strip()}\n\n{text}" if text else f"CW: {spoiler.strip()}"
    return text, parsed.anchors


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _status(raw: dict) -> Post:
    """One status as a record (without the reblog it may wrap), withheld if its author
    did not opt in to search."""
    sid = raw.get("id")
    if sid.__class__ is int and not isinstance(sid, bool):
        sid = str(sid)
    if sid.__class__ is not str or not sid:
        raise BadPost(f"id {sid!r} is not a status id")
    text, anchors = _text(raw)
    app = raw.get("application")
    uri = raw.get("uri")
    rec = post(
        PLATFORM, sid, raw.get("url") if _http(raw.get("url")) else None,
        iso_time(raw.get("created_at")), _author(raw.get("account")), text,
        _str_or_none(raw.get("language")), None, _quote_of(raw.get("quote")),
        _str_or_none(raw.get("in_reply_to_id")), None, _hashtags(raw.get("tags"), anchors),
        _mentions(raw.get("mentions")), _links(anchors, raw), _media(raw.get("media_attachments")),
        _str_or_none(app.get("name")) if isinstance(app, dict) else None, _metrics(raw),
        uri=uri if isinstance(uri, str) else None,
        reply_user=_replied_account(raw), quote_user=_quoted_account(raw.get("quote")))
    if optouts.withholds(raw.get("account")):
        return optouts.withhold(rec)
    return rec


def normalize(raw: dict) -> Post:
    """A status → its record; a boost's record reposts its original's (dnflow.record)."""
    if raw.__class__ is not dict:
        raise BadPost(f"a status is a JSON object, not {type(raw).__name__}")
    reblog = raw.get("reblog")
    if not isinstance(reblog, dict):
        return _status(raw)
    original = _status(reblog)
    own = _status(raw)
    # a boost's own content is empty: it shows, and counts, its original's
    return post(PLATFORM, own.id, own.url, own.created_at, own.author, original.text,
                own.lang or original.lang, original.id, None, None, original, own.hashtags,
                own.mentions, own.links, own.media, own.client, own.metrics, uri=own.uri)
