"""One search's media job (rules/media.smk): fetch what media.csv ranks first and the
index does not have yet, store it, publish a clean copy, and record everything.

The job never fails: a download that fails is a row of the index, and anything else
(a damaged index, a full disk, a bug) is written to the log and to the job's record,
so the search's page and the site are built whatever happens here. A run that leaves
failures behind writes a new retry token (the rule's ``retry`` param), so the next
plain run tries them again; items ``ok`` or ``gone`` are never asked for again.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from dnflow import atomic
from dnflow.media import images
from dnflow.media.fetch import Backoff, Fetched, Fetcher, allowed_hosts
from dnflow.media.settings import MediaSettings
from dnflow.media.store import Entry, Store, read_index, write_index
from dnflow.sources.runs import now_iso

WORKERS = 8  # threads of one job (per-host limits apply within them)
TIME_BUDGET_ENV = "DNFLOW_MEDIA_TIME_BUDGET"  # seconds one job may spend (default 3600)
TIMEOUT_ENV = "DNFLOW_MEDIA_TIMEOUT"  # seconds to wait for a connection or a read


@dataclass(frozen=True)
class Wanted:
    media_key: str
    url: str


def wanted(media_csv: str | Path, settings: MediaSettings) -> list[Wanted]:
    """The URLs to have, most shared first: media.csv's first ``max_items`` rows that
    give one (thumbnails: the preview, else the URL; full: the URL, else the preview)."""
    if settings.download == "none" or settings.max_items == 0:
        return []
    try:
        text = Path(media_csv).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out: list[Wanted] = []
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(text, newline="")):
        if len(out) >= settings.max_items:
            break
        url, preview = (row.get("url") or "").strip(), (row.get("preview_url") or "").strip()
        pick = (preview or url) if settings.download == "thumbnails" else (url or preview)
        key = (row.get("media_key") or "").strip()
        if not pick or not key or pick in seen:
            continue
        seen.add(pick)
        out.append(Wanted(key, pick))
    return out


def needs_fetch(entry: Entry | None, store: Store) -> bool:
    """Ask again unless it is stored (ok) or gone."""
    if entry is None:
        return True
    if entry.status == "gone":
        return False
    return not (entry.status == "ok" and store.has(entry))


class Run:
    """The fetching of one search's wanted items, from a pool of threads."""

    def __init__(self, store: Store, fetcher: Fetcher, deadline: float,
                 clock: Callable[[], str] = now_iso) -> None:
        self.store = store
        self.fetcher = fetcher
        self.deadline = deadline
        self.clock = clock
        self.fetched = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self.tried: list[Entry] = []  # list.append is atomic: the threads share it

    def one(self, want: Wanted, before: Entry | None) -> Entry:
        """The item's new entry; whatever goes wrong with one item is that item's
        failure, never the job's (a full disk fails them all, each with its reason)."""
        try:
            return self._one(want, before)
        except Exception as e:  # noqa: BLE001 - recorded in the index, retried next run
            entry = Entry(want.media_key, want.url, "failed", last_tried=self.clock(),
                          first_gone=before.first_gone if before else "",
                          reason=f"{type(e).__name__}: {e}")
            self.tried.append(entry)
            return entry

    def _one(self, want: Wanted, before: Entry | None) -> Entry:
        known = self.store.recall(want.url, want.media_key)
        if known is not None:  # another search (or an earlier index) has it: no request
            return known
        entry = Entry(want.media_key, want.url,
                      first_gone=before.first_gone if before else "")
        if time.monotonic() > self.deadline:
            entry.reason = "not tried yet: the job's time budget ran out"
            return entry
        entry.last_tried = self.clock()
        self.tried.append(entry)
        got = self.fetcher.get(want.url)
        entry.http_status = str(got.http_status or "")
        if got.status == "ok":
            return self._keep(entry, got)
        entry.status, entry.reason = got.status, got.reason
        if got.status == "gone":
            entry.first_gone = entry.first_gone or entry.last_tried
            self.store.remember(entry)
        return entry

    def _keep(self, entry: Entry, got: Fetched) -> Entry:
        data = got.data or b""
        try:
            info, im = images.decode(data)
        except images.NotAnImage as e:
            entry.status, entry.reason = "failed", str(e)
            return entry
        with im:
            entry.sha256 = self.store.put(data, info.ext)
            entry.ext, entry.bytes = info.ext, str(len(data))
            entry.width, entry.height = str(info.width), str(info.height)
            published = self.store.published(entry.sha256, entry.ext)
            if not published.is_file():
                images.publish(im, published)
        entry.status = "ok"
        self.store.remember(entry)
        with self._lock:
            self.fetched += 1
            self.bytes += len(data)
        return entry


def _by_host(items: list[Wanted]) -> list[Wanted]:
    """Round-robin over hosts: every host's first items start before any host's fifth."""
    queues: dict[str, list[Wanted]] = {}
    for w in items:
        queues.setdefault(urlsplit(w.url).netloc.lower(), []).append(w)
    out: list[Wanted] = []
    for i in range(max((len(q) for q in queues.values()), default=0)):
        out.extend(q[i] for q in queues.values() if i < len(q))
    return out


