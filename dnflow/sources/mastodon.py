"""Collect Mastodon hashtag timelines of several instances into resumable raw chunks.

One call of :func:`collect_window` fetches what is new on every listed instance for one
search and one refresh window (dnflow.windows), and leaves under ``data/<slug>/``::

    raw/<stamp>.jsonl                every answer kept, one per line: the statuses
                                     verbatim under "statuses", provenance under
                                     "__dnflow" (instance, request, Link header, rate
                                     limit, time); only when something came
    raw/.<window>.partial.jsonl      answers so far, while running or after a failure
    raw/.<window>.checkpoint.json    each instance's cursor and figures, and the bytes of
                                     the partial file they cover: the resume point
    runs/<stamp>.json                the run record, with each instance's coverage

Why it is shaped like this (the X collector's reasons hold too: dnflow.sources.x):

- **Paging.** Pages of 40 following the ``Link`` header: an instance never collected
  before is read backwards from its newest status (``max_id``, rel=next) until an empty
  page or ``max_posts``; after that, each window reads forwards from the newest status
  already archived (``min_id``, rel=prev) until an empty page. Forward windows that stop
  at ``max_posts`` leave no gap: the next window goes on from where this one stopped.
- **Several instances.** Ids are per instance (each numbers the statuses it knows), so
  cursors are kept per instance; a status is the same everywhere by its ``uri``. Each
  instance's answers are archived as they came (which instance knew which post is the
  coverage a researcher cites); the summary counts each ``uri`` once. The run record says
  per instance how many posts it brought, how many were new to the search, and how many
  it gave of accounts that opted out.
- **Opt-outs.** Statuses of accounts that asked not to be collected (dnflow.optouts) are
  not archived unless the search sets ``include_opted_out: true``; the line keeps their
  hidden keys (``left_out``), so the page can say how many were left out and nothing of
  them is stored.
- **Resume.** After each page the partial file is flushed and the checkpoint rewritten
  atomically with the byte length it covers; a crash at any instant resumes from there
  (the partial is cut back to that length), so nothing is lost or doubled.
- **Failures.** An instance that refuses (401 with the reason, 403, 404) fails alone: the
  others complete the window, the run record names it and the window is tried again on
  the next run (a new attempt, whose chunk is ``<window>~2.jsonl``). Retries running out
  (5xx, 429 past the wait budget, broken connections) keep the window open: the next run
  resumes it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from dnflow import __version__, optouts
from dnflow.formats.mastodon import keep
from dnflow.sources import runs
from dnflow.sources.mastodon_api import (
    API_URL_ENV,
    PAGE_SIZE,
    RATE_LIMIT_FILE,
    Backoff,
    Client,
    Instance,
    MastodonError,
    Page,
    read_tokens,
)
from dnflow.sources.pager import PageGuard
from dnflow.sources.runs import (
    WindowPaths,
    _read_json,
    _split_stamp,
    attempt_stamp,
    checked_checkpoint,
    chunk_files,
    run_records,
    start_window,
)

Log = Callable[[str], None]
PLATFORM = "mastodon"
ARCHIVED = "mastodon-archived.json"
"""data/<slug>/cache/: what the search's chunks hold (Archived), so a run reads only new ones."""


# --------------------------------------------------------------------------- files


_now_iso, _dump, _write_atomic = runs.now_iso, runs.dump_json, runs.write_atomic


def id_order(sid: str) -> tuple[int, str]:
    """Sort key of status ids: Mastodon's are decimal (longer is newer), other servers'
    fixed-length sortable strings."""
    return (len(sid), sid)


