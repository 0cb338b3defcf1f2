"""Count a search in one streaming pass: dedup by id, every count updated per post.

The counting rules are the count registry's (dnflow.counting); the authors go to an
authors' table (dnflow.userscsv) that writes users.csv. Rows of tweets.csv,
tweet-ids.txt and skipped.csv are streamed to disk. This module runs a summary: the
pass is dnflow.summary.passes, sharing a big input between processes is
dnflow.summary.parallel, and the state an update starts from is dnflow.summary.state
(docs/performance.md says why each is as it is).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dnflow import deletions, optouts, spill, userscsv
from dnflow.counting import Tally
from dnflow.rows import write_json
from dnflow.sources import archive
from dnflow.summary import state as st
from dnflow.summary.parallel import (
    PARALLEL_MIN_BYTES,
    count_all,
    default_workers,
    end_workers,
    fork_workers,
    hand_over,
    merge_workers,
    plan,
)
from dnflow.summary.passes import EMPTY_SPAN, STREAMED, Pass, Streams
from dnflow.summary.progress import Progress

__all__ = ["PARALLEL_MIN_BYTES", "plan", "summarize", "write_failed"]

# what summary.json repeats of a search's meta (rules/common.smk: search_meta) beside
# slug, title, description, source and query: keys only some sources give
SEARCH_FACTS = ("every", "instances", "hashtags", "include_opted_out")


def _mtime_iso(paths: Iterable[Path]) -> str | None:
    times = [p.stat().st_mtime for p in paths if p.exists()]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sources(stats: dict[int, dict], files: list[Path]) -> list[dict]:
    out = []
    for i, path in enumerate(files):
        s = dict(stats.get(i) or {"path": str(path), "lines": 0, "tweets": 0, "new": 0,
                                  "skipped": 0, "formats": set()})
        s["formats"] = sorted(s["formats"])
        out.append(s)
    return out



# ---------------------------------------------------------------- the entry point


def summarize(
    files: Iterable[str | Path],
    outdir: str | Path,
    meta: dict[str, Any] | None = None,
    log=None,
    *,
    workers: int | None = None,
    state_dir: str | Path | None = None,
    min_parallel_bytes: int = PARALLEL_MIN_BYTES,
    spill_min_bytes: int = spill.SPILL_MIN_BYTES,
    spill_keys: int = spill.SPILL_KEYS,
    removing: deletions.Deletions | None = None,
) -> dict[str, Any]:
    """Read every file of a search once and write all of data/<slug>/summary/.

    ``meta`` (slug, title, description, source, query, runs, generated…) is copied into
    summary.json. ``log`` (a text file) gets one line per skipped line and per file.
    ``workers``: processes to share a big input between (default: the usable CPUs).
    ``state_dir``: where to keep what a later run needs to read only new files (see
    docs/performance.md); outside Snakemake's outputs, which it deletes before a job.
    A search of ``spill_min_bytes`` of input or more is counted by runs on disk, each
    process holding at most about ``spill_keys`` keys (dnflow.spill), and keeps no state.
    ``removing``: the search's deletions (dnflow.deletions): their posts are not counted.
    Returns the summary.json content.
    """
    # records are trees (no cycles), so reference counting frees them all; the cyclic GC
    # would only rescan the growing counters thousands of times (measured: 2.5x slower),
    # and a state's load and the outputs' sorts millions of objects more
    gc_was_enabled = gc.isenabled()
    gc.disable()
    optouts.set_policy(meta)  # before the workers fork: they count under it too
    deletions.activate(removing)  # the same (and part of a state's fingerprint)
    if log is not None and removing is not None:
        log.writelines(f"deletions: {why} (line skipped)\n" for why in removing.problems)
    files = [Path(f) for f in files]
    workers = default_workers() if workers is None else workers
    size = sum(map(archive.uncompressed_size, files))
    spiller = None
    if size >= spill_min_bytes:
        if state_dir is not None:  # a state counted in memory would not match
            for name in (st.STATE, st.HEAD):
                (Path(state_dir) / name).unlink(missing_ok=True)
        spiller = spill.Spiller(Path(outdir) / f".spill-{os.getpid()}")
    elif state_dir is not None:
        st.drop_spilled(Path(state_dir))
    # a big search (by its inputs, counted before or not) has a big users.csv to sort
    big = workers > 1 and size >= min_parallel_bytes and spiller is None
    authors = userscsv.Writer(workers - 1) if big and hasattr(os, "fork") else userscsv.Table()
    try:
        return _summarize(files, outdir, meta, log, workers, state_dir, authors,
                          min_parallel_bytes, spiller, spill_keys)
    finally:
        authors.close()
        if spiller is not None:
            spill.remove_folder(spiller.folder)
        if gc_was_enabled:
            gc.enable()


def _summarize(files: list[Path], outdir: str | Path, meta: dict[str, Any] | None,
               log: Any, workers: int, state_dir: str | Path | None,
               authors: userscsv.Authors, min_parallel_bytes: int,
               spiller: spill.Spiller | None, spill_keys: int) -> dict[str, Any]:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    keys = st.file_keys(files)
    state = early = None
    if state_dir is not None:
        state_dir = Path(state_dir)
        if spiller is None:
            state, early = _open_state(state_dir, files, authors)
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            state = st.load_spilled(state_dir, files)
            if state is None:
                st.drop_spilled(state_dir)
        stream_dir = state_dir
        stream_paths = {name: state_dir / name for name in STREAMED}
    else:
        stream_dir = outdir
        stream_paths = {name: outdir / f".{name}.tmp" for name in STREAMED}
    if state_dir is not None:
        for name in STREAMED:
            # outputs are hard links to the state's files (linked again at the end), which
            # an update appends to and a count from scratch rewrites: ours go first
            (outdir / name).unlink(missing_ok=True)
            if state is None:
                (state_dir / name).unlink(missing_ok=True)

    done = len(state["applied"]) if state else 0
    streams = Streams(stream_paths, header=state is None, append=state is not None)
    p = _pass_from(state, streams, log)
    p.spiller, p.cap = spiller, spill_keys
    if state and log is not None:
        log.write(f"incremental: {done} files already counted, {len(files) - done} new"
                  f"{' (counted while the state loaded)' if early else ''}\n")
    todo = sum(f.stat().st_size for f in files[done:])
    try:
        with Progress(lambda: p.tally.posts, todo, log):
            if early is not None:
                # new posts are newer than the counted ones, usually: then ids need no lookup
                tally = p.tally
                merge_workers(p, early, authors,
                              lambda: tally.seen.update(st.read_seen(state_dir, state)))
            else:
                runs = plan(files[done:], workers, min_parallel_bytes)
                runs = [[(seg[0] + done, *seg[1:]) for seg in run] for run in runs]
                count_all(p, runs, stream_dir, authors)
        hand_over(p, authors)
    except BaseException:
        streams.close()
        if state_dir is None:
            for path in stream_paths.values():
                path.unlink(missing_ok=True)
        raise
    finally:
        if early is not None:
            end_workers(early)
    return _finish(p, streams, files, keys, outdir, meta, log, state_dir, state,
                   stream_paths, authors, done)


def _open_state(state_dir: Path, files: list[Path],
                authors: userscsv.Authors) -> tuple[dict | None, list[tuple] | None]:
    """The saved state if ``files`` extend its files (else None, and no half-valid state
    survives), and the worker already counting the new files while it loaded, if any."""
    state_dir.mkdir(parents=True, exist_ok=True)
    early: list[tuple] | None = None
    helper = isinstance(authors, userscsv.Writer)
    head = st.load_head(state_dir, files) if helper else None
    if head is not None:
        authors.load(state_dir, head["users_token"])  # in the helper, meanwhile
        if len(head["applied"]) < len(files):
            known = len(head["applied"])
            with contextlib.suppress(ValueError):  # no fork: the ordinary way
                early = fork_workers(
                    [[(i, f) for i, f in enumerate(files[known:], known)]], state_dir,
                    authors=authors)
    state = st.load_state(state_dir, files, seen=early is None)
    if state is not None:
        if head is None or head["users_token"] != state["users_token"]:
            authors.load(state_dir, state["users_token"])
        if not authors.loaded():
            state = None  # its authors are lost: count from scratch
    if early is not None and (state is None or len(state["applied"]) != known):
        end_workers(early)  # the head was stale: count what the state says is new
        early = None
        if state is not None:
            state["tally"].seen = st.read_seen(state_dir, state)
    if state is None:
        authors.reset()
        for name in (st.STATE, st.HEAD):
            (state_dir / name).unlink(missing_ok=True)
    return state, early


def _pass_from(state: dict | None, streams: Streams, log: Any) -> Pass:
    """A pass that goes on from ``state`` (or starts afresh)."""
    if state is None:
        return Pass(Tally(), streams, log)
    p = Pass(state["tally"], streams, log)
    p.stats = state["stats"]
    p.skipped, p.skipped_sample = state["skipped"], state["skipped_sample"]
    p.api_errors = state["api_errors"]
    p.left_out = set(state.get("left_out") or ())
    p.removed = set(state.get("removed") or ())
    p.span = (state["id_span"] or EMPTY_SPAN) if state["ids_all_int"] else None
    return p


def _finish(p: Pass, streams: Streams, files: list[Path], keys: list[tuple[str, int, int]],
            outdir: Path, meta: dict[str, Any] | None, log: Any, state_dir: Path | None,
            state: dict | None, stream_paths: dict[str, Path], authors: userscsv.Authors,
            done: int) -> dict[str, Any]:
    """users.csv, the state and every other output, once every post is counted.
    ``keys``: the files' sizes and times before they were read (st.file_keys)."""
    # users.csv's last writing (see dnflow.userscsv) and this one's, kept by the state
    tokens = ((state or {}).get("users_token"), os.urandom(8).hex())
    spilled = seen_run = None
    if p.spiller is not None:
        # the authors too: users.csv is theirs to write
        seen_run = p.tally.settle(p.spiller, keep_seen=state_dir is not None)
        spilled = {c.name: p.tally.parts[c.name].run for c in p.tally.counts if c.spills}
    else:
        # in a helper, the authors' merge and sort run beside the state and the rest
        authors.finish(outdir / "users.csv", state_dir,
                       tokens if state_dir is not None else None)
    # a first state's ids: all ints (canonical) or not, and their span
    first_span = p.span if state_dir is not None and not state else None
    p.tally.seen = set()  # no longer needed (a state keeps its ids in tweet-ids.txt)
    streams.close()
    pending = saving = None
    if state_dir is not None:
        if spilled is not None:
            pending = st.spilled_state(p, keys, state)  # saved once its runs are written
        else:
            saving = st.save_state(state_dir, p, keys, first_span, state, tokens[1])
        for name in STREAMED:
            st.publish(state_dir / name, outdir / name)
    else:
        for name, path in stream_paths.items():
            os.replace(path, outdir / name)
    sources = _sources(p.stats, files)
    if log is not None:
        for s in sources[done:]:
            log.write(f"read {s['path']}: {s['lines']} lines, {s['tweets']} posts "
                      f"({s['new']} new), {s['skipped']} skipped\n")

    def users_written() -> int:
        n, changed = authors.wait()
        if log is not None and changed is not None:
            log.write(f"users.csv spliced: {changed} authors changed\n")
        if state_dir is not None:
            st.publish(state_dir / "users.csv", outdir / "users.csv")
        return n

    # a file that changed while it was read (an archive still being written): what was
    # read is counted, and the next run counts it again (its state no longer matches)
    changed = [str(f) for f, k, now in zip(files, keys, st.file_keys(files), strict=True)
               if k != now]
    if changed and log is not None:
        log.write(f"changed while read, counted again by the next run: {', '.join(changed)}\n")
    # which posts went (private, beside the summary): the page's filtered raw copies
    deletions.write_removed(outdir.parent / deletions.REMOVED_IDS, p.removed)
    summary = _write_counts(p.tally, outdir, meta or {}, files, sources, p.skipped,
                            p.skipped_sample, p.api_errors, users_written,
                            left_out=len(p.left_out), changed=changed,
                            extra=deletions.summary_fields(len(p.removed)))
    if saving is not None:
        saving.result()
        userscsv.drop_tables(state_dir, tokens[1])  # the state names this one
    if pending is not None:
        st.save_spilled(state_dir, pending, spilled, seen_run, tokens[1], state)
    return summary