def fetch(wants: list[Wanted], previous: dict[str, Entry], run: Run,
          workers: int = WORKERS) -> list[Entry]:
    """Every wanted item's entry, in ``wants``' order: the previous one when it is
    stored or gone, else a new one from fetching it."""
    todo = [w for w in wants if needs_fetch(previous.get(w.url), run.store)]
    done: dict[str, Entry] = {}
    if todo:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="media") as pool:
            results = pool.map(lambda w: run.one(w, previous.get(w.url)), _by_host(todo))
            for entry in results:
                done[entry.url] = entry
    out = []
    for w in wants:
        entry = done.get(w.url) or previous[w.url]
        entry.media_key = w.media_key
        out.append(entry)
    return out


def link_published(entries: Iterable[Entry], store: Store, site_dir: Path) -> int:
    """site/<slug>/media/<sha256>.<ext>: a hard link (a copy across file systems) to each
    stored item's published copy; a published copy that is missing is made again. How
    many files the folder holds."""
    site_dir.mkdir(parents=True, exist_ok=True)
    names = set()
    for e in entries:
        if not e.name or e.name in names:
            continue
        names.add(e.name)
        src = store.published(e.sha256, e.ext)
        if not src.is_file():
            images.publish(store.original(e.sha256, e.ext), src)
        dst = site_dir / e.name
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:
            dst.write_bytes(src.read_bytes())
    return len(names)


def retry_token(media_dir: str | Path) -> str:
    """The rule's ``retry`` param: the token of the last run that left failures."""
    try:
        return (Path(media_dir) / "retry").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _mark_retry(media_dir: Path) -> None:
    atomic.write_bytes(media_dir / "retry", f"{time.time_ns():x}-{os.getpid():x}\n".encode())


def _fetcher(settings: MediaSettings, log: Callable[[str], None]) -> Fetcher:
    if settings.fetcher:  # a source whose URLs are answered offline (demo)
        module, name = settings.fetcher.split(":")
        return getattr(importlib.import_module(module), name)(settings.max_bytes)
    timeout = float(os.environ.get(TIMEOUT_ENV) or 0) or None
    return Fetcher(settings.max_bytes, backoff=Backoff.from_env(), log=log,
                   timeout=(timeout, timeout) if timeout else (10.0, 30.0),
                   allow_hosts=allowed_hosts(os.environ))


def fetch_search(slug: str, media_csv: str | Path, settings: MediaSettings, *,
                 workdir: str | Path = ".", log: TextIO,
                 fetcher: Fetcher | None = None, publish: bool = True) -> dict[str, Any]:
    """Run one search's media job; its record (also written to fetch.json). Never raises
    for a failed download; the caller (:func:`run_job`) catches the rest. ``publish``:
    whether site/<slug>/media gets the images (a search published at everything)."""
    workdir = Path(workdir)
    store = Store(workdir / "data" / "media")
    media_dir = workdir / "data" / slug / "media"
    started = now_iso()

    def say(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    fetcher = fetcher or _fetcher(settings, say)
    budget = float(os.environ.get(TIME_BUDGET_ENV) or 3600)
    wants = wanted(media_csv, settings)
    previous, problems = read_index(media_dir / "index.csv")
    for p in problems:
        say(p)
    run = Run(store, fetcher, time.monotonic() + budget)
    entries = fetch(wants, previous, run)
    write_index(media_dir / "index.csv", entries)
    linked = link_published(entries if publish else (), store,
                            workdir / "site" / slug / "media")
    counts = {s: sum(e.status == s for e in entries) for s in ("ok", "gone", "failed",
                                                               "pending")}
    for e in run.tried:
        if e.status != "ok":
            say(f"{e.status}: {e.url} ({e.reason})")
    record = {"slug": slug, "status": "ok", "error": None, **settings.params(),
              "items": len(entries), **counts, "fetched": run.fetched,
              "bytes_fetched": run.bytes, "requests": fetcher.stats.requests,
              "retries": fetcher.stats.retries, "published": linked,
              "started": started, "finished": now_iso()}
    if counts["failed"] or counts["pending"]:
        _mark_retry(media_dir)
        say("failures left: the next run tries them again")
    say(f"{len(entries)} items: {counts['ok']} ok, {counts['gone']} gone, "
        f"{counts['failed']} failed, {counts['pending']} not tried; fetched "
        f"{run.fetched} ({run.bytes:,} bytes) in {fetcher.stats.requests} requests")
    return record


def run_job(slug: str, media_csv: str, settings: MediaSettings, record_path: str,
            site_dir: str, log_path: str, workdir: str | Path = ".",
            publish: bool = True) -> dict[str, Any]:
    """The rule's job: :func:`fetch_search`, whose any error becomes a failed record
    (exit 0) and a retry token; the record is written last, atomically."""
    media_dir = Path(workdir, "data", slug, "media")
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            record = fetch_search(slug, media_csv, settings, workdir=workdir, log=log,
                                  publish=publish)
        except Exception as e:  # noqa: BLE001 - the site must build whatever this job does
            log.write(traceback.format_exc())
            record = {"slug": slug, "status": "failed", "error": f"{type(e).__name__}: {e}",
                      **settings.params(), "finished": now_iso()}
            try:
                _mark_retry(media_dir)
            except OSError as err:
                log.write(f"could not write the retry token: {err}\n")
            log.write("failed: the next run fetches this search's media again\n")
        Path(site_dir).mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(Path(record_path),
                           orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    return record
