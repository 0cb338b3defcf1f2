"""The media store shared by all searches, and each search's index of what it fetched.

Layout (every path relative to the directory snakemake runs in)::

    data/media/sha256/<aa>/<sha256>.<ext>      the original, byte for byte as fetched
    data/media/published/<aa>/<sha256>.<ext>   its published copy (metadata stripped)
    data/media/urls/<uu>/<sha256 of the URL>.json   what a URL gave, for every search:
                                               an index row without media_key, for
                                               URLs found ok or gone (so no search
                                               asks for a URL another one has)
    data/<slug>/media/index.csv                the search's index (below)
    data/<slug>/media/fetch.json               the last fetch job's record (its output)
    data/<slug>/media/retry                    token of the last run that left failures
    site/<slug>/media/<sha256>.<ext>           hard links to the published copies

``<aa>`` is the first two hex digits of the sha256 of the *original* (``<uu>``: of the
URL); a published copy keeps the original's name, so an index row finds both. ``<ext>``
is what decoding found (jpg, png, gif, webp), never what the URL or the server said. The
same image shared by ten searches is one file in each folder, and a URL one search has
(ok or gone) is not asked for by another. Files are written to a temporary name and
renamed, so a reader never sees half of one and a killed job leaves no damage.

index.csv, one row per media item the search chose to fetch (media.csv's order: the
most shared first), with a header::

    media_key,url,status,http_status,sha256,ext,bytes,width,height,first_gone,last_tried,reason

- ``status``: ``ok`` (stored), ``gone`` (404 or 410: the platform no longer has it),
  ``failed`` (5xx, timeout, refused, not an image, truncated, too big: tried again on
  a later run), ``pending`` (not tried yet: the job's time ran out first).
- ``http_status``: the last answer's status code ('' when none came).
- ``sha256``, ``ext``, ``bytes``, ``width``, ``height``: the stored original's ('' unless ok).
- ``first_gone``: when it was first found gone (UTC, ISO), kept across runs.
- ``last_tried``: when it was last asked for (UTC, ISO).
- ``reason``: why it failed or is gone, one line ('' when ok).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import orjson

from dnflow import atomic

STATUSES = ("ok", "gone", "failed", "pending")


@dataclass
class Entry:
    """One row of a search's index."""

    media_key: str
    url: str
    status: str = "pending"
    http_status: str = ""
    sha256: str = ""
    ext: str = ""
    bytes: str = ""
    width: str = ""
    height: str = ""
    first_gone: str = ""
    last_tried: str = ""
    reason: str = ""

    @property
    def name(self) -> str:
        """The file name of its original, published copy and site link ('' unless ok)."""
        return f"{self.sha256}.{self.ext}" if self.status == "ok" and self.sha256 else ""


HEADER = tuple(f.name for f in fields(Entry))


class Store:
    """Content-addressed files under ``root`` (data/media)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def original(self, sha256: str, ext: str) -> Path:
        return self.root / "sha256" / sha256[:2] / f"{sha256}.{ext}"

    def published(self, sha256: str, ext: str) -> Path:
        return self.root / "published" / sha256[:2] / f"{sha256}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` (once: an identical file is not written again); its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.original(sha, ext)
        if not path.is_file() or path.stat().st_size != len(data):
            atomic.write_bytes(path, data)
        return sha

    def has(self, entry: Entry) -> bool:
        return bool(entry.name) and self.original(entry.sha256, entry.ext).is_file()

    def _url_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / "urls" / key[:2] / f"{key}.json"

    def remember(self, entry: Entry) -> None:
        """Keep what ``entry``'s URL gave (ok or gone) for every search."""
        if entry.status in ("ok", "gone"):
            row = {k: v for k, v in asdict(entry).items() if k != "media_key"}
            atomic.write_bytes(self._url_path(entry.url), orjson.dumps(row))

    def recall(self, url: str, media_key: str) -> Entry | None:
        """What ``url`` gave a search before (ok and still stored, or gone), or None."""
        try:
            row = orjson.loads(self._url_path(url).read_bytes())
            entry = Entry(media_key=media_key, **{k: str(row[k]) for k in HEADER[1:]})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if entry.url != url or not (entry.status == "gone" or self.has(entry)):
            return None
        return entry


def read_index(path: str | Path) -> tuple[dict[str, Entry], list[str]]:
    """The index's entries by URL, and one line per row it could not read (a damaged
    row is fetched again rather than trusted)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as e:
        return {}, [f"{path}: unreadable ({type(e).__name__}): fetching everything again"]
    out: dict[str, Entry] = {}
    problems = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
        try:
            entry = Entry(**{k: row[k] or "" for k in HEADER})
        except (KeyError, TypeError):
            problems.append(f"{path}, line {line}: not an index row, ignored")
            continue
        if entry.status not in STATUSES or not entry.url:
            problems.append(f"{path}, line {line}: bad status or no URL, ignored")
            continue
        out[entry.url] = entry
    return out, problems


def index_bytes(entries: Iterable[Entry]) -> bytes:
    """index.csv's bytes (its header, a row per entry)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for e in entries:
        w.writerow(asdict(e).values())
    return buf.getvalue().encode("utf-8")


def write_index(path: str | Path, entries: Iterable[Entry]) -> None:
    atomic.write_bytes(Path(path), index_bytes(entries))
