"""The count registry: every count of a search is one :class:`Count` in ``COUNTS``.

A count says what it takes from a page of new post records (``take``), how two partial
counts of disjoint posts merge (``merge``: worker processes, incremental states), how
its part travels (``dump``/``load``: builtin types only, for marshal), the files it
writes (``outputs``, which make the manifest of dnflow.outputs, and ``write``), what it
adds to summary.json (``summary``, and ``distinct`` under its ``counts``) and the page
section it feeds (``sections``, read by dnflow.site.data from its files). The rules
are the ones the README and every page describe ("how counted"); each is written once.

Counts merge exactly: every rule is a sum, a min/max, or "first seen", never anything
that depends on how the input was cut. A new count is one module that registers a
class (see docs/internals.md, "Adding a count").
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any

from dnflow.record import Post
from dnflow.registry import Registry


@dataclass(frozen=True)
class Output:
    """One file of data/<slug>/summary/: the manifest's entry (dnflow.outputs)."""

    name: str
    header: tuple[str, ...] = ()
    note: str = ""          # what the file holds, as the page's downloads list says it
    zipped: bool = True     # in the page's zip of the summary (big per-post files are not)
    # appended in place by an update (its state's file, hard-linked): the page keeps a
    # copy of its own, to which it appends what is new (dnflow.site.render.sync_copy)
    grows: bool = False


@dataclass
class Section:
    """A ranked table on a search's page, read from one of the count's CSV files.

    ``key`` is the CSV column shown (linked as ``link`` says: "hashtag", "user", "url",
    "domain", "lang", "client"), ``prefix`` is put before it ("#", "@"). ``table`` is how
    the page reads the CSV: "counts" (a value and its count), or users.csv's authors
    ranked by "posts", "followers" or follow "ratio"."""

    id: str
    title: str
    csv: str
    headers: list[str]
    key: str
    link: str
    noun: str
    note: str
    prefix: str = ""
    distinct: str | None = None  # its summary.json ``counts`` entry
    position: int = 100  # the page's order of sections, smallest first
    compare: bool = False  # also side by side across searches (the compare page)
    table: str = "counts"
    # what the data must hold for the table to mean something (a gap name of
    # dnflow.formats.Format.gaps): when a search's data lacks it, the page shows why
    needs: str = ""


class Page(list):
    """A page of new posts, as counts take them: a list of records, with what several
    counts need of each post made once per page."""

    @cached_property
    def sources(self) -> list[Post]:
        """Each post's original for a repost the archive has (its entities are whole;
        a repost's own are cut with its text), else the post itself."""
        return [p.reposted or p for p in self]


class Count:
    """One count. Subclasses set ``name`` and implement the methods they need."""

    name = ""
    outputs: tuple[Output, ...] = ()

    def start(self) -> Any:
        """A new, empty partial count."""
        raise NotImplementedError

    def take(self, part: Any, posts: Page) -> Any:
        """Add a page's new posts (ids not counted before, in input order); returns the
        part (a count whose part is immutable returns a new one)."""
        raise NotImplementedError

    def merge(self, part: Any, later: Any) -> Any:
        """Add the part of posts read after ours (none of them ours); returns the part."""
        raise NotImplementedError

    def dump(self, part: Any) -> Any:
        """The part as builtin types (marshal); ``load`` reverses it."""
        return part

    def load(self, data: Any) -> Any:
        return data

    def summary(self, part: Any) -> dict[str, Any]:
        """Top-level summary.json entries."""
        return {}

    def distinct(self, part: Any) -> dict[str, int]:
        """Entries of summary.json's ``counts``: how many distinct values there are."""
        return {}

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        """Write ``outputs`` into ``outdir``. ``ctx`` holds the summary so far and what
        earlier counts left for later ones (in registry order)."""

    def sections(self) -> list[Section]:
        """The page's ranked tables fed by this count's files."""
        return []


COUNTS: Registry[Count] = Registry("count")


def sections() -> list[Section]:
    """Every registered count's page sections, in page order."""
    return sorted((s for c in COUNTS for s in c.sections()), key=lambda s: s.position)


class KeyInfoCount(Count):
    """A counter of keys with what is known of each key: its part is (Counter, info),
    and the info of a key both parts have is the earlier part's (``merge_info``)."""

    def start(self) -> tuple[Counter, dict]:
        return Counter(), {}

    def merge(self, part: tuple, later: tuple) -> tuple:
        part[0].update(later[0])
        self.merge_info(part[1], later[1])
        return part

    def merge_info(self, info: dict, later: dict) -> None:
        for key, value in later.items():
            info.setdefault(key, value)

    def dump(self, part: tuple) -> list:
        return [dict(part[0]), part[1]]

    def load(self, data: list) -> tuple:
        return Counter(data[0]), data[1]


class Tally:
    """Every registered count's part for one pass, plus the ids seen (dedup)."""

    def __init__(self) -> None:
        self.counts = list(COUNTS)
        self.parts = {c.name: c.start() for c in self.counts}
        self.seen: set = set()  # seen_key() of every id counted
        self.posts = 0

    def take(self, posts: list[Post]) -> None:
        parts = self.parts
        posts = Page(posts)
        for c in self.counts:
            parts[c.name] = c.take(parts[c.name], posts)
        self.posts += len(posts)

    def merge(self, later: Tally) -> None:
        self.seen |= later.seen
        self.posts += later.posts
        for c in self.counts:
            self.parts[c.name] = c.merge(self.parts[c.name], later.parts[c.name])

    def to_state(self, leave_out: Iterable[str] = ()) -> dict:
        skip = set(leave_out)
        return {"posts": self.posts,
                "parts": {c.name: c.dump(self.parts[c.name]) for c in self.counts
                          if c.name not in skip}}

    @classmethod
    def from_state(cls, state: dict) -> Tally:
        """A tally from ``to_state``; counts the state does not have start empty (a state
        whose counts changed is never loaded: dnflow.summary's fingerprint)."""
        tally = cls()
        for c in tally.counts:
            if c.name in state["parts"]:
                tally.parts[c.name] = c.load(state["parts"][c.name])
        tally.posts = state["posts"]
        return tally

    def __getstate__(self) -> dict:  # workers send tallies by pickle: names, not classes
        return {"parts": self.parts, "seen": self.seen, "posts": self.posts}

    def __setstate__(self, state: dict) -> None:
        self.counts = list(COUNTS)
        self.parts, self.seen, self.posts = state["parts"], state["seen"], state["posts"]


# ---------------------------------------------------------------- helpers for counts


def seen_key(tid: Any) -> Any:
    """What dedup stores for a post id: canonical decimal ids as ints (less than half the
    memory of their text), anything else as it is. "12" → 12, "012" stays "012"."""
    if tid.__class__ is str and tid.isascii() and tid.isdigit() and tid[0] != "0":
        return int(tid)
    return tid


def sorted_counts(counter: Mapping[str, int]) -> list[tuple[str, int]]:
    """By count (descending), then value: two stable sorts on plain keys (fast paths)."""
    items = sorted(counter.items(), key=itemgetter(0))
    items.sort(key=itemgetter(1), reverse=True)  # reverse keeps equal counts in order
    return items


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)
