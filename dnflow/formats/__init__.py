"""Archive formats: which posts a JSON line holds, and their records.

A format is a detector (``split``: this value's posts, or None when it is not this
format) plus a normalizer (a raw post → :class:`dnflow.record.Post`). Formats only
reshape: they never read files and never count. A line is offered to every registered
format in order; the first that takes it names its format in the summary. A new format
is one :class:`Format` subclass registered in ``FORMATS`` (dnflow.registry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson

from dnflow.record import Post
from dnflow.registry import Registry


class NotPosts(ValueError):
    """A JSON line that holds no posts (users, lists, counts, errors…); str() says which."""


class BadPost(ValueError):
    """A post its format refuses (an id that cannot be the platform's, say): skipped,
    and str() is the reason the skipped row gives."""


class Batch(NamedTuple):
    """The posts of one JSON value, as its format split it."""

    format: str
    raws: list                             # raw posts, in the order they are counted
    context: Any                           # what normalizing needs beside a post (includes)
    post_id: Callable[[Any], Any]          # a raw post's id, without normalizing it
    normalize: Callable[[Any, Any], Post]  # (raw post, context) → record
    # records held to dnflow.record's rules by typed decoding: not checked one by one
    typed: bool = False
    errors: int = 0                        # errors the line reports (API answers)
    # keys of posts left out because their authors opted out (dnflow.optouts): the
    # summary counts them once each (summary.json ``left_out``), never the posts
    left_out: tuple = ()


class Format:
    """One archive format. Subclasses set ``name`` and ``platform`` and implement
    ``split``; ``explain`` says why a value that no format takes is not posts."""

    name = ""
    platform = ""  # dnflow.platforms name
    # what this format's data never holds, each with the sentence the page shows instead
    # of a 0 that would read as a finding: "reposts" (no reposts), "followers" (no
    # follower counts of authors), "metrics" (no like/repost/reply counts). The sentence
    # takes the platform's words ({posts}, {reposts}, {label}…: dnflow.site.text.words).
    # A search lacks what every format it was read in lacks (dnflow.sources.gaps_of).
    gaps: Mapping[str, str] = {}
    # bytes → value: a faster decoder for this format's lines (msgspec structs) that
    # falls back to orjson for anything else; the pass uses the first format's that has one
    loads: Callable[[bytes], Any] | None = None
    # explain() has a word for any value (the last resort), not only for this format's
    explains_all = False

    def split(self, value: Any) -> Batch | None:
        raise NotImplementedError

    def explain(self, value: Any) -> str | None:
        return None

    def settings(self) -> str:
        """What this process's records depend on beside the code ("" when nothing): a
        summary state counted under other settings is not reused (dnflow.optouts)."""
        return ""


FORMATS: Registry[Format] = Registry("format")


def split(value: Any) -> Batch:
    """The first registered format's posts of ``value``; NotPosts says why there are none."""
    for fmt in FORMATS:
        batch = fmt.split(value)
        if batch is not None:
            return batch
    # formats that explain only their own values speak before the catch-alls (X's, whose
    # last word on any object is "not a tweet")
    for fmt in sorted(FORMATS, key=lambda f: f.explains_all):
        reason = fmt.explain(value)
        if reason:
            raise NotPosts(reason)
    if not isinstance(value, dict):
        raise NotPosts(f"JSON {type(value).__name__}, not a post or an API response")
    raise NotPosts("JSON object that is not a post")


def loads() -> Callable[[bytes], Any]:
    """The line decoder of the pass (see ``Format.loads``)."""
    for fmt in FORMATS:
        if fmt.loads is not None:
            return fmt.loads
    return orjson.loads


def records(value: Any) -> Iterator[Post]:
    """Every counted post of one JSON value, normalized (for callers and tests)."""
    b = split(value)
    for raw in b.raws:
        yield b.normalize(raw, b.context)
