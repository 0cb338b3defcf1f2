"""Collect a Bluesky search into immutable, resumable raw chunks.

One call of :func:`collect_window` fetches what is new for one search and one refresh
window (dnflow.windows) and leaves, under ``data/<slug>/`` (the files of every collecting
source, dnflow.sources.runs)::

    raw/<window>.jsonl                 every searchPosts answer verbatim + "__dnflow"
                                       provenance; only if posts came
    raw/.<window>.partial.jsonl        answers so far, while running or after a failure
    raw/.<window>.checkpoint.json      cursor, until, params, bytes done: the resume point
    runs/<window>[~<attempt>].json     the run record

How it pages (``sort: latest``, the default):

- pages of 100 with ``cursor``, newest first by ``sortAt``;
- the cursor ends at about 10,000 posts per query: when it ends on a full page that far
  in, the search goes on with ``until`` = the oldest ``sortAt`` seen (plus a millisecond,
  so posts of that same instant are not lost; they come twice and are counted once);
- a later window asks only from the newest post archived, minus an overlap (posts are
  indexed a little after they are written, so a post older than our newest may still
  appear): ``since`` = newest − ``OVERLAP``; the overlap's posts come again, are archived
  again (answers are kept verbatim) and counted once (the summary dedups by at-URI);
  ``new_posts`` in the run record counts only uris not archived before;
- after each answer the partial file is flushed and the checkpoint rewritten with the
  byte length it covers: a crash at any instant resumes from the checkpoint, an answer
  written after it being cut off and fetched again, so no answer is lost or doubled;
- a window an earlier run left unfinished is finished first (as X's).

``sort: top`` pages by cursor only (``until`` cannot continue a ranking).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import orjson

from dnflow import __version__
from dnflow import windows as dnwindows
from dnflow.formats.bluesky import sort_at
from dnflow.sources.bluesky_client import (
    API_URL,
    API_URL_ENV,
    RATE_LIMIT_FILE,
    BlueskyError,
    Client,
    SessionStore,
    backoff_from_env,
    credentials,
    state_dir,
)
from dnflow.sources.pager import PageGuard
from dnflow.sources.runs import (
    Backoff,
    Log,
    WindowPaths,
    _read_json,
    _split_stamp,
    attempt_stamp,
    checked_checkpoint,
    chunk_files,
    dump_json,
    now_iso,
    start_window,
    write_atomic,
)

PAGE = 100  # searchPosts' largest page
CURSOR_CAP = 10_000  # posts one query's cursor reaches (DNFLOW_BLUESKY_CURSOR_CAP)
# a cursor that ends on a full page past this share of the cap ended at the cap
CAP_SHARE = 0.9
OVERLAP = timedelta(minutes=10)  # posts indexed late: asked for again by the next window


def ms_iso(ms: int) -> str:
    """An instant in whole milliseconds as searchPosts takes it: 2026-11-28T06:00:00.123Z."""
    return (datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            + f".{ms % 1000:03d}Z")


def iso_ms(ts: float) -> str:
    return ms_iso(round(ts * 1000))


def just_after(ts: float) -> str:
    """The first millisecond after ``ts`` (to the microsecond: sortAt may have them)."""
    return ms_iso(round(ts * 1_000_000) // 1000 + 1)


def _uris(page: Mapping[str, Any]) -> list[str]:
    return [v["uri"] for v in page.get("posts") or ()
            if isinstance(v, dict) and isinstance(v.get("uri"), str)]


def _iter_pages(path: Path) -> Iterator[dict]:
    with open(path, "rb") as f:
        for line in f:
            with contextlib.suppress(orjson.JSONDecodeError):
                page = orjson.loads(line)
                if isinstance(page, dict):
                    yield page


def _pages(path: Path) -> list[dict]:
    return list(_iter_pages(path))


def overlap(raw_dir: Path, seconds: float, newest_first: bool = True
            ) -> tuple[float | None, set[str]]:
    """The newest sortAt archived in the completed chunks, and the uris of the posts of
    the ``seconds`` before it (the next window asks for them again).

    Chunks are windows in order and, sorted latest, each is newest first: the newest post
    is on the first page of the last chunk with posts, and reading stops at the first page
    that reaches before the overlap (a few pages, not the archive). ``newest_first`` off
    (``sort: top``) reads every chunk."""
    chunks = list(reversed(chunk_files(raw_dir)))
    found: list[tuple[float, str | None]] = []  # (sortAt, uri) of the pages read
    newest: float | None = None
    for path in chunks:
        for page in _iter_pages(Path(path)):
            times = [(t, v.get("uri")) for v in page.get("posts") or ()
                     if (t := sort_at(v)) is not None]
            if not times:
                continue
            found += times
            top = max(t for t, _ in times)
            newest = top if newest is None else max(newest, top)
            if newest_first and min(t for t, _ in times) < newest - seconds:
                return newest, _since(found, newest - seconds)
    if newest is None:
        return None, set()
    return newest, _since(found, newest - seconds)


def _since(found: list[tuple[float, str | None]], floor: float) -> set[str]:
    return {u for t, u in found if t >= floor and isinstance(u, str)}


def search_params(search: Mapping[str, Any], since: str | None) -> dict[str, Any]:
    """The request parameters of a search (all but cursor and limit)."""
    p: dict[str, Any] = {"q": search["query"], "sort": search.get("sort", "latest")}
    if since:
        p["since"] = since
    if search.get("until"):
        p["until"] = search["until"]
    if search.get("lang"):
        p["lang"] = search["lang"]
    return p


def _fingerprint(search: Mapping[str, Any]) -> list:
    return [search["query"], search.get("sort", "latest"), search.get("lang"),
            search.get("since"), search.get("until")]


class _Run:
    """One window of one search: resume or start, page, checkpoint, finish."""

    def __init__(self, search: Mapping[str, Any], paths: WindowPaths, client: Client,
                 log: Log, limit: int | None, cap: int) -> None:
        self.search, self.paths, self.client, self.log = search, paths, client, log
        self.limit = limit
        self.cap = cap
        self.sort = search.get("sort", "latest")

    def _start(self, record: dict) -> dict:
        """The state to go on from: the checkpoint's (the partial file cut back to what it
        covers), or a fresh one for this window."""
        p = self.paths
        cp = _read_json(p.checkpoint)
        if cp is not None and cp.get("search") != _fingerprint(self.search):
            self.log("the search changed since the checkpoint: starting the window afresh")
            cp = None
        cp = checked_checkpoint(cp, p, self.log)
        if cp is not None:
            with open(p.partial, "r+b") as f:
                f.truncate(cp["bytes"])
            seen = {u for page in _pages(p.partial) for u in _uris(page)}
            record["resumed"] = {"pages": cp["pages"], "posts": cp["new_posts"]}
            self.log(f"resuming from checkpoint: {cp['pages']} pages, {cp['new_posts']} new "
                     "posts already fetched")
            return dict(cp, seen=seen | set(cp.get("known") or ()))
        with contextlib.suppress(FileNotFoundError):
            p.partial.unlink()
        since = self.search.get("since")
        newest, known = overlap(p.raw, OVERLAP.total_seconds(), self.sort == "latest")
        if newest is not None:
            floor = newest - OVERLAP.total_seconds()
            configured = dnwindows.parse_time(since).timestamp() if since else None
            since = iso_ms(max(floor, configured or floor))
        return {"params": search_params(self.search, since), "cursor": None, "pages": 0,
                "new_posts": 0, "posts": 0, "segment": 0, "restarts": 0, "newest": None,
                "oldest": None, "bytes": 0, "known": sorted(known), "seen": set(known),
                "done": False}

    def run(self, record: dict[str, Any]) -> dict[str, Any]:
        p = self.paths
        p.raw.mkdir(parents=True, exist_ok=True)
        st = self._start(record)
        record["since"] = st["params"].get("since")
        self.log(f"search {self.search['query']!r} ({self.sort})"
                 + (f", since {record['since']}" if record["since"] else "")
                 + (f", at most {self.limit} posts" if self.limit else ""))
        stopped = "end"
        self._guard, self._loop = PageGuard("cursor", st["cursor"]), None
        try:
            with open(p.partial, "ab") as out:
                if not st["done"]:
                    self.client.pace_shared()
                while not st["done"]:
                    if self.limit is not None and st["new_posts"] >= self.limit:
                        stopped = "max_posts"
                        break
                    self._page(st, out)
        except BlueskyError as e:
            self._stats(record, st)
            record.update(status="failed", error=str(e))
            self.log(f"FAILED: {e}")
            if st["pages"]:
                self.log(f"kept {st['pages']} pages in the checkpoint; the next run resumes "
                         "from there")
            return record
        if st["pages"]:
            os.replace(p.partial, p.chunk)
        else:
            p.partial.unlink()
        with contextlib.suppress(FileNotFoundError):
            p.checkpoint.unlink()
        self._stats(record, st)
        if self._loop is not None:
            stopped = "loop"
            record["note"] = (f"stopped after {st['pages']} pages: {self._loop}; older posts "
                              "of this window were not collected, what was archived is kept")
            self.log(f"stopped: {self._loop}")
        record.update(status="ok", stopped=stopped)
        if stopped == "max_posts":
            record["note"] = (f"stopped at {st['new_posts']} posts (max_posts); older posts "
                              "of this window were not collected")
        self.log(f"done: {st['new_posts']} new posts ({st['posts']} fetched) in "
                 f"{st['pages']} pages, {self.client.stats.requests} requests, "
                 f"{self.client.stats.retries} retries, {self.client.stats.waits:.1f}s waited"
                 + (f" → {p.chunk}" if st["pages"] else " (nothing new, no chunk written)"))
        return record

    def _page(self, st: dict, out: Any) -> None:
        """Fetch, archive and checkpoint one answer; decide what comes next."""
        want = PAGE if self.limit is None else max(1, min(PAGE, self.limit - st["new_posts"]))
        params = dict(st["params"], limit=want)
        if st["cursor"]:
            params["cursor"] = st["cursor"]
        self.client.pace()
        try:
            page = self.client.search(params)
        except BlueskyError as e:
            if st["cursor"] and e.status == 400 and self._at_cap(st, want):
                # a server that refuses the cursor past its depth, instead of ending it
                self._restart(st, f"the cursor was refused at its depth ({e})")
                return
            raise
        posts = page["posts"]
        uris = _uris(page)
        new = [u for u in uris if u not in st["seen"]]
        st["seen"].update(uris)
        if posts:
            line = dict(page)
            line["__dnflow"] = {
                "url": f"{self.client.service}/xrpc/app.bsky.feed.searchPosts",
                "query": self.search["query"], "params": params, "window": self.paths.window,
                "page": st["pages"] + 1, "new": len(new),
                "retrieved_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "version": f"dnflow/{__version__}"}
            out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
            out.flush()
            os.fsync(out.fileno())
            st["pages"] += 1
            times = [t for v in posts if (t := sort_at(v)) is not None]
            if times:
                st["newest"] = max(st["newest"] or 0.0, max(times))
                st["oldest"] = min(st["oldest"] or float("inf"), min(times))
        st["posts"] += len(posts)
        st["new_posts"] += len(new)
        st["segment"] += len(posts)
        st["cursor"] = page.get("cursor") if isinstance(page.get("cursor"), str) else None
        if not st["cursor"]:
            if posts and self._at_cap(st, want) and len(posts) >= want:
                self._restart(st, f"the cursor ended after {st['segment']} posts")
            else:
                st["done"] = True
        elif (loop := self._guard.after(uris, st["cursor"])) is not None:
            self._loop, st["done"] = loop, True
        self._checkpoint(st, out.tell())
        self.log(f"page {st['pages']}: {len(posts)} posts, {len(new)} new "
                 f"({st['new_posts']} so far){self._left()}")

    def _at_cap(self, st: dict, want: int) -> bool:
        return self.sort == "latest" and st["segment"] >= CAP_SHARE * self.cap - want

    def _restart(self, st: dict, why: str) -> None:
        """Walk back past the cursor's depth: the same query below the oldest post seen."""
        if st["oldest"] is None:
            st["done"] = True
            return
        until = just_after(st["oldest"])  # exclusive: posts of that instant come again
        if st["params"].get("until") == until:  # no older post came: nothing below
            st["done"] = True
            return
        self.log(f"{why}: going on with until {until}")
        st["params"] = dict(st["params"], until=until)
        st["cursor"] = None
        st["segment"] = 0
        self._guard = PageGuard("cursor")  # a new walk: its cursors are its own
        st["restarts"] += 1

    def _checkpoint(self, st: dict, size: int) -> None:
        cp = {k: v for k, v in st.items() if k != "seen"}
        cp.update(bytes=size, window=self.paths.window, search=_fingerprint(self.search),
                  updated=now_iso())
        write_atomic(self.paths.checkpoint, dump_json(cp))

    def _left(self) -> str:
        h = self.client.stats.limit
        if "ratelimit-remaining" not in h:
            return ""
        return f", rate limit {h['ratelimit-remaining']}/{h.get('ratelimit-limit', '?')} left"

    def _stats(self, record: dict, st: dict) -> None:
        s = self.client.stats
        record.update(
            new_posts=st["new_posts"], posts=st["posts"], pages=st["pages"],
            requests=s.requests, retries=s.retries, waits=round(s.waits, 3),
            rate_limit_waits=s.rate_limit_waits, logins=s.logins, refreshes=s.refreshes,
            restarts=st["restarts"], until=st["params"].get("until"),
            newest=iso_ms(st["newest"]) if st["newest"] else None,
            oldest=iso_ms(st["oldest"]) if st["oldest"] else None)


