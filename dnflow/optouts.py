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


def withhold(rec: Post) -> Post:
    """The record of a post that is counted but not published: what aggregates need
    (time, language, kind, hashtags, mentions, links, media keys and types, client,
    metrics) and nothing that shows who wrote it or what: no text, handle, name, profile,
    avatar, post URL or URI, media URLs or alt text. Its id and its author's id are
    hidden keys of their URIs (the id is also the summary's dedup key)."""
    a = rec.author
    author = Author(hidden_key(a.id) if a.id else None, None, None, None, None, None,
                    None, None, False)
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