def _write_counts(tally: Tally, outdir: Path, meta: dict, files: list[Path],
                  sources: list[dict], skipped: int, skipped_sample: list[dict],
                  api_errors: int, users_written: Any, left_out: int = 0,
                  changed: list[str] | None = None,
                  extra: dict | None = None) -> dict[str, Any]:
    """Write every count's files and summary.json (the counts in registry order, each
    part dropped once written). ``users_written`` waits for users.csv (the authors'
    table writes it) and says how many authors there are; ``changed``: input files that
    changed while they were read."""
    parts = tally.parts
    summary: dict[str, Any] = {
        "slug": meta.get("slug"),
        "title": meta.get("title") or meta.get("slug"),
        "description": meta.get("description"),
        "source": meta.get("source"),
        "query": meta.get("query"),
        "status": "ok",
        "error": None,
        "skipped": skipped,
        "skipped_sample": skipped_sample,
        "api_errors": api_errors,
        "sources": sources,
        "counts": {},
        "runs": meta.get("runs") or [],
    }
    for c in tally.counts:
        summary.update(c.summary(parts[c.name]))
        summary["counts"].update(c.distinct(parts[c.name]))
    # the data's own time, not the clock: unchanged inputs give identical outputs
    summary["generated"] = (meta.get("generated") or _mtime_iso(files)
                            or summary.get("last"))
    for key in SEARCH_FACTS:
        if key in meta:
            summary[key] = meta[key]
    if left_out:  # posts of accounts that opted out (dnflow.optouts), never counted
        summary["left_out"] = left_out
    if changed:
        summary["changed_while_read"] = changed
    summary.update(extra or {})  # deletions' figures (dnflow.deletions), when listed
    ctx: dict[str, Any] = {"summary": summary, "users_written": users_written}
    for c in tally.counts:
        c.context(parts[c.name], ctx)
    for c in tally.counts:
        c.write(parts[c.name], outdir, ctx)
        parts[c.name] = None  # its memory goes back before the next one writes
    write_json(outdir / "summary.json", summary)
    return summary


def write_failed(outdir: str | Path, meta: dict[str, Any], error: str,
                 files: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Empty outputs and a summary that says why, so the page and the site still build.
    ``generated`` is still the inputs' time, so the feed and the index can date it."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {name: outdir / name for name in STREAMED}
    for path in paths.values():
        path.unlink(missing_ok=True)  # it may be a link to a state file: never write through
    Streams(paths, header=True).close()
    no_authors = userscsv.Table()
    no_authors.finish(outdir / "users.csv")
    summary = _write_counts(Tally(), outdir, meta, [Path(f) for f in files], [], 0, [], 0,
                            lambda: no_authors.wait()[0])
    summary["status"] = "failed"
    summary["error"] = error
    write_json(outdir / "summary.json", summary)
    return summary
