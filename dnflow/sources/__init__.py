"""Sources: where a search's raw data comes from. One module per source, one registry.

A source fetches or opens raw data and archives it verbatim; it never reshapes it (the
summary's formats do). Each source is one :class:`Source` subclass, registered in
:data:`SOURCES` by its module (``@SOURCES.register``). Everything that differs between
sources is declared there, and the rules, refresh windows, config validation, the CLI and
the site loop over the registry instead of naming a source:

- its config keys, as its part of the JSON schema (``properties``, ``required``);
- its raw inputs for a search (:meth:`Source.raw_inputs`);
- a collection job (``collects`` and :meth:`Source.collect`): one run record per refresh
  window, ``data/<slug>/runs/<stamp>.json``; a source that collects gets ``every``;
- or a generated raw file (``generates`` and :meth:`Source.generate`);
- what a schema cannot check (:meth:`Source.check`);
- its platform (words and URLs on pages) and the formats it reads (:func:`platform_of`);
- what its data never holds, so the page says so instead of showing 0 (:func:`gaps_of`).

docs/extending.md shows a whole source in one module.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TextIO

from dnflow.formats import FORMATS
from dnflow.platforms import PLATFORMS, Platform
from dnflow.redact import redact
from dnflow.registry import Registry

# the refresh window of every source that collects (dnflow.windows reads it)
EVERY_SCHEMA = {
    "type": "string",
    "pattern": "^[1-9][0-9]{0,5}(m|h|d)$",  # up to 999999: a window a date can hold
    "description": "refresh window, e.g. 15m, 6h, 1d",
}


class SourceError(Exception):
    """An expected failure of a source's job or helper; str() is one line, never a secret
    (it passes through dnflow.redact, whatever the message quotes)."""

    def __str__(self) -> str:
        return redact(super().__str__())


class Source:
    """A kind of search. Subclasses set ``name`` and what they have; the defaults are a
    source with no keys, no job and no inputs."""

    name: ClassVar[str] = ""
    # the platform its posts are on (dnflow.platforms); "" for a source that reads files
    # of any platform (archive): then the formats its files were read as decide
    platform: ClassVar[str] = ""
    # the archive formats its raw files are in: names of dnflow.formats.FORMATS (each a
    # detector and a normalizer, with its platform); an archive search reads them all
    formats: ClassVar[Sequence[str]] = ()
    # its config keys: JSON schema of each, and the ones a search must give
    properties: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    required: ClassVar[Sequence[str]] = ()
    # a collection job per refresh window (rules/collect.smk: checkpoint collect), done
    # by ``collector``, "module:function" of a function like dnflow.sources.x's
    # collect_window(slug, search, stamp, datadir, log=)
    collects: ClassVar[bool] = False
    collector: ClassVar[str] = ""
    # the raw file its generate job writes, as data/<slug>/raw/<generates> (or "")
    generates: ClassVar[str] = ""
    # what its searches never hold whatever their files' formats give, each with the
    # sentence the page shows instead of a 0 (the keys of dnflow.formats.Format.gaps;
    # e.g. a Mastodon hashtag timeline carries no boosts); see :func:`gaps_of`
    gaps: ClassVar[Mapping[str, str]] = {}
    # what its searches publish unless they say (``publish:``; dnflow.publish.LEVELS):
    # "ids" for a source of real people's posts, "everything" only for generated ones
    publish: ClassVar[str] = "ids"
    # a search's `media: download` when it gives none (dnflow.media.settings)
    media_download: ClassVar[str] = "thumbnails"
    # "module:Class" answering its searches' media URLs instead of the network (a
    # Fetcher's get and stats; dnflow.media.job): "" for a source of real URLs
    media_fetcher: ClassVar[str] = ""

    @property
    def resource(self) -> str:
        """The Snakemake resource its collection jobs hold one of (profiles/default sets
        it to 1, so a source's searches never run together against one rate limit)."""
        return f"{self.name}_api"

    def schema(self) -> dict[str, Any]:
        """Its part of the config schema: ``{"properties": …, "required": […]}``."""
        props = dict(self.properties)
        if self.collects:
            props.setdefault("every", EVERY_SCHEMA)
        return {"properties": props, "required": list(self.required)}

    def config_keys(self) -> set[str]:
        return set(self.schema()["properties"])

    def check(self, slug: str, search: Mapping[str, Any], workdir: str | Path) -> None:
        """Raise dnflow.config.ConfigError for what a schema cannot check."""

    def raw_inputs(self, slug: str, search: Mapping[str, Any],
                   workdir: str | Path) -> list[str]:
        """The files the search's summary reads, in order, relative to ``workdir`` (or as
        the user gave them). For a source that collects, called once the current window's
        collection job has run: by default, its collection's non-empty chunks (a window
        that brought nothing changes no summary input)."""
        if not self.collects:
            return []
        from dnflow.sources.runs import chunk_files

        return [os.path.relpath(p, workdir)
                for p in chunk_files(Path(workdir, "data", slug, "raw"))]

    def collect(self, slug: str, search: Mapping[str, Any], stamp: str,
                datadir: str | Path, log: TextIO) -> dict[str, Any]:
        """Collect one window: write ``<datadir>/<slug>/runs/<stamp>.json`` (the run
        record, ``status`` ok or failed) and any raw files; return the record. Expected
        failures are a failed record, not an exception (the other searches go on)."""
        if not self.collector:
            raise NotImplementedError(f"source {self.name!r} has no collection job")
        module, _, func = self.collector.partition(":")
        collect_window = getattr(importlib.import_module(module), func)
        return collect_window(slug, search, stamp, datadir, log=log)

    def generate(self, path: str | Path, slug: str, search: Mapping[str, Any],
                 log: TextIO) -> None:
        """Write the generated raw file ``path`` (only if ``generates``)."""
        raise NotImplementedError(f"source {self.name!r} generates no raw file")

    def generate_params(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        """What the generated file depends on: a change regenerates it."""
        return {}

    def summary_meta(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        """What summary.json and the page say about a search beyond its own keys
        (``query`` for a source without one, ``instances``…); rules/common.smk adds it
        to the summary's meta, so a change re-summarizes."""
        return {}


SOURCES: Registry[Source] = Registry("source")


def source_of(search: Mapping[str, Any]) -> Source:
    return SOURCES[search["source"]]


def collecting(searches: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The slugs whose source has a collection job, sorted."""
    return sorted(slug for slug, s in searches.items() if source_of(s).collects)


# summaries made before sources named their platform were all X's
_LEGACY_PLATFORM = "x"


def platform_of(summary: Mapping[str, Any]) -> Platform:
    """The platform of a search, from its summary.json: its source's platform, or for a
    source of any platform's files (archive) the one platform of the formats its files
    were read as (``sources[].formats``).

    The one place the site learns a platform (its words and URLs).
    """
    src = SOURCES.get(str(summary.get("source") or ""))
    if src and src.platform:
        return PLATFORMS[src.platform].for_search(summary)
    seen = {FORMATS[f].platform for s in summary.get("sources") or ()
            if isinstance(s, Mapping) for f in s.get("formats") or ()
            if isinstance(f, str) and f in FORMATS}
    if len(seen) > 1:
        return MIXED  # an archive of several platforms' files: no one platform's words
    return PLATFORMS[seen.pop() if seen else _LEGACY_PLATFORM].for_search(summary)


class _Mixed(Platform):
    """A search of several platforms' files: the generic words, and a card links to its
    post where its record carries the post's URL (no URL is made from a handle and id
    of an unknown platform)."""

    name = "mixed"
    post_urls_in_records = True


MIXED = _Mixed()


def gaps_of(summary: Mapping[str, Any]) -> dict[str, str]:
    """What a search's data cannot show (``{"reposts": why, …}``), from its summary.json:
    its source's gaps, and those of every format its files were read in (a gap of one
    format that another format fills is none), or of its source's formats before any
    file was read. The page says the sentence instead of showing a 0 as a finding."""
    src = SOURCES.get(str(summary.get("source") or ""))
    out = dict(src.gaps) if src else {}
    names = [f for s in summary.get("sources") or () if isinstance(s, Mapping)
             for f in s.get("formats") or () if isinstance(f, str) and f in FORMATS]
    if not names and src:
        names = [f for f in src.formats if f in FORMATS]
    if names:
        common = set(FORMATS[names[0]].gaps).intersection(
            *(FORMATS[f].gaps for f in names[1:]))
        for key in sorted(common):
            out.setdefault(key, FORMATS[names[0]].gaps[key])
    return out


def common_platform(platforms: Sequence[Platform]) -> Platform:
    """The platform of a page that shows several searches (of ``platforms``): theirs if
    they share one, else a bare :class:`Platform` (its generic words, no links)."""
    names = {p.name for p in platforms}
    if len(names) == 1:
        return platforms[0]
    return Platform() if names else platform_of({})
