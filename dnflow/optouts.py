"""Opt-outs: whose posts are left out, and whose are counted but never published.

Mastodon accounts say two things dnflow respects (issue 11):

- **Left out entirely**: ``noindex: true``, or ``#nobot`` / ``#noindex`` in the bio (the
  bio is HTML: it is parsed, not grepped). Such accounts asked not to be collected: their
  posts are not archived by ``source: mastodon`` and not counted by any summary; the page
  shows how many were left out (summary.json ``left_out``).
- **Counted, never published**: ``indexable: false`` (the default of many older
  accounts) means the account did not opt in to search. Its posts count in every
  aggregate (hashtags, links, languages, time, number of users…), but their text,
  handle, name, profile, URLs and media links never reach an output: the normalizer
  makes a *withheld* record (:func:`withhold`), and pages show its author as "an
  account" (:func:`shown_author`). Whatever the search's publishing level: the record
  itself no longer holds what must not be published.

A search turns both off with ``include_opted_out: true``; the summary job sets the
process's :data:`POLICY` from its meta before counting (workers inherit it), and the
policy is part of a summary state's fingerprint, so changing it recounts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from dnflow.record import Author, Post

ANONYMOUS = "an account"
"""How pages show the author of a withheld post (and count tables their row)."""

# a hashtag in the bio's text: not part of a longer word or tag
_OPT_OUT_TAG = re.compile(r"(?<![\w#＃])[#＃](nobot|noindex)(?!\w)", re.IGNORECASE)


@dataclass
class Policy:
    """The running summary's choice: respect opt-outs (the default) or not."""

    include_opted_out: bool = False


POLICY = Policy()


def set_policy(meta: Mapping[str, Any] | None) -> None:
    """The policy of the search a summary counts (its meta's ``include_opted_out``)."""
    POLICY.include_opted_out = bool((meta or {}).get("include_opted_out"))


def fingerprint() -> str:
    """What a saved summary state must have been counted with ("" for the default, so
    states of searches that never set it stay valid)."""
    return "include_opted_out" if POLICY.include_opted_out else ""


def left_out_reason(account: Any, bio_text: str | None = None) -> str | None:
    """Why an account's posts are left out (``noindex``, ``#nobot in the bio``), or None.

    ``bio_text``: the bio already turned into text (else its HTML ``note`` is parsed).
    Always the reason, whatever the policy: callers decide with :func:`leaves_out`.
    """
    if not isinstance(account, Mapping):
        return None
    if account.get("noindex") is True:
        return "noindex"
    if bio_text is None:
        note = account.get("note")
        if not isinstance(note, str) or "#" not in note and "＃" not in note:
            return None
        from dnflow.formats.mastodon_html import html_text

        bio_text = html_text(note)
    m = _OPT_OUT_TAG.search(bio_text)
    return f"#{m.group(1).lower()} in the bio" if m else None


def leaves_out(account: Any) -> str | None:
    """The reason to leave an account's posts out under the current policy, or None."""
    return None if POLICY.include_opted_out else left_out_reason(account)


def withholds(account: Any) -> bool:
    """Whether an account's posts are counted but not published (``indexable: false``)
    under the current policy."""
    return (not POLICY.include_opted_out and isinstance(account, Mapping)
            and account.get("indexable") is False)


def hidden_key(text: str) -> str:
    """A stable stand-in for an identifier that must not be published (a post's or an
    account's URI, which hold the handle): the same URI gives the same key, so dedup and
    the number of users still work, and nothing of the handle shows."""
    return "withheld-" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                         digest_size=8).hexdigest()


def account_key(handle: str) -> str:
    """The hidden key of an account known by its handle (``user@server``, any case): a
    withheld author's id, and what a mention of that account becomes."""
    return hidden_key("acct:" + handle.casefold())


def is_hidden(key: str | None) -> bool:
    return bool(key) and key.startswith("withheld-")  # type: ignore[union-attr]