def _new_record(slug: str, search: Mapping[str, Any], name: str) -> dict[str, Any]:
    window, attempt = _split_stamp(name)
    return {
        "slug": slug, "window": window, "attempt": attempt, "query": search.get("query"),
        "sort": search.get("sort", "latest"), "lang": search.get("lang"),
        "started": now_iso(), "finished": None, "status": None, "error": None, "note": None,
        "new_posts": 0, "posts": 0, "pages": 0, "requests": 0, "retries": 0, "waits": 0.0,
        "rate_limit_waits": 0, "logins": 0, "refreshes": 0, "restarts": 0, "since": None,
        "until": None, "newest": None, "oldest": None, "resumed": None, "stopped": None,
        "dnflow": __version__,
    }


def _finish(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    record["finished"] = now_iso()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dump_json(record))
    return record


def _recover(paths: WindowPaths, record: dict) -> dict:
    """The chunk landed but its run stopped before the record: count it, fetch nothing."""
    pages = _pages(paths.chunk)
    with contextlib.suppress(FileNotFoundError):
        paths.checkpoint.unlink()
    record.update(status="ok", stopped="end", pages=len(pages),
                  posts=sum(len(_uris(p)) for p in pages),
                  new_posts=sum(int((p.get("__dnflow") or {}).get("new") or 0) for p in pages),
                  note="recovered: the chunk was complete, its run record was missing")
    return record


