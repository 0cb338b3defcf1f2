"""Registries: the extension points of dnflow (platforms, formats, sources, counts).

A new platform, archive format, source or count is one module that registers one object
(as datasette's facets or Pelican's readers): nothing else names it. Modules outside
dnflow register the same way and are found through the ``dnflow`` entry-point group of an
installed package, or ``DNFLOW_PLUGINS`` (comma-separated module names) for a module on
the path, such as a test's.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind, in the order they were registered."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        """Add ``item`` under its ``name``; a class is registered as an instance of it
        (so the call works as a class decorator). A second item of the same name
        replaces the first: a plugin may override a built-in."""
        obj = item() if isinstance(item, type) else item
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} needs a non-empty str `name`: {item!r}")
        self._items[name] = obj
        return item

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def __getitem__(self, name: str) -> T:
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise KeyError(f"no {self.kind} named {name!r} (known: {known})") from None

    def get(self, name: str) -> T | None:
        load_plugins()
        return self._items.get(name)

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        load_plugins()
        return iter(list(self._items.values()))

    def names(self) -> list[str]:
        load_plugins()
        return list(self._items)


_loaded: set[str] = set()
_scanned: str | None = None  # the DNFLOW_PLUGINS value the last scan saw


def load_plugins() -> None:
    """Import the built-in modules once, then every plugin module not imported yet.

    Called by every registry lookup, so it returns at once unless DNFLOW_PLUGINS changed
    (the entry points are read once: reading package metadata costs milliseconds)."""
    global _scanned
    env = os.environ.get("DNFLOW_PLUGINS", "")
    if env == _scanned:
        return
    first = _scanned is None
    _scanned = env
    names = list(BUILTINS)
    if first and _declared_anywhere():
        from importlib.metadata import entry_points  # 50 ms to import: only when needed

        names += [ep.value for ep in entry_points(group="dnflow")]
    names += [n.strip() for n in env.split(",") if n.strip()]
    for name in names:
        if name not in _loaded:
            _loaded.add(name)
            importlib.import_module(name)


def _declared_anywhere() -> bool:
    """Whether an installed package may declare ``dnflow`` entry points: a look at the
    entry_points.txt files on the path, so that a process with no plugin installed (every
    Snakemake job, usually) does not import importlib.metadata, which costs 50 ms."""
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(entry.path, "entry_points.txt"), "rb") as f:
                        if b"[dnflow]" in f.read():
                            return True
                except OSError:
                    continue
    return False


# the modules that register dnflow's own platforms, formats, sources and counts
BUILTINS: list[str] = [
    "dnflow.platforms",
    # X's first: most archives are X's, and each line is offered to the formats in order
    "dnflow.formats.x",
    "dnflow.formats.bluesky",
    "dnflow.formats.mastodon",
    "dnflow.sources.archive_source",
    "dnflow.sources.demo_source",
    "dnflow.sources.x_source",
    "dnflow.sources.bluesky_source",
    "dnflow.sources.mastodon_source",
    # counts write in this order; the authors' last, as their table works meanwhile
    "dnflow.counting.kinds", "dnflow.counting.keys", "dnflow.counting.media",
    "dnflow.counting.reposts", "dnflow.counting.timeline", "dnflow.counting.withheld",
    "dnflow.counting.cards",
    "dnflow.counting.authors",
]
