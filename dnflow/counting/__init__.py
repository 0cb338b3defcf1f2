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

A count whose part grows with the posts (a key per author, URL, original…) sets
``spills``: in a search too big for memory its part goes to disk as sorted runs of
``items`` (dnflow.spill), ``combine`` merges two values of one key, and ``write`` gets
the merged runs as a :class:`Spilled` part.
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

from dnflow import spill
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
    # what it holds, for the publishing levels (dnflow.publish): the least open level it
    # is published at ("counts": aggregates, at every level; "ids": at ids and
    # everything; "everything": only there; the default, so that a new count publishes
    # nothing at ids until it says what it holds), and at ids and counts
    level: str = "everything"
    accounts: tuple[str, ...] = ()  # columns naming an account: pseudonymous if small
    texts: tuple[str, ...] = ()     # columns of people's words: left out
    scan: tuple[str, ...] = ()      # columns whose value may spell out a handle (URLs)


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

    def context(self, part: Any, ctx: dict[str, Any]) -> None:
        """Before any count writes: leave in ``ctx`` what every count's ``write`` may
        need of this one (whatever their order)."""

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        """Write ``outputs`` into ``outdir``. ``ctx`` holds the summary so far, what
        every count's ``context`` left, and what earlier counts left for later ones (in
        registry order)."""

    def sections(self) -> list[Section]:
        """The page's ranked tables fed by this count's files."""
        return []

    # for a count that ``spills`` (see the module's docstring)
    spills = False

    def size(self, part: Any) -> int:
        """How many keys the part holds (what a spill would write)."""
        return len(part)

    def items(self, part: Any, order: int) -> Iterable[tuple[Any, Any]]:
        """The part's (key, value)s, in any order; ``order`` numbers the part's first
        key among all this count's keys spilled before (first-seen order)."""
        raise NotImplementedError

    def combine(self, value: Any, later: Any) -> Any:
        """One key's value from an earlier and a later part (``merge``'s rule)."""
        raise NotImplementedError


class Spilled:
    """A spilling count's part, merged from its runs on disk: every key once, in key
    order, with its combined value (``items``); ``len`` is how many keys."""

    def __init__(self, run: spill.Run, spiller: spill.Spiller) -> None:
        self.run = run
        self.spiller = spiller  # where ranking it may put its own runs

    def __len__(self) -> int:
        return len(self.run)

    def items(self) -> Iterable[tuple[Any, Any]]:
        return self.run.items()

    def ranked(self, key: Any) -> Iterable[tuple[Any, Any]]:
        """Its (key, value)s sorted by ``key``, by an external sort."""
        return spill.ranked(self.items(), key, self.spiller)


COUNTS: Registry[Count] = Registry("count")


def sections() -> list[Section]:
    """Every registered count's page sections, in page order."""
    return sorted((s for c in COUNTS for s in c.sections()), key=lambda s: s.position)


class KeyInfoCount(Count):
    """A counter of keys with what is known of each key: its part is (Counter, info),
    and the info of a key both parts have is the earlier part's (``pick``)."""

    spills = True

    def start(self) -> tuple[Counter, dict]:
        return Counter(), {}

    def merge(self, part: tuple, later: tuple) -> tuple:
        part[0].update(later[0])
        info = part[1]
        pick = self.pick
        for key, value in later[1].items():
            known = info.get(key)
            info[key] = value if known is None else pick(known, value)
        return part

    def pick(self, info: Any, later: Any) -> Any:
        """What is known of a key from an earlier part's info and a later one's."""
        return info

    def size(self, part: Any) -> int:
        return len(part) if isinstance(part, Spilled) else len(part[0])

    def items(self, part: tuple, order: int) -> Iterable[tuple[Any, Any]]:
        info = part[1]
        return ((k, (c, info.get(k))) for k, c in part[0].items())

    def combine(self, value: tuple, later: tuple) -> tuple:
        if value[1] is None:
            info = later[1]
        elif later[1] is None:
            info = value[1]
        else:
            info = self.pick(value[1], later[1])
        return (value[0] + later[0], info)

    def ranked(self, part: Any) -> Iterable[tuple[Any, int, Any]]:
        """(key, count, info) by count descending, then key."""
        if not isinstance(part, Spilled):
            counter, info = part
            return ((k, c, info.get(k)) for k, c in sorted_counts(counter))
        return ((k, v[0], v[1]) for k, v in part.ranked(_by_count_of_pair))

    def dump(self, part: tuple) -> list:
        return [dict(part[0]), part[1]]

    def load(self, data: list) -> tuple:
        return Counter(data[0]), data[1]