@dataclass
class Archived:
    """What a search's archive already holds: every status uri and left-out key (dedup,
    "new"), and the newest status id archived from each instance (the forward cursor)."""

    uris: set[str]
    left_out: set[str]
    newest: dict[str, str]

    @classmethod
    def of_chunks(cls, chunks: list[Path], cache: Path) -> Archived:
        """From a search's completed chunks, reading only those ``cache`` (what earlier
        runs read, data/<slug>/cache/) does not cover: a cron run costs its new chunks,
        not the whole archive. Chunks never change once complete; a cache that names a
        chunk no longer there, or one of another size, or that cannot be read, is
        dropped and every chunk read."""
        sizes = {c.name: c.stat().st_size for c in chunks}
        out, covered = cls(set(), set(), {}), {}
        try:
            data = orjson.loads(cache.read_bytes())
            if all(sizes.get(n) == size for n, size in data["chunks"].items()):
                out = cls(set(data["uris"]), set(data["left_out"]), dict(data["newest"]))
                covered = data["chunks"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        todo = [c for c in chunks if c.name not in covered]
        for c in todo:
            out.add_file(c)
        if todo or len(covered) != len(sizes):
            cache.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(cache, orjson.dumps({
                "chunks": sizes, "uris": sorted(out.uris), "left_out": sorted(out.left_out),
                "newest": out.newest}))
        return out

    @classmethod
    def read(cls, paths: Iterable[Path], upto: int | None = None) -> Archived:
        """From completed chunks (and a partial file's first ``upto`` bytes)."""
        out = cls(set(), set(), {})
        for path in paths:
            out.add_file(path, upto if path.name.startswith(".") else None)
        return out

    def add_file(self, path: Path, upto: int | None = None) -> None:
        with open(path, "rb") as f:
            data = f.read(upto) if upto is not None else f.read()
        for line in data.splitlines():
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            prov = value.get("__dnflow") if isinstance(value, dict) else None
            if isinstance(prov, dict):
                self.add(prov, value.get("statuses"))

    def add(self, prov: Mapping[str, Any], statuses: Any) -> None:
        for s in statuses if isinstance(statuses, list) else ():
            uri = s.get("uri") if isinstance(s, dict) else None
            if isinstance(uri, str):
                self.uris.add(uri)
        for key in prov.get("left_out") or ():
            if isinstance(key, str):
                self.left_out.add(key)
        inst, newest = prov.get("instance"), (prov.get("ids") or {}).get("newest")
        if isinstance(inst, str) and isinstance(newest, str) and (
                inst not in self.newest or id_order(newest) > id_order(self.newest[inst])):
            self.newest[inst] = newest


# --------------------------------------------------------------------------- the search


def tag_params(search: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The timeline's tag and its filters: the first of ``hashtags`` is the tag, the
    others ``any[]``; ``hashtags_all`` → ``all[]``, ``hashtags_none`` → ``none[]``."""
    tags = [t.lstrip("#＃") for t in search["hashtags"]]
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    for key, values in (("any[]", tags[1:]), ("all[]", search.get("hashtags_all") or ()),
                        ("none[]", search.get("hashtags_none") or ())):
        values = [v.lstrip("#＃") for v in values]
        if values:
            params[key] = values
    return tags[0], params


def describe(search: Mapping[str, Any]) -> str:
    """The search as the page's "Query" shows it: ``#a OR #b, with #c, without #d``."""
    text = " OR ".join("#" + t.lstrip("#＃") for t in search["hashtags"])
    if search.get("hashtags_all"):
        text += ", with " + " ".join("#" + t.lstrip("#＃") for t in search["hashtags_all"])
    if search.get("hashtags_none"):
        text += ", without " + " ".join("#" + t.lstrip("#＃") for t in search["hashtags_none"])
    return text


def _fresh_instance(newest: str | None, resume: str | None) -> dict[str, Any]:
    """An instance's state at the start of a window: its walks ("legs"). Backwards from
    where an earlier walk back was cut short by a refusal (``resume``), then forwards
    from the newest status archived from it; or backwards from its newest when nothing
    of it is archived."""
    legs = [{"direction": "back", "cursor": resume}] if resume else []
    if newest:
        legs.append({"direction": "forward", "cursor": newest})
    elif not resume:
        legs.append({"direction": "back", "cursor": None})
    return {"status": "todo", "legs": legs, "walk": "+".join(g["direction"] for g in legs),
            "since": newest, "newest": newest, "pages": 0, "requests": 0, "posts": 0,
            "new": 0, "left_out": 0, "error": None, "stopped": None, "resume": None}


def unfinished_walks(search_dir: Path) -> dict[str, str]:
    """Per instance, the ``max_id`` a walk back was cut short at by a refusal, as the
    latest completed run record of the search says (dnflow.sources.runs)."""
    out: dict[str, str] = {}
    for path in run_records(search_dir):
        rec = _read_json(Path(path))
        if not isinstance(rec, dict) or rec.get("open"):
            continue
        for name, s in (rec.get("instances") or {}).items():
            if isinstance(s, dict):
                if isinstance(s.get("resume"), str):
                    out[name] = s["resume"]
                else:
                    out.pop(name, None)
    return out


# --------------------------------------------------------------------------- one window


class _Window:
    """One window of one search: resume or start, page each instance, checkpoint, finish."""

    def __init__(self, slug: str, search: Mapping[str, Any], paths: WindowPaths, stamp: str,
                 instances: list[Instance], client: Client, log: Log) -> None:
        self.resume = unfinished_walks(paths.base)
        self.slug = slug
        self.search = search
        self.paths = paths
        self.stamp = stamp
        self.instances = instances
        self.client = client
        self.log = log
        self.tag, self.params = tag_params(search)
        self.limit = search.get("max_posts")
        self.include = bool(search.get("include_opted_out"))

    def _start(self, record: dict[str, Any]) -> tuple[dict[str, Any], Archived]:
        """The checkpoint to go on from (or a fresh one) and what is archived."""
        p = self.paths
        p.raw.mkdir(parents=True, exist_ok=True)
        cp = _read_json(p.checkpoint)
        want = {"tag": self.tag, "params": self.params, "include": self.include}
        if cp is not None and cp.get("search") != want:
            self.log("the search's hashtags or opt-out setting changed since the "
                     "checkpoint: starting the window afresh")
            cp = None
        cp = checked_checkpoint(cp, p, self.log)
        chunks = [Path(c) for c in chunk_files(p.raw)]
        if cp is not None:
            # a page written after the last checkpoint is cut off and fetched again
            with open(p.partial, "r+b") as f:
                f.truncate(cp["bytes"])
            archived = Archived.of_chunks(chunks, p.base / "cache" / ARCHIVED)
            archived.add_file(p.partial, upto=cp["bytes"])
            done = {n: s["pages"] for n, s in cp["instances"].items()}
            record["resumed"] = {"pages": sum(done.values()),
                                 "posts": sum(s["posts"] for s in cp["instances"].values())}
            self.log(f"resuming from checkpoint: {record['resumed']['pages']} pages, "
                     f"{record['resumed']['posts']} posts already archived")
        else:
            with contextlib.suppress(FileNotFoundError):
                p.partial.unlink()
            archived = Archived.of_chunks(chunks, p.base / "cache" / ARCHIVED)
            cp = {"window": p.window, "search": want, "bytes": 0, "instances": {}}
        # an instance no longer listed: its pages stay archived, it is asked no more
        names = {i.name for i in self.instances}
        cp["instances"] = {n: s for n, s in cp["instances"].items() if n in names}
        for inst in self.instances:
            state = cp["instances"].get(inst.name)
            if state is None or (state["status"] == "failed" and not state.get("transient")):
                cp["instances"][inst.name] = _fresh_instance(archived.newest.get(inst.name),
                                                             self.resume.get(inst.name))
            elif state["status"] == "failed":  # retries ran out last time: go on
                state.update(status="paging", error=None, resume=None, transient=False)
        return cp, archived

    def run(self, record: dict[str, Any]) -> dict[str, Any]:
        cp, archived = self._start(record)
        p = self.paths
        with open(p.partial, "ab") as out:
            for inst in self.instances:
                state = cp["instances"][inst.name]
                if state["status"] in ("done", "failed"):
                    continue
                try:
                    self._instance(inst, state, cp, archived, out)
                except MastodonError as e:
                    leg = state["legs"][0] if state["legs"] else {}
                    # a walk back cut short goes on from there in a later window
                    resume = leg.get("cursor") if leg.get("direction") == "back" else None
                    state.update(status="failed", error=str(e), transient=e.transient,
                                 resume=resume)
                    self.log(f"FAILED: {e}")
                    self._checkpoint(cp, out)
        states = cp["instances"]
        self._figures(record, states)
        failed = [n for n, s in states.items() if s["status"] == "failed"]
        if any(states[n].get("transient") for n in failed):
            # retries ran out: the window stays open, the next run resumes it (and its
            # record then has this one's figures too: ``open`` ones are not added up)
            record.update(status="failed", open=True, error="; ".join(
                states[n]["error"] for n in failed))
            self.log(f"kept {record['pages']} pages in the checkpoint; the next run "
                     "resumes the window")
            return record
        # complete (an instance that refused is retried by the next run): the chunk
        # appears whole, then the resume point goes
        chunk = p.chunk_of(self.stamp)
        if p.partial.stat().st_size:
            os.replace(p.partial, chunk)
            record["chunk"] = chunk.name
        else:
            p.partial.unlink()
        with contextlib.suppress(FileNotFoundError):
            p.checkpoint.unlink()
        if failed:
            record.update(status="failed", error="; ".join(states[n]["error"] for n in failed))
        else:
            record["status"] = "ok"
        stopped = [n for n, s in states.items() if s.get("stopped") == "max_posts"]
        looped = [f"{n}: {s['loop']}" for n, s in states.items() if s.get("loop")]
        record["stopped"] = "max_posts" if stopped else "loop" if looped else "end"
        if looped:
            record["note"] = ("stopped paging (" + "; ".join(looped) + "); older posts "
                              "there were not collected, what was archived is kept")
        if stopped:
            record["note"] = (f"stopped at max_posts ({self.limit}) on {', '.join(stopped)}: "
                              "older posts there were not collected" if any(
                                  states[n].get("stopped_leg") == "back" for n in stopped)
                              else f"stopped at max_posts ({self.limit}) on "
                                   f"{', '.join(stopped)}; the next window goes on from "
                                   "there")
        self.log(f"done: {record['new_tweets']} new posts in {record['pages']} pages, "
                 f"{record['requests']} requests, {record['retries']} retries, "
                 f"{record['waits']:.1f}s waited"
                 + (f" → {chunk}" if chunk.exists() else " (nothing new, no chunk written)"))
        return record

    def _instance(self, inst: Instance, state: dict[str, Any], cp: dict[str, Any],
                  archived: Archived, out: Any) -> None:
        """Walk one instance's legs to their ends (or max_posts), a checkpoint after
        each page."""
        state["status"] = "paging"
        while state["legs"]:
            leg = state["legs"][0]
            if not self._leg(inst, state, leg, cp, archived, out):
                state["stopped"], state["stopped_leg"] = "max_posts", leg["direction"]
                break
            state["legs"].pop(0)
        state.update(legs=[], status="done", resume=None)
        self._checkpoint(cp, out)

    def _leg(self, inst: Instance, state: dict[str, Any], leg: dict[str, Any],
             cp: dict[str, Any], archived: Archived, out: Any) -> bool:
        """Page one walk to its end: True, or False when max_posts stopped it."""
        direction = leg["direction"]
        self.log(f"{inst.name}: #{self.tag} "
                 + (f"forwards from {leg['cursor']}" if direction == "forward"
                    else "backwards from its newest" if not leg["cursor"]
                    else f"backwards from {leg['cursor']}"))
        guard = PageGuard("Link cursor", leg["cursor"])
        while True:
            if self.limit is not None and state["posts"] >= self.limit:
                return False
            params = dict(self.params)
            if self.limit is not None:  # ask only for what is still allowed
                params["limit"] = max(1, min(PAGE_SIZE, self.limit - state["posts"]))
            if leg["cursor"]:
                params["min_id" if direction == "forward" else "max_id"] = leg["cursor"]
            before = self.client.stats.requests
            try:
                page = self.client.page(inst, self.tag, params)
            finally:
                state["requests"] += self.client.stats.requests - before
            statuses = [s for s in page.statuses if isinstance(s, dict)]
            if not statuses:
                return True
            nxt = self._archive(inst, state, direction, page, statuses, archived, out)
            if nxt is not None:
                leg["cursor"] = nxt
            self._checkpoint(cp, out)
            left = page.rate.get("x-ratelimit-remaining")
            self.log(f"{inst.name}: page {state['pages']}: {len(statuses)} posts, "
                     f"{state['new']} new so far"
                     + (f", rate limit {left}/{page.rate.get('x-ratelimit-limit', '?')} left"
                        if left is not None else ""))
            if nxt is None:
                return True
            loop = guard.after([s.get("uri") for s in statuses], nxt)
            if loop is not None:
                self.log(f"{inst.name}: stopped: {loop}")
                state["loop"] = loop
                return True

    def _archive(self, inst: Instance, state: dict[str, Any], direction: str, page: Page,
                 statuses: list, archived: Archived, out: Any) -> str | None:
        """Write one answer; returns the cursor of the next request (None: the end)."""
        ids = sorted((s["id"] for s in statuses if isinstance(s.get("id"), str)), key=id_order)
        kept, gone = (statuses, ()) if self.include else keep(statuses)
        uris = [s.get("uri") for s in kept if isinstance(s.get("uri"), str)]
        new = [u for u in dict.fromkeys(uris) if u not in archived.uris]
        prov = {
            "platform": PLATFORM, "instance": inst.name, "url": page.url,
            "params": page.params, "link": page.link, "window": self.paths.window,
            "page": state["pages"] + 1, "retrieved_at": datetime.now(UTC).isoformat(
                timespec="seconds"),
            "version": f"dnflow/{__version__}", "rate_limit": page.rate,
            "ids": {"newest": ids[-1], "oldest": ids[0]} if ids else {},
            "left_out": list(gone),
        }
        out.write(orjson.dumps({"statuses": kept, "__dnflow": prov},
                               option=orjson.OPT_APPEND_NEWLINE))
        out.flush()
        os.fsync(out.fileno())
        state["pages"] += 1
        state["posts"] += len(kept)
        state["new"] += len(new)
        state["left_out"] += sum(k not in archived.left_out for k in dict.fromkeys(gone))
        archived.add(prov, kept)
        if ids and (state["newest"] is None or id_order(ids[-1]) > id_order(state["newest"])):
            state["newest"] = ids[-1]
        if not ids:
            return None
        if direction == "forward":
            return page.cursors.get("min_id") or ids[-1]
        if "max_id" not in page.cursors and page.link is not None:
            return None  # a Link header without rel=next: the end
        return page.cursors.get("max_id") or ids[0]

    def _checkpoint(self, cp: dict[str, Any], out: Any) -> None:
        cp["bytes"] = out.tell()
        cp["updated"] = _now_iso()
        _write_atomic(self.paths.checkpoint, _dump(cp))

    def _figures(self, record: dict[str, Any], states: Mapping[str, dict]) -> None:
        st = self.client.stats
        record.update(
            new_tweets=sum(s["new"] for s in states.values()),
            posts=sum(s["posts"] for s in states.values()),
            left_out=sum(s["left_out"] for s in states.values()),
            pages=sum(s["pages"] for s in states.values()), requests=st.requests,
            retries=st.retries, waits=round(st.waits, 3),
            rate_limit_waits=st.rate_limit_waits,
            instances={n: {k: s.get(k) for k in ("status", "walk", "since", "newest",
                                                  "pages", "requests", "posts", "new",
                                                  "left_out", "stopped", "error", "resume")}
                       for n, s in states.items()})


# --------------------------------------------------------------------------- entry point


def _new_record(slug: str, search: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    window, attempt = _split_stamp(stamp)
    return {
        "slug": slug, "window": window, "attempt": attempt, "query": describe(search),
        "instances": {}, "started": _now_iso(), "finished": None, "status": None,
        "error": None, "note": None, "new_tweets": 0, "posts": 0, "left_out": 0,
        "pages": 0, "requests": 0, "retries": 0, "waits": 0.0, "rate_limit_waits": 0,
        "resumed": None, "stopped": None, "open": False, "chunk": None,
        "include_opted_out": bool(search.get("include_opted_out")), "dnflow": __version__,
    }


def _finish(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    record["finished"] = _now_iso()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, _dump(record))
    return record


def collect_window(slug: str, search: Mapping[str, Any], stamp: str,
                   datadir: str | Path = "data", *, env: Mapping[str, str] | None = None,
                   log: TextIO | Log | None = None, sleep: Callable[[float], None] = time.sleep,
                   backoff: Backoff | None = None) -> dict[str, Any]:
    """Collect one window (``stamp``: ``<window>`` or ``<window>~<attempt>``) of a
    ``source: mastodon`` search from each of its instances.

    Writes ``<datadir>/<slug>/runs/<stamp>.json`` and returns it. Expected failures give a
    record with ``status: failed`` and a one-line ``error`` naming the instance; only
    unexpected errors raise (the checkpoint then still holds everything fetched).
    """
    env, paths, out = start_window(slug, stamp, datadir, env, log)
    base, window = paths.base, paths.window
    record = _new_record(slug, search, stamp)
    # the policy the withheld/left-out decisions of keep() use (dnflow.optouts)
    optouts.set_policy(search)

    if paths.chunk_of(stamp).exists():
        # the chunk landed but the run stopped before its record: nothing to fetch
        archived = Archived.read([paths.chunk_of(stamp)])
        record.update(status="ok", stopped="end", new_tweets=len(archived.uris),
                      note="recovered: the chunk was complete, its run record was missing")
        with contextlib.suppress(FileNotFoundError):
            paths.checkpoint.unlink()
        out(f"chunk {paths.chunk_of(stamp)} already complete: record recovered")
        return _finish(paths.record(stamp), record)
    try:
        tokens = read_tokens(env)
    except MastodonError as e:
        record.update(status="failed", error=str(e))
        out(f"FAILED: {e}")
        return _finish(paths.record(stamp), record)
    instances = [Instance.of(name, env) for name in search["instances"]]
    if env.get(API_URL_ENV):
        out(f"using the Mastodon API at {env[API_URL_ENV]} ({API_URL_ENV})")
    backoff = backoff or Backoff.from_env(env)
    loopback = bool(env.get(API_URL_ENV)) or all(
        i.host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]") for i in instances)

    def run(stamp_: str, rec: dict[str, Any], paths_: WindowPaths) -> dict[str, Any]:
        # a client per window: each record counts its own requests and waits
        client = Client(tokens, backoff=backoff, sleep=sleep, log=out, loopback=loopback,
                        shared_limits=Path(datadir) / RATE_LIMIT_FILE)
        try:
            return _Window(slug, search, paths_, stamp_, instances, client, out).run(rec)
        except MastodonError as e:  # the token file, say: nothing fetched
            rec.update(status="failed", error=tokens.scrub(str(e)))
            out(f"FAILED: {rec['error']}")
            return rec

    # a window an earlier run left open (retries ran out, or a crash) is completed first,
    # so its pages are neither lost nor fetched twice
    for cp_path in sorted(paths.raw.glob(".*.checkpoint.json")):
        old = cp_path.name[1:-len(".checkpoint.json")]
        if old == window:
            continue
        old_stamp = attempt_stamp(base, old)
        out(f"finishing window {old}, left open by an earlier run (as {old_stamp})")
        old_record = _new_record(slug, search, old_stamp)
        old_record["note"] = f"completed by the run of window {window}"
        res = _finish(paths.record(old_stamp), run(old_stamp, old_record, WindowPaths(base, old)))
        if res["status"] != "ok" and _read_json(cp_path) is not None:
            record.update(status="failed", error=f"window {old}: {res['error']}")
            return _finish(paths.record(stamp), record)
    return _finish(paths.record(stamp), run(stamp, record, paths))
