"""A search's ``media:`` keys, with their defaults (the schema documents them too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# overrides every search's `download` (`none`: build without touching the network, as
# the tests of other stages do; see tests/conftest.py)
DOWNLOAD_ENV = "DNFLOW_MEDIA_DOWNLOAD"
DOWNLOADS = ("thumbnails", "full", "none")


@dataclass(frozen=True)
class MediaSettings:
    download: str = "thumbnails"
    max_items: int = 2000
    max_bytes: int = 5_000_000
    fetcher: str = ""  # its source's media_fetcher ("" : the network)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"download": self.download, "max_items": self.max_items,
                               "max_bytes": self.max_bytes}
        if self.fetcher:  # only then: other searches' params (and jobs) stay as they were
            out["fetcher"] = self.fetcher
        return out


def media_settings(search: Mapping[str, Any],
                   env: Mapping[str, str] | None = None) -> MediaSettings:
    """The search's settings: its ``media:`` keys, else its source's default download
    and its media_fetcher, else the defaults; ``DNFLOW_MEDIA_DOWNLOAD`` overrides."""
    from dnflow.sources import SOURCES

    given = search.get("media") or {}
    source = SOURCES.get(search.get("source") or "")
    download = given.get("download") or (source.media_download if source else "thumbnails")
    forced = ((os.environ if env is None else env).get(DOWNLOAD_ENV) or "").strip()
    if forced:
        if forced not in DOWNLOADS:
            raise ValueError(f"{DOWNLOAD_ENV}={forced!r}: use one of {', '.join(DOWNLOADS)}")
        download = forced
    return MediaSettings(download, int(given.get("max_items", 2000)),
                         int(given.get("max_bytes", 5_000_000)),
                         source.media_fetcher if source else "")
