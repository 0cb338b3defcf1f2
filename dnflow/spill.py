"""Counting a search bigger than memory: sorted runs on disk, merged when written.

A big search (``SPILL_MIN_BYTES`` of input or more, dnflow.summary) counts as a small one
does, but whenever a counting process holds more than ``cap`` keys (ids seen, authors,
URLs, originals, media keys…) it writes them out as sorted runs and starts again empty.
The outputs are made by merging the runs in input order (``merged``: equal keys combine
by the count's own rule) and ranking them with an external sort (``ranked``), so they
are byte for byte what counting in memory makes (tests/test_spill.py holds them to it).

Layout of a run file, written once by :func:`write_run` and read by :class:`Run`: blocks
of up to ``BLOCK`` items, each block one ``marshal`` record ``(keys, values)`` (two lists,
keys in ``sort_key`` order; ``values`` is None for a run of keys only). What finds a
block (the first key of each, its offset) stays in memory: about 20 bytes per block.
"""

from __future__ import annotations

import contextlib
import heapq
import marshal
import shutil
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import reduce
from itertools import groupby, islice, pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any

BLOCK = 4096
# keys held by one counting process before it spills (ids seen, authors and every other
# keyed part together): 100 to 250 MB of Python objects, as the keys go
SPILL_KEYS = 1_000_000
# rows an external sort holds at once (users.csv's are the biggest: about 300 bytes)
RANK_CHUNK = 500_000
# input above this many bytes is counted by runs (about 1.5M posts of generated X JSON);
# smaller searches keep everything in memory and an incremental state
SPILL_MIN_BYTES = 3 * 2**30
_CACHE_BLOCKS = 16


def sort_key(key: Any) -> tuple[bool, Any]:
    """Ints before text: ids and authors are ints where canonical, else text."""
    return (key.__class__ is str, key)

_first = itemgetter(0)
_second = itemgetter(1)


class Run:
    """A sorted run on disk: its keys can be iterated, merged and looked up."""

    def __init__(self, path: Path, firsts: list, offsets: list[int], n: int,
                 span: tuple[Any, Any] | None, kind: type | None) -> None:
        self.path = path
        self.firsts = firsts  # sort_key of each block's first key
        self.offsets = offsets  # each block's start, and the file's end
        self.n = n
        self.span = span  # (lowest, highest) key when every key is an int
        self.kind = kind  # int or str when every key is one, else None
        self.keep = False  # a saved state's: never dropped by a merge
        self._cache: dict[int, list] = {}

    def __len__(self) -> int:
        return self.n

    def __getstate__(self) -> dict:  # sent between processes without its cache
        return {**self.__dict__, "_cache": {}}

    def blocks(self) -> Iterator[tuple[list, list | None]]:
        # loads(bytes): load(file) reads in small pieces, several times slower
        with open(self.path, "rb") as f:
            for start, end in pairwise(self.offsets):
                yield marshal.loads(f.read(end - start))

    def items(self) -> Iterator[tuple[Any, Any]]:
        for keys, values in self.blocks():
            yield from zip(keys, values, strict=True)

    def iter_keys(self) -> Iterator[Any]:
        for keys, _ in self.blocks():
            yield from keys

    def _block(self, b: int) -> list:
        keys = self._cache.get(b)
        if keys is None:
            with open(self.path, "rb") as f:
                f.seek(self.offsets[b])
                keys = marshal.loads(f.read(self.offsets[b + 1] - self.offsets[b]))[0]
            if len(self._cache) >= _CACHE_BLOCKS:
                self._cache.pop(next(iter(self._cache)))
            self._cache[b] = keys
        return keys

    def __contains__(self, key: Any) -> bool:
        if self.span is not None and key.__class__ is int and not (
                self.span[0] <= key <= self.span[1]):
            return False
        sk = sort_key(key)
        b = bisect_right(self.firsts, sk) - 1
        if b < 0:
            return False
        keys = self._block(b)
        i = bisect_left(keys, sk, key=sort_key)
        return i < len(keys) and keys[i] == key and keys[i].__class__ is key.__class__

    def drop(self) -> None:
        if not self.keep:
            self.path.unlink(missing_ok=True)

    def meta(self) -> dict:
        """What finds the run again (marshal-able), beside its file's name."""
        return {"file": self.path.name, "firsts": self.firsts, "offsets": self.offsets,
                "n": self.n, "span": self.span,
                "kind": {int: "int", str: "str"}.get(self.kind)}

    @classmethod
    def from_meta(cls, folder: Path, meta: dict) -> Run:
        """A kept run (a state's) from its :meth:`meta`; ValueError if its file is not
        the one described."""
        path = folder / meta["file"]
        if path.stat().st_size != meta["offsets"][-1]:
            raise ValueError(f"{path}: not the run its state describes")
        span = tuple(meta["span"]) if meta["span"] is not None else None
        firsts = [tuple(f) for f in meta["firsts"]]
        run = cls(path, firsts, list(meta["offsets"]), meta["n"], span,
                  {"int": int, "str": str}.get(meta["kind"]))
        run.keep = True
        return run


