"""Post text and values from posts → safe HTML.

Everything that comes from a post is escaped here or by Jinja's autoescape; the only
markup added is links, and only to http(s) URLs (``safe_url``) or to the platform's own
URLs (dnflow.platforms), built from hashtag/mention characters that cannot break out of
an attribute. The platform is the search's (dnflow.sources.platform_of): nothing here
names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from dnflow.platforms import Platform

MAX_TEXT = 2000  # characters of a tweet shown on a card (long posts go up to 25,000)
MAX_LINKS = 40  # links made in one tweet's text; the rest stays plain text
MAX_URL = 2048  # longer URLs are shown, not linked
MAX_LABEL = 90  # characters of a URL shown as link text

_URL_TAG = (
    r"(?P<url>\bhttps?://[^\s<>\"'\u00a0\u2000-\u200b\u3000]+)"
    r"|(?<![\w&#＃])[#＃](?P<tag>\w*[^\W\d_]\w*)"
)
_TOKENS: dict[tuple[str, tuple[str, ...]], re.Pattern[str]] = {}


def _token(platform: Platform, shown: tuple[str, ...] = ()) -> re.Pattern[str]:
    """URLs, hashtags, mentions as ``platform`` writes them, and the link texts ``shown``
    (a post that shows a link as text of its own: Bluesky's "example.com/long-pa…")."""
    key = (platform.mention_pattern, shown)
    tok = _TOKENS.get(key)
    if tok is None:
        alts = "|".join(map(re.escape, shown))
        tok = re.compile(
            (f"(?P<shown>{alts})|" if shown else "") + _URL_TAG
            + f"|(?<![\\w@＠])[@＠](?P<user>{platform.mention_pattern})", re.IGNORECASE)
        if len(_TOKENS) > 512:
            _TOKENS.clear()
        _TOKENS[key] = tok
    return tok
_TRAILING = ".,;:!?'\")]}…»”’"
_HTTP = re.compile(r"https?://", re.IGNORECASE)


def safe_url(url: Any) -> str | None:
    """The URL if it is http(s) and reasonably short, else None (shown but never linked)."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        return None
    u = url.strip()
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in u for c in "\x00\r\n\t<>\"' "):
        return None
    return u


def short_url(url: str, limit: int = MAX_LABEL) -> str:
    """A URL as link text: no scheme, no trailing slash, cut with an ellipsis."""
    s = re.sub(r"^https?://(www\.)?", "", url, flags=re.IGNORECASE).rstrip("/")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def words(platform: Platform) -> dict[str, str]:
    """What pages call a post and a repost on ``platform`` (``posts``, ``Posts``…) and
    the platform itself (``label``)."""
    w = dict(platform.words)
    w.update({k.capitalize(): v.capitalize() for k, v in platform.words.items()})
    w["label"] = platform.label or "the platform"
    return w


def post_url(record: Mapping[str, Any], platform: Platform) -> str | None:
    """The post's page on its platform (None: no link): the record's own URL on a
    platform whose ids do not make one (Mastodon), else made from handle and id."""
    if platform.post_urls_in_records:
        return safe_url(record.get("url"))
    return platform.post_url((record.get("author") or {}).get("username"),
                             str(record.get("id") or ""))


def _link(href: str, text: str, cls: str) -> Markup:
    return Markup('<a class="{}" href="{}" rel="nofollow noopener">{}</a>').format(
        cls, href, text
    )


def _split_url(raw: str) -> tuple[str, str]:
    """Trailing punctuation belongs to the sentence, unless it closes a bracket."""
    url = raw
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url, raw[len(url):]


def linkify(text: str, platform: Platform, expand: Mapping[str, str] | None = None,
            people: Mapping[str, str] | None = None) -> Markup:
    """Plain post text → HTML with hashtags, mentions and http(s) URLs as links (hashtags
    and mentions to ``platform``'s pages, when it has them).

    ``expand`` maps short (t.co) links to their expanded URL, used as link target and text;
    ``people`` maps a case-folded name as the text writes it to the full handle of the
    person mentioned (Mastodon's text says ``@user``, the post lists ``user@server``).
    """
    out: list[str] = []
    pos = 0
    # link texts that are not URLs themselves, longest first (one may contain another)
    shown = tuple(sorted((k for k in expand or () if k and not _HTTP.match(k)),
                         key=lambda k: (-len(k), k)))
    for n, m in enumerate(_token(platform, shown).finditer(text)):
        if n >= MAX_LINKS:
            break
        out.append(escape(text[pos : m.start()]))
        pos = m.end()
        if shown and m.group("shown"):
            href = safe_url((expand or {}).get(m.group("shown")))
            out.append(_link(href, m.group("shown"), "url") if href
                       else escape(m.group("shown")))
        elif m.group("url"):
            url, rest = _split_url(m.group("url"))
            target = (expand or {}).get(url, url)
            href = safe_url(target)
            if href:
                out.append(_link(href, short_url(target), "url"))
            else:
                out.append(escape(url))
            out.append(escape(rest))
        else:
            tag = m.group("tag")
            user = m.group("user")
            if user and people:
                user = people.get(user.casefold(), user)
            href = platform.hashtag_url(tag) if tag else platform.profile_url(user)
            cls = "hashtag" if tag else "mention"
            out.append(_link(href, m.group(0), cls) if href else escape(m.group(0)))
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def tweet_html(record: Mapping[str, Any], platform: Platform, limit: int = MAX_TEXT) -> Markup:
    text = record.get("text") or ""
    if not isinstance(text, str):
        text = str(text)
    expand = {}
    for u in record.get("urls") or ():
        if isinstance(u, Mapping) and u.get("short") and u.get("url"):
            expand[u["short"]] = u["url"]
    people = {m.partition("@")[0].casefold(): m for m in record.get("mentions") or ()
              if isinstance(m, str) and "@" in m.strip("@")}
    return linkify(clip(text, limit), platform, expand, people)


def extra_links(record: Mapping[str, Any], limit: int = 1024) -> list[dict[str, str]]:
    """Expanded URLs of a tweet (text usually holds only t.co links), http(s) only."""
    out = []
    for u in record.get("urls") or ():
        url = u.get("url") if isinstance(u, Mapping) else None
        href = safe_url(url)
        if href and len(href) <= limit:
            out.append({"href": href, "text": short_url(href, 60)})
    return out


def value_link(kind: str, value: str, platform: Platform) -> str | None:
    """Where a value in a count table links to (None: plain text)."""
    if not value:
        return None
    if kind == "hashtag":
        return platform.hashtag_url(value)
    if kind == "user":
        # handles the platform can link (X: word characters); others are shown, not linked
        return platform.profile_url(value) if platform.handle_ok(value) else None
    if kind == "url":
        return safe_url(value)
    if kind == "domain":
        return None
    return None