WITHHELD_ACCOUNTS = "withheld_accounts"
"""The summary's write context key (dnflow.counting.withheld): the :func:`account_key`
of every withheld author the search counted."""
WITHHELD_MENTIONED = "withheld_mentioned"
"""…and the handles of those that other posts mention (written by the mentions' count)."""


def hidden_mention(handle: str, hidden: set[str]) -> str:
    """A mentioned handle as an output may show it: its :func:`account_key` when the
    account is a withheld author of the search, else itself."""
    key = account_key(handle)
    return key if key in hidden else handle


def _written(handle: str) -> str:
    """A regex of the ways a post's text writes a mention of ``handle`` (``@user`` or
    ``@user@server``, any case), not as the start of a longer name."""
    user, _, server = handle.partition("@")
    return ("[@＠]" + re.escape(user) + (f"(?:@{re.escape(server)})?" if server else "")
            + r"(?![\w.@-]*\w)")


def hide_mentions_in_card(card: dict, hidden: set[str]) -> dict:
    """A card whose post mentions withheld authors: their handles replaced by their keys
    in its mentions, and by "[an account]" in its text."""
    mentions = card.get("mentions") or []
    gone = [m for m in mentions if account_key(m) in hidden]
    if not gone:
        return card
    card = {**card, "mentions": [hidden_mention(m, hidden) for m in mentions]}
    text = card.get("text")
    if isinstance(text, str):
        for m in gone:
            text = re.sub(_written(m), f"[{ANONYMOUS}]", text, flags=re.IGNORECASE)
        card["text"] = text
    return card


def hide_handles(data: bytes, handles: list[str]) -> bytes:
    """tweets.csv's bytes with every mention of ``handles`` (withheld authors) hidden: in
    a post's text as "[an account]", in the mentions column as the account's key. One
    pass of each kind for all handles (a file can be large, and the handles many); the
    longest first, so ``bob@server`` is not taken for ``bob``."""
    if not handles:
        return data
    ordered = sorted(set(handles), key=lambda h: (-len(h), h))
    keys = {h.casefold(): account_key(h).encode() for h in ordered}
    bare = re.compile(rb"(?<![\w@.-])(?:" + b"|".join(re.escape(h.encode()) for h in ordered)
                      + rb")(?![\w.@-]*\w)", flags=re.IGNORECASE)
    data = bare.sub(lambda m: keys[m.group().decode().casefold()], data)
    written = re.compile("|".join(f"(?:{_written(h)})" for h in ordered).encode(),
                         flags=re.IGNORECASE)
    return written.sub(f"[{ANONYMOUS}]".encode(), data)


def withhold(rec: Post) -> Post:
    """The record of a post that is counted but not published: what aggregates need
    (time, language, kind, hashtags, mentions, links, media keys and types, client,
    metrics) and nothing that shows who wrote it or what: no text, handle, name, profile,
    avatar, post URL or URI, media URLs or alt text. Its id is a hidden key of its URI
    (also the summary's dedup key), its author's id that of the handle
    (:func:`account_key`: a mention of the account is hidden by the same key)."""
    a = rec.author
    ident = account_key(a.handle) if a.handle else hidden_key(a.id) if a.id else None
    author = Author(ident, None, None, None, None, None, None, None, False)
    media = [{"key": m.get("key"), "type": m.get("type"), "url": None, "preview": None,
              "alt_text": None} for m in rec.media]
    return msgspec.structs.replace(
        rec, id=hidden_key(rec.uri or f"{rec.platform}:{rec.id}"), url=None, uri=None,
        author=author, text="", media=media)


def shown_author(author: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(handle, name) a page shows for a card's author: ``(None, ANONYMOUS)`` for a
    withheld one (its record holds neither), else its own.

    The one place pages decide how an author is shown; publishing levels (issue 14) are
    to widen it."""
    author = author or {}
    if author.get("indexable") is False and not author.get("username"):
        return None, ANONYMOUS
    return author.get("username"), author.get("name")