def write_run(path: Path, items: Iterable[Any], with_values: bool = True) -> Run:
    """Write ``items`` (already in ``sort_key`` order of their keys: (key, value) pairs,
    or keys alone without ``with_values``) as a run at ``path``."""
    firsts: list = []
    offsets = [0]
    n = 0
    lo = hi = None
    kinds: set[type] = set()
    it = iter(items)
    with open(path, "wb") as f:
        while True:
            chunk = list(islice(it, BLOCK))
            if not chunk:
                break
            if with_values:
                keys = [k for k, _ in chunk]
                values: list | None = [v for _, v in chunk]
            else:
                keys, values = chunk, None
            kinds.update(map(type, keys))
            if kinds == {int}:
                lo = keys[0] if lo is None else lo
                hi = keys[-1]
            f.write(marshal.dumps((keys, values)))
            firsts.append(sort_key(keys[0]))
            offsets.append(f.tell())
            n += len(keys)
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    return Run(path, firsts, offsets, n, (lo, hi) if kind is int else None, kind)


def sort_items(items: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(key, value) pairs in ``sort_key`` order of their keys (keys of one type sort as
    they are, which is the same order and faster)."""
    items = list(items)
    try:
        items.sort(key=_first)
    except TypeError:  # ints and text
        items.sort(key=_sort_key_of_first)
    return items


def sort_keys(keys: Iterable[Any]) -> list[Any]:
    """Keys in ``sort_key`` order."""
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=sort_key)


def _sort_key_of_first(item: tuple[Any, Any]) -> tuple[bool, Any]:
    return sort_key(item[0])


class Spiller:
    """Where one counting process writes its runs (a folder of its own)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def path(self, what: str) -> Path:
        self._n += 1
        return self.folder / f"{what}.{self._n}.run"

    def run(self, what: str, items: Iterable[Any], with_values: bool = True) -> Run:
        return write_run(self.path(what), items, with_values)


def merged(runs: list[Run], combine: Callable[[Any, Any], Any]) -> Iterator[tuple]:
    """Every key of ``runs`` once, in key order, its values combined in run order
    (``combine(earlier, later)``): runs are in input order and heapq.merge is stable."""
    if len(runs) == 1:
        yield from runs[0].items()
        return
    kinds = {r.kind for r in runs if r.n}
    by = _first if len(kinds) == 1 and None not in kinds else _sort_key_of_first
    for key, group in groupby(heapq.merge(*(r.items() for r in runs), key=by), key=_first):
        yield key, reduce(combine, map(_second, group))


def ranked(items: Iterable[Any], key: Callable[[Any], Any], spiller: Spiller,
           chunk: int = RANK_CHUNK) -> Iterator[Any]:
    """``items`` sorted by ``key``, holding at most ``chunk`` of them at once (sorted
    chunks on disk, then merged: equal keys keep their order)."""
    runs: list[Path] = []
    it = iter(items)
    try:
        while True:
            part = list(islice(it, chunk))
            if not runs and len(part) < chunk:
                part.sort(key=key)
                yield from part
                return
            if not part:
                break
            part.sort(key=key)
            path = spiller.path("ranked")
            with open(path, "wb") as f:
                for i in range(0, len(part), BLOCK):
                    marshal.dump(part[i:i + BLOCK], f)
            runs.append(path)
            del part
        yield from heapq.merge(*(_read_blocks(p) for p in runs), key=key)
    finally:
        for p in runs:
            p.unlink(missing_ok=True)


def _read_blocks(path: Path) -> Iterator[Any]:
    with open(path, "rb") as f:
        while True:
            try:
                block = marshal.load(f)
            except EOFError:
                return
            yield from block


class SeenRuns:
    """The ids a process has spilled (dnflow.summary.passes keeps the recent ones in a
    set): which of a page's ids are among them. X ids grow with time, so a run whose
    span a page's ids miss is not read at all."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def __bool__(self) -> bool:
        return bool(self.runs)

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def add(self, run: Run) -> None:
        self.runs.append(run)

    def found(self, keys: list[Any]) -> set:
        """The ``keys`` that are in a run."""
        lo = hi = None
        with contextlib.suppress(TypeError, ValueError):  # text among ints, or no keys
            lo, hi = min(keys), max(keys)
        ints = lo.__class__ is int and hi.__class__ is int
        out: set = set()
        for run in self.runs:
            if ints and run.span is not None and (hi < run.span[0] or lo > run.span[1]):
                continue
            out.update(k for k in keys if k in run)
        return out

    def iter_keys(self) -> Iterator[Any]:
        for run in self.runs:
            yield from run.iter_keys()

    def drop(self) -> None:
        for run in self.runs:
            run.drop()
        self.runs = []


def compact_keys(runs: list[Run], spiller: Spiller) -> Run:
    """Runs of keys (each key in one run at most) as one run."""
    if len(runs) == 1:
        return runs[0]
    kinds = {r.kind for r in runs if r.n}
    by = None if len(kinds) == 1 and None not in kinds else sort_key
    run = spiller.run("seen", heapq.merge(*(r.iter_keys() for r in runs), key=by),
                      with_values=False)
    for r in runs:
        r.drop()
    return run


def _tagged(run: Run, side: int) -> Iterator[tuple[tuple[bool, Any], int]]:
    return ((sort_key(k), side) for k in run.iter_keys())


def meet(a: SeenRuns, b: SeenRuns) -> bool:
    """Whether two sets of runs share a key (each set's keys are distinct): one merge of
    their keys in order, a run at a time in memory."""
    if not a or not b:
        return False
    tagged = [_tagged(run, side) for side, runs in ((0, a), (1, b)) for run in runs.runs]
    last = last_side = None
    for k, side in heapq.merge(*tagged):
        if k == last and side != last_side:
            return True
        last, last_side = k, side
    return False


def remove_folder(folder: Path) -> None:
    """Remove a spill folder (its runs and its workers' folders: nothing else is there)."""
    shutil.rmtree(folder, ignore_errors=True)