def collect_window(
    slug: str,
    search: Mapping[str, Any],
    stamp: str,
    datadir: str | Path = "data",
    *,
    env: Mapping[str, str] | None = None,
    log: TextIO | Log | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> dict[str, Any]:
    """Collect one window of one Bluesky search, as dnflow.sources.x.collect_window
    does for X: the run record written and returned, expected failures in it."""
    env, paths, out = start_window(slug, stamp, datadir, env, log)
    base, window = paths.base, paths.window
    record = _new_record(slug, search, stamp)
    if paths.chunk.exists():
        out(f"chunk {paths.chunk} already complete: record recovered")
        return _finish(paths.record(stamp), _recover(paths, record))
    service = (env.get(API_URL_ENV) or API_URL).rstrip("/")
    try:
        creds = credentials(env)
        store = SessionStore(state_dir(env), service, creds.handle)
    except BlueskyError as e:
        record.update(status="failed", error=str(e))
        out(f"FAILED: {e}")
        return _finish(paths.record(stamp), record)
    if service != API_URL:
        out(f"using the Bluesky API at {service} ({API_URL_ENV})")
    client = Client(creds, store, service=service, backoff=backoff or backoff_from_env(env),
                    sleep=sleep, log=out, shared_limits=Path(datadir) / RATE_LIMIT_FILE)
    cap = int(env.get("DNFLOW_BLUESKY_CURSOR_CAP") or CURSOR_CAP)
    limit = search.get("max_posts")

    # a window an earlier run left unfinished is completed first, its pages neither lost
    # nor fetched twice (the same client: one session, one wait budget)
    for cp_path in sorted(paths.raw.glob(".*.checkpoint.json")):
        old = cp_path.name[1:-len(".checkpoint.json")]
        if old == window:
            continue
        out(f"finishing window {old}, left incomplete by an earlier run")
        old_name = attempt_stamp(base, old)
        old_record = _new_record(slug, search, old_name)
        old_record["note"] = f"completed by the run of window {window}"
        res = _Run(search, WindowPaths(base, old), client, out, limit, cap).run(old_record)
        if res["status"] != "ok":
            record.update(status="failed", error=f"window {old}: {res['error']}")
            return _finish(paths.record(stamp), record)
        _finish(paths.record(old_name), res)
    return _finish(paths.record(stamp),
                   _Run(search, paths, client, out, limit, cap).run(record))