class Tally:
    """Every registered count's part for one pass, plus the ids seen (dedup)."""

    def __init__(self) -> None:
        self.counts = list(COUNTS)
        self.parts = {c.name: c.start() for c in self.counts}
        self.seen: set = set()  # seen_key() of every id counted (and not spilled)
        self.posts = 0
        # a search too big for memory (dnflow.spill): what went to disk, in input order
        self.runs: dict[str, list[spill.Run]] = {}
        self.seen_runs = spill.SeenRuns()
        self.order = 0  # the first-seen number of this process's first key
        self.spilled: dict[str, int] = {}  # keys spilled so far, per count

    def take(self, posts: list[Post]) -> None:
        parts = self.parts
        posts = Page(posts)
        for c in self.counts:
            parts[c.name] = c.take(parts[c.name], posts)
        self.posts += len(posts)

    def merge(self, later: Tally) -> None:
        """Add the tally of posts read after ours (if it spilled, ours must have spilled
        all it held first: runs merge in input order)."""
        self.seen |= later.seen
        self.posts += later.posts
        for c in self.counts:
            self.parts[c.name] = c.merge(self.parts[c.name], later.parts[c.name])
        for name, runs in later.runs.items():
            self.runs.setdefault(name, []).extend(runs)
        self.seen_runs.runs.extend(later.seen_runs.runs)

    def held(self) -> int:
        """How many keys this process holds that a spill would write."""
        parts = self.parts
        return len(self.seen) + sum(c.size(parts[c.name]) for c in self.counts if c.spills)

    def spill(self, spiller: spill.Spiller) -> None:
        """Write the ids seen and every spilling count's part to sorted runs, and go on
        empty (the seen set is emptied in place: a pass holds it)."""
        if self.seen:
            keys = spill.sort_keys(self.seen)
            self.seen.clear()
            self.seen_runs.add(spiller.run("seen", keys, with_values=False))
            del keys
        for c in self.counts:
            if not c.spills or not c.size(self.parts[c.name]):
                continue
            part = self.parts[c.name]
            done = self.spilled.get(c.name, 0)
            items = spill.sort_items(c.items(part, self.order + done))
            self.spilled[c.name] = done + c.size(part)
            self.parts[c.name] = c.start()
            del part
            self.runs.setdefault(c.name, []).append(spiller.run(c.name, items))
            del items

    def settle(self, spiller: spill.Spiller, keep_seen: bool = False) -> spill.Run | None:
        """After a spilling pass: every spilling count's part becomes one
        :class:`Spilled`, its runs merged; the ids seen are dropped, or with
        ``keep_seen`` merged into one run, returned (a state keeps it)."""
        self.spill(spiller)
        self.seen = set()
        seen = None
        if keep_seen and self.seen_runs:
            seen = spill.compact_keys(self.seen_runs.runs, spiller)
        else:
            self.seen_runs.drop()
        self.seen_runs = spill.SeenRuns()
        for c in self.counts:
            if not c.spills:
                continue
            runs = self.runs.pop(c.name, [])
            if len(runs) == 1:
                run = runs[0]
            else:
                run = spiller.run(c.name, spill.merged(runs, c.combine))
                for r in runs:
                    r.drop()
            self.parts[c.name] = Spilled(run, spiller)
        return seen

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

    _SENT = ("parts", "seen", "posts", "runs", "seen_runs", "order", "spilled")

    def __getstate__(self) -> dict:  # workers send tallies by pickle: names, not classes
        return {k: getattr(self, k) for k in self._SENT}

    def __setstate__(self, state: dict) -> None:
        self.counts = list(COUNTS)
        for k in self._SENT:
            setattr(self, k, state[k])


# ---------------------------------------------------------------- helpers for counts


def seen_key(tid: Any) -> Any:
    """What dedup stores for a post id: canonical decimal ids as ints (less than half the
    memory of their text), anything else as it is. "12" → 12, "012" stays "012"."""
    if tid.__class__ is str and tid.isascii() and tid.isdigit() and tid[0] != "0":
        return int(tid)
    return tid


def _by_count(item: tuple[Any, int]) -> tuple[int, Any]:
    return -item[1], item[0]


def _by_count_of_pair(item: tuple[Any, tuple]) -> tuple[int, Any]:
    return -item[1][0], item[0]


def ranked_counts(part: Mapping[str, int] | Spilled) -> Iterable[tuple[str, int]]:
    """A counter's (key, count)s by count (descending), then key."""
    if isinstance(part, Spilled):
        return part.ranked(_by_count)
    return sorted_counts(part)


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
