"""Count a search in one streaming pass: dedup by id, every counter updated per tweet.

Memory is bounded except for the counters themselves (and the set of ids seen, which
dedup needs). Rows of tweets.csv, tweet-ids.txt and skipped.csv are streamed to disk.
The counting rules are dnflow.counts' (the ones the README and every page describe);
the authors go to an authors' table (dnflow.userscsv) that writes users.csv.

Speed (docs/performance.md): a big input is shared out between worker processes by byte
ranges (plain files, cut at line boundaries) or whole files (gzip), each counted by the
same pass; their counts merge exactly, in input order, and a worker whose tweets overlap
earlier ones is recounted after them, so the outputs are byte for byte the single-process
ones. With a state folder, a rerun whose inputs only gained new files reads just those.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import inspect
import io
import marshal
import os
import pickle
import shutil
import sys
import traceback
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dnflow import formats, outputs, record, userscsv
from dnflow.counting import COUNTS, Tally, seen_key
from dnflow.rows import TWEETS_CSV_HEADER, csv_line, tweet_row, write_json
from dnflow.sources import archive
from dnflow.sources.archive import Skip, read_json_lines

SKIPPED_SAMPLE = 100
AUTHORS = COUNTS["authors"]  # its parts go to the authors' table (dnflow.userscsv)
# below this many bytes of JSON, starting and merging workers costs more than it saves
PARALLEL_MIN_BYTES = 24 * 2**20

# the streamed outputs (dnflow.outputs), in the order a pass writes them
STREAMED = (outputs.POSTS.name, outputs.IDS.name, outputs.SKIPPED.name)
SKIPPED_HEADER = outputs.SKIPPED.header


# ---------------------------------------------------------------- the pass


class _Streams:
    """tweets.csv rows, tweet ids and skipped rows, appended as a pass goes."""

    def __init__(self, paths: dict[str, Path], header: bool, append: bool = False) -> None:
        self.paths = paths
        mode = "ab" if append else "wb"
        self.tweets = open(paths["tweets.csv"], mode)  # noqa: SIM115
        self.ids = open(paths["tweet-ids.txt"], mode)  # noqa: SIM115
        self.skipped_f = open(paths["skipped.csv"], mode)  # noqa: SIM115
        if header:
            self.tweets.write(csv_line(TWEETS_CSV_HEADER).encode())
            self.skipped([SKIPPED_HEADER])

    def skipped(self, rows: list[tuple]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        self.skipped_f.write(buf.getvalue().encode())

    def close(self) -> None:
        for f in (self.tweets, self.ids, self.skipped_f):
            f.close()


def _new_posts(batch: formats.Batch, seen: set,
               bad: list[tuple[int, str]]) -> tuple[list, list, list]:
    """The records of ``batch``'s posts whose ids are not in ``seen`` (which gains them),
    their ids and their seen keys. A post its format cannot normalize, or whose record
    breaks the record's rules (dnflow.record.problem), goes to ``bad`` as (index, reason)
    and the rest of the batch is counted."""
    post_id, normalize, ctx = batch.post_id, batch.normalize, batch.context
    check = None if batch.typed else record.problem
    recs: list = []
    ids: list = []
    keys: list = []
    for i, raw in enumerate(batch.raws):
        try:
            tid = post_id(raw)
            if tid is None:
                continue
            key = seen_key(tid)
            if key in seen:
                continue
            rec = normalize(raw, ctx)
            why = check(rec) if check is not None else None
        except Exception as e:  # noqa: BLE001 - one bad post never fails a search
            why = f"{type(e).__name__}: {e}"
        if why is not None:
            bad.append((i, why))
            continue
        seen.add(key)
        keys.append(key)
        recs.append(rec)
        ids.append(tid)
    return recs, ids, keys


class _Pass:
    """Reads segments (whole files or byte ranges of plain files) into one Tally."""

    def __init__(self, tally: Tally, streams: _Streams, log: Any) -> None:
        self.tally = tally
        self.streams = streams
        self.log = log  # text file or None: one line per skipped line
        self.stats: dict[int, dict] = {}  # file index → per-file figures
        self.skipped = 0
        self.skipped_sample: list[dict] = []
        self.api_errors = 0
        # the lowest and highest id counted, while they are all ints (see _merge_workers)
        self.span: tuple[int, int] | None = EMPTY_SPAN

    def file_stats(self, index: int, path: Path) -> dict:
        stats = self.stats.get(index)
        if stats is None:
            stats = self.stats[index] = {"path": str(path), "lines": 0, "tweets": 0, "new": 0,
                                         "skipped": 0, "formats": set()}
        return stats

    def run(self, segments: Iterable[tuple]) -> None:
        for seg in segments:
            self.segment(*seg)

    def segment(self, index: int, path: Path, start: int = 0, end: int | None = None) -> None:
        stats = self.file_stats(index, path)
        formats_seen = stats["formats"]
        tally = self.tally
        seen = tally.seen
        tweets_f = self.streams.tweets
        ids_f = self.streams.ids
        skips: list[Skip] = []
        bad: list[tuple[int, str]] = []
        base = None  # line number of the range's first line, worked out if a line is skipped
        ranged = bool(start) or end is not None
        lines = posts = new = 0
        loads = formats.loads()
        reader = (read_json_lines(path, start, end, loads=loads) if ranged
                  else read_json_lines(path, loads=loads))
        for item in reader:
            if item.__class__ is Skip:
                skips.append(item)
                continue
            n, value = item
            lines += 1
            try:
                batch = formats.split(value)
            except formats.NotPosts as e:
                skips.append(Skip(str(path), n, str(e)))
                continue
            if batch.errors:
                self.api_errors += batch.errors
            if batch.format not in formats_seen:
                formats_seen.add(batch.format)
            posts += len(batch.raws)
            recs, ids, keys = _new_posts(batch, seen, bad)
            if bad:
                skips.extend(Skip(str(path), n, f"post {i + 1} of the line: {why}")
                             for i, why in bad)
                bad.clear()
            if ids:
                tally.take(recs)
                if self.span is not None:
                    self.span = _union(self.span, _int_span(keys))
                new += len(ids)
                tweets_f.write(b"".join(map(tweet_row, recs)))
                ids.append("")
                ids_f.write("\n".join(ids).encode())
            if len(skips) >= 1000:
                if ranged and base is None:
                    base = archive.lines_before(path, start)
                self._skipped(stats, skips, base)
        if ranged and skips and base is None:
            base = archive.lines_before(path, start)
        self._skipped(stats, skips, base)
        stats["lines"] += lines
        stats["tweets"] += posts
        stats["new"] += new

    def _skipped(self, stats: dict, skips: list[Skip], base: int | None) -> None:
        """Report ``skips`` (and empty it); ``base``: the line number of a byte range's
        first line (its lines count from 1 at its start)."""
        if not skips:
            return
        if base:
            skips[:] = [Skip(s.file, base + s.line, s.reason) for s in skips]
        stats["skipped"] += len(skips)
        self.skipped += len(skips)
        self.streams.skipped([(s.file, s.line, s.reason) for s in skips])
        room = SKIPPED_SAMPLE - len(self.skipped_sample)
        self.skipped_sample.extend({"file": s.file, "line": s.line, "reason": s.reason}
                                   for s in skips[:max(room, 0)])
        if self.log is not None:
            self.log.write("".join(f"skipped {s.file}:{s.line}: {s.reason}\n" for s in skips))
        skips.clear()

    def result(self) -> dict:
        """What a worker sends back (everything but the streamed rows)."""
        return {"tally": self.tally, "stats": self.stats, "skipped": self.skipped,
                "skipped_sample": self.skipped_sample, "api_errors": self.api_errors}

    def merge(self, res: dict) -> None:
        """Add a later worker's result, whose tweets none of ours are."""
        self.tally.merge(res["tally"])
        for index, theirs in res["stats"].items():
            mine = self.stats.get(index)
            if mine is None:
                self.stats[index] = theirs
            else:
                for key in ("lines", "tweets", "new", "skipped"):
                    mine[key] += theirs[key]
                mine["formats"] |= theirs["formats"]
        self.skipped += res["skipped"]
        room = SKIPPED_SAMPLE - len(self.skipped_sample)
        self.skipped_sample.extend(res["skipped_sample"][:max(room, 0)])
        self.api_errors += res["api_errors"]


# ---------------------------------------------------------------- sharing out the work


def plan(files: list[Path], workers: int, min_bytes: int = PARALLEL_MIN_BYTES) -> list[list]:
    """Cut the inputs into ``workers`` runs of segments of about equal size, in order.

    A segment is (file index, path) or (file index, path, start, end) for a byte range
    of a plain file. Small inputs get one run (process start-up would dominate).
    """
    whole = [[(i, p) for i, p in enumerate(files)]]
    if workers <= 1 or not files:
        return whole
    sizes = [archive.uncompressed_size(p) for p in files]
    total = sum(sizes)
    if total < min_bytes:
        return whole
    runs: list[list] = [[] for _ in range(workers)]
    bounds = [total * (k + 1) // workers for k in range(workers)]  # end of each run
    k = 0
    pos = 0
    for i, (path, size) in enumerate(zip(files, sizes, strict=True)):
        start_pos = pos
        pos += size
        if k < workers - 1 and pos > bounds[k] and archive.splittable(path):
            # cut this file where the runs end (line boundaries), possibly several times
            targets = []
            kk = k
            while kk < workers - 1 and bounds[kk] < pos:
                targets.append(bounds[kk] - start_pos)
                kk += 1
            cuts = archive.split_points(path, targets)
            start = 0
            for cut in cuts:
                runs[k].append((i, path, start, cut))
                start = cut
                k += 1
            runs[k].append((i, path, start, None) if start else (i, path))
        else:
            runs[k].append((i, path))
        while k < workers - 1 and pos >= bounds[k]:
            k += 1
    return [r for r in runs if r]


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _part_paths(outdir: Path, k: int) -> dict[str, Path]:
    return {name: outdir / f".{name}.part{k}.tmp" for name in STREAMED}


def _worker(conn: Any, segments: list, paths: dict[str, Path], log_path: Path) -> None:
    """A forked worker: count its segments, send what it counted, exit.

    Sent in order: ("span", (lowest, highest) id or None), ("users", the authors' part
    packed for userscsv.Table), ("result", everything but the ids and authors),
    ("end", None); or ("error", traceback) at any point. The ids are not sent: the
    parent seldom needs them (see _merge_workers), and then reads them from the
    worker's tweet-ids part.
    """

    def send(kind: str, value: Any) -> None:
        conn.send_bytes(pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))

    try:
        gc.disable()
        with open(log_path, "w", encoding="utf-8") as log:
            streams = _Streams(paths, header=False)
            p = _Pass(Tally(), streams, log)
            p.run(segments)
            streams.close()
        tally = p.tally
        tally.seen = set()  # the parent reads them from the ids file if it needs them
        send("span", p.span)
        users, more = tally.parts["authors"]
        tally.parts["authors"] = AUTHORS.start()
        # the authors' part first, packed as the table takes it: the parent passes it
        # on, and the table's merge (the longest work left) starts while the rest comes
        send("users", userscsv.pack(users, more))
        del users, more
        send("result", p.result())
        send("end", None)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        with contextlib.suppress(BaseException):
            send("error", traceback.format_exc())
    finally:
        conn.close()
        os._exit(0)


# the span of no ids at all: meets no other (ints from seen_key are 1 or more)
EMPTY_SPAN = (1, 0)


def _int_span(keys: list[Any]) -> tuple[int, int] | None:
    """(lowest, highest) of seen_key()s if they are all ints, else None."""
    if not keys:
        return EMPTY_SPAN
    try:
        lo, hi = min(keys), max(keys)
    except TypeError:  # ints and text
        return None
    return (lo, hi) if lo.__class__ is int and hi.__class__ is int else None


def _union(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None or b is None:
        return None
    if a == EMPTY_SPAN or b == EMPTY_SPAN:
        return b if a == EMPTY_SPAN else a
    return min(a[0], b[0]), max(a[1], b[1])


def _overlap(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """Whether two spans of ids may share one (unknown spans may)."""
    return a is None or b is None or not (a[1] < b[0] or b[1] < a[0])


def _receive(proc: Any, recv: Any) -> Iterator[tuple[str, Any]]:
    while True:
        try:
            kind, value = pickle.loads(recv.recv_bytes())
        except EOFError:
            raise RuntimeError(f"summary worker {proc.pid} died") from None
        if kind == "error":
            raise RuntimeError(f"summary worker failed:\n{value}")
        if kind == "end":
            return
        yield kind, value


def _append(dst: Any, src_path: Path) -> None:
    """Append a file's bytes to an open binary file (in the kernel where it can)."""
    dst.flush()
    with open(src_path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        done = 0
        try:
            while done < size:
                n = os.copy_file_range(src.fileno(), dst.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except (AttributeError, OSError):
            src.seek(done)
            dst.seek(0, os.SEEK_END)
            shutil.copyfileobj(src, dst, 1 << 20)
            return
        dst.seek(0, os.SEEK_END)


def _append_parts(streams: _Streams, paths: dict[str, Path]) -> None:
    _append(streams.tweets, paths["tweets.csv"])
    _append(streams.ids, paths["tweet-ids.txt"])
    _append(streams.skipped_f, paths["skipped.csv"])


def _fork_workers(runs: list[list], outdir: Path) -> list[tuple]:
    """A forked worker counting each run (raises ValueError where there is no fork)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    jobs: list[tuple] = []
    try:
        for k, run in enumerate(runs, 1):
            recv, send = ctx.Pipe(duplex=False)
            paths = _part_paths(outdir, k)
            log_path = outdir / f".log.part{k}.tmp"
            proc = ctx.Process(target=_worker, args=(send, run, paths, log_path), daemon=True)
            proc.start()
            send.close()
            jobs.append((proc, recv, run, paths, log_path))
    except BaseException:
        _end_workers(jobs)
        raise
    return jobs


def _end_workers(jobs: list[tuple]) -> None:
    for proc, recv, _, paths, log_path in jobs:
        recv.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
        for path in (*paths.values(), log_path):
            path.unlink(missing_ok=True)


def _hand_over(p: _Pass, authors: userscsv.Authors) -> None:
    """Give the authors' table what ``p`` counted of them since it last did (a part)."""
    users, more = p.tally.parts["authors"]
    if users or more:
        authors.add(users, more)
        p.tally.parts["authors"] = AUTHORS.start()


def _merge_workers(p: _Pass, jobs: list[tuple], authors: userscsv.Authors,
                   load_seen: Any = None) -> None:
    """Merge the workers' results into ``p``, in order, after what ``p`` has counted.

    X ids grow with time and a run is a stretch of the archive: when the span of ids
    ``p`` has seen (``p.span``) and a worker's do not meet, no id needs looking up.
    ``authors``: the authors' table (userscsv), which gets each part in order.
    ``load_seen``: fills ``p.tally.seen`` when one must be after all.
    """
    copier = ThreadPoolExecutor(max_workers=1)  # one thread: the parts are appended in order
    copies: list[Future] = []
    try:
        for k, (proc, recv, run, paths, log_path) in enumerate(jobs, 1):
            last = k == len(jobs)
            messages = _receive(proc, recv)
            disjoint = True
            theirs: set | None = None
            kind, their_span = next(messages)
            assert kind == "span"
            check = _overlap(p.span, their_span)
            if load_seen is not None and (check or not last):
                load_seen()
                load_seen = None
            if check or not last:  # later workers are checked against these too
                theirs = _part_seen(paths)
                disjoint = not check or p.tally.seen.isdisjoint(theirs)
            kind, part = next(messages)
            assert kind == "users"
            if disjoint:
                _hand_over(p, authors)  # ours come first
                authors.add_packed(part)
            del part
            kind, value = next(messages)
            assert kind == "result"
            if disjoint:
                # the kernel copies the worker's rows while this thread merges its counts
                copies.append(copier.submit(_append_parts, p.streams, paths))
                p.merge(value)
                if theirs is not None:
                    p.tally.seen |= theirs
                p.span = _union(p.span, their_span)
                for _ in messages:
                    pass
                if p.log is not None:
                    p.log.write(log_path.read_text(encoding="utf-8"))
            else:
                # tweets seen before this run: recount it after them, as one process would
                for _ in messages:
                    pass
                del theirs, value
                for done in copies:
                    done.result()  # the rows before this run's
                p.run(run)
            proc.join()
        for done in copies:
            done.result()
    finally:
        copier.shutdown(wait=True)


def _count_all(p: _Pass, runs: list[list], outdir: Path, authors: userscsv.Authors) -> None:
    """Count every run: the first here, the others in forked workers, merged in order."""
    if len(runs) == 1:
        p.run(runs[0])
        return
    try:
        jobs = _fork_workers(runs[1:], outdir)
    except ValueError:  # no fork (Windows): one process
        for run in runs:
            p.run(run)
        return
    try:
        p.run(runs[0])
        _merge_workers(p, jobs, authors)
    finally:
        _end_workers(jobs)


# ---------------------------------------------------------------- writing the outputs


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


# ---------------------------------------------------------------- incremental state

STATE_VERSION = 4
_STATE = "state.marshal"
_IDS_BIN = "ids.bin"
_HEAD = "state.head"


def _code_fingerprint() -> str:
    """Counting code changes invalidate a saved state (its counts were made by old rules):
    the pass's modules and every registered count's and format's, plugins' included."""
    h = hashlib.blake2b(f"{STATE_VERSION} {sys.version} {sys.byteorder}".encode(),
                        digest_size=16)
    here = Path(__file__).resolve().parent
    files = {here / rel for rel in ("summary.py", "record.py", "rows.py", "userscsv.py",
                                    "counting/__init__.py", "formats/__init__.py",
                                    "sources/archive.py")}
    for obj in (*COUNTS, *formats.FORMATS):
        with contextlib.suppress(TypeError, OSError):
            files.add(Path(inspect.getfile(type(obj))).resolve())
    for path in sorted(files):
        with contextlib.suppress(OSError):
            h.update(path.read_bytes())
    return h.hexdigest()


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


def _matches(state: dict, files: list[Path]) -> bool:
    """Whether a saved state was made by this code from ``files`` minus new ones at the end."""
    if state.get("code") != _code_fingerprint():
        return False
    applied = state["applied"]
    return len(applied) <= len(files) and all(
        tuple(key) == _file_key(path) for key, path in zip(applied, files, strict=False))


def _load_head(state_dir: Path, files: list[Path]) -> dict | None:
    """The few bytes of a state that say which files are new, before the rest is read."""
    try:
        head = marshal.loads((state_dir / _HEAD).read_bytes())
        return head if _matches(head, files) else None
    except Exception:  # noqa: BLE001 - no head: the state is read the ordinary way
        return None


def _load_state(state_dir: Path, files: list[Path], seen: bool = True) -> dict | None:
    """The saved state if ``files`` are its files plus new ones at the end, else None.

    ``seen=False`` leaves the ids out of ``tally.seen`` (see :func:`_read_seen`): an
    update whose ids are all newer never needs them.
    """
    try:
        state = marshal.loads((state_dir / _STATE).read_bytes())  # load(file): 3x slower
        if not _matches(state, files):
            return None
        # streamed files: cut what a failed run appended after the state was saved
        for name, length in state["lengths"].items():
            path = state_dir / name
            if path.stat().st_size < length:
                return None
            if path.stat().st_size > length:
                os.truncate(path, length)
        tally = state["tally"] = Tally.from_state(state["tally"])
        with open(state_dir / "tweet-ids.txt", "rb") as f:  # a cheap count of the ids
            if f.read().count(b"\n") != tally.posts:
                return None
        if state["ids_all_int"] and (state["ids_bytes"] != 8 * tally.posts or (
                state_dir / _IDS_BIN).stat().st_size < state["ids_bytes"]):
            return None
        if seen:
            tally.seen = _read_seen(state_dir, state)
            if len(tally.seen) != tally.posts:
                return None
        return state
    except Exception:  # noqa: BLE001 - any damage means: count from scratch
        return None


def _part_seen(paths: dict[str, Path]) -> set:
    """seen_key() of every id a worker counted, from its tweet-ids part."""
    text = paths["tweet-ids.txt"].read_bytes().decode("utf-8").split("\n")
    text.pop()  # the text after the last newline: empty
    return set(map(seen_key, text))


def _read_seen(state_dir: Path, state: dict) -> set:
    """seen_key() of every id a state has counted: ints for canonical decimal ids (all of
    them, usually), which ids.bin holds as 8-byte integers (a third of the time of
    reading the text)."""
    if state["ids_all_int"]:
        ids = array("q")
        with open(state_dir / _IDS_BIN, "rb") as f:
            ids.frombytes(f.read(state["ids_bytes"]))
        return set(ids)
    text = (state_dir / "tweet-ids.txt").read_bytes().decode("utf-8").split("\n")
    text.pop()  # the text after the last newline: empty
    return set(map(seen_key, text))


def _save_ids(state_dir: Path, prev: dict | None, first_span: tuple[int, int] | None,
              tweets: int) -> tuple[int, bool, tuple[int, int] | None]:
    """Append this pass's ids (read back from tweet-ids.txt) to ids.bin.

    Returns ids.bin's length, whether it holds every id, and the lowest and highest id.
    Only what was added is read and written, so a small update costs little however big
    the search; ids that do not fit (not all canonical, or too big) leave no ids.bin.
    ``first_span``: the span of a pass without a state before it (its ids are all ints
    when it has one).
    """
    path = state_dir / _IDS_BIN
    span: tuple[int, int] | None
    if prev is None:
        old_text = old_bytes = 0
        span, all_int = first_span, first_span is not None or not tweets
    elif prev["ids_all_int"]:
        old_text, old_bytes = prev["lengths"]["tweet-ids.txt"], prev["ids_bytes"]
        span, all_int = prev["id_span"], True
    else:
        all_int = False  # the ids before this pass are not all in ids.bin
    if all_int:
        with open(state_dir / "tweet-ids.txt", "rb") as f:
            f.seek(old_text)
            raw = f.read()
        try:
            new = array("q", map(int, raw.split(b"\n")[:-1]))
        except (OverflowError, ValueError):
            all_int = False
        if all_int and new and prev is not None:
            # ids from the text are ints only where seen_key makes them ints: canonical
            lo, hi = min(new), max(new)
            all_int = lo > 0 and b"\n".join(map(b"%d".__mod__, new)) + b"\n" == raw
            span = _union(span or EMPTY_SPAN, (lo, hi))
    if not all_int:
        path.unlink(missing_ok=True)
        return 0, False, None
    with open(path, "r+b" if old_bytes else "wb") as f:
        f.truncate(old_bytes)  # what a failed run may have left after the saved length
        f.seek(old_bytes)
        f.write(new.tobytes())
    return old_bytes + len(new) * new.itemsize, True, span


def _save_state(state_dir: Path, p: _Pass, files: list[Path],
                first_span: tuple[int, int] | None, prev: dict | None,
                users_token: str) -> Future:
    """marshal, not pickle: 5x faster to write and faster to read for these builtin types
    (a state is a cache for one Python version: the fingerprint includes it).

    The files are written by a thread (the kernel's copy, beside the other outputs);
    the returned future says when and raises what went wrong.
    """
    tally = p.tally
    seen, tally.seen = tally.seen, set()  # tweet-ids.txt and ids.bin hold them
    try:
        ids_bytes, ids_all_int, span = _save_ids(state_dir, prev, first_span, tally.posts)
        head = {"version": STATE_VERSION, "code": _code_fingerprint(),
                "applied": [_file_key(f) for f in files], "users_token": users_token}
        state = {
            **head,
            # the authors are the authors' table's, saved beside the state
            "tally": tally.to_state(leave_out=(AUTHORS.name,)),
            "ids_all_int": ids_all_int,
            "ids_bytes": ids_bytes,
            "id_span": span,
            "users_token": users_token,
            "stats": p.stats,
            "skipped": p.skipped,
            "skipped_sample": p.skipped_sample,
            "api_errors": p.api_errors,
            "lengths": {name: (state_dir / name).stat().st_size for name in STREAMED},
        }
        data = [(name, marshal.dumps(value)) for name, value in
                ((_STATE, state), (_HEAD, head))]  # the head last: it is only a hint
    finally:
        tally.seen = seen
    writer = ThreadPoolExecutor(max_workers=1)
    try:
        return writer.submit(_write_files, state_dir, data)
    finally:
        writer.shutdown(wait=False)  # the write goes on; the future tells its end


def _write_files(folder: Path, files: list[tuple[str, bytes]]) -> None:
    for name, data in files:
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)


def _publish(src: Path, dst: Path) -> None:
    """Put a state file at an output path: a hard link (free) or else a copy."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


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
) -> dict[str, Any]:
    """Read every file of a search once and write all of data/<slug>/summary/.

    ``meta`` (slug, title, description, source, query, runs, generated…) is copied into
    summary.json. ``log`` (a text file) gets one line per skipped line and per file.
    ``workers``: processes to share a big input between (default: the usable CPUs).
    ``state_dir``: where to keep what a later run needs to read only new files (see
    docs/performance.md); outside Snakemake's outputs, which it deletes before a job.
    Returns the summary.json content.
    """
    # records are trees (no cycles), so reference counting frees them all; the cyclic GC
    # would only rescan the growing counters thousands of times (measured: 2.5x slower),
    # and a state's load and the outputs' sorts millions of objects more
    gc_was_enabled = gc.isenabled()
    gc.disable()
    files = [Path(f) for f in files]
    workers = _default_workers() if workers is None else workers
    # a big search (by its inputs, counted before or not) has a big users.csv to sort
    big = workers > 1 and sum(map(archive.uncompressed_size, files)) >= min_parallel_bytes
    authors = userscsv.Writer() if big and hasattr(os, "fork") else userscsv.Table()
    try:
        return _summarize(files, outdir, meta, log, workers, state_dir, authors,
                          min_parallel_bytes)
    finally:
        authors.close()
        if gc_was_enabled:
            gc.enable()


def _summarize(files: list[Path], outdir: str | Path, meta: dict[str, Any] | None,
               log: Any, workers: int, state_dir: str | Path | None,
               authors: userscsv.Authors, min_parallel_bytes: int) -> dict[str, Any]:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    state = None
    early: list[tuple] | None = None  # a worker counting the new files while the state loads
    if state_dir is not None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        helper = isinstance(authors, userscsv.Writer)
        head = _load_head(state_dir, files) if helper else None
        if head is not None:
            authors.load(state_dir, head["users_token"])  # in the helper, meanwhile
            if len(head["applied"]) < len(files):
                known = len(head["applied"])
                with contextlib.suppress(ValueError):  # no fork: the ordinary way
                    early = _fork_workers(
                        [[(i, f) for i, f in enumerate(files[known:], known)]], state_dir)
        state = _load_state(state_dir, files, seen=early is None)
        if state is not None:
            if head is None or head["users_token"] != state["users_token"]:
                authors.load(state_dir, state["users_token"])
            if not authors.loaded():
                state = None  # its authors are lost: count from scratch
        if early is not None and (state is None or len(state["applied"]) != known):
            _end_workers(early)  # the head was stale: count what the state says is new
            early = None
            if state is not None:
                state["tally"].seen = _read_seen(state_dir, state)
        if state is None:
            authors.reset()
            for name in (_STATE, _HEAD):  # no half-valid state survives
                (state_dir / name).unlink(missing_ok=True)
        stream_dir = state_dir
        stream_paths = {name: state_dir / name for name in STREAMED}
    else:
        stream_dir = outdir
        stream_paths = {name: outdir / f".{name}.tmp" for name in STREAMED}
    if state is not None:
        # outputs are hard links to the state's files: ours go (they are linked again at
        # the end). A page's downloads link them too, and get the new rows appended in
        # place just before the page is made again: a copy first would cost as much as
        # the whole search at every update (1.1 s of 1.9 for the 1M-tweet benchmark)
        for name in STREAMED:
            (outdir / name).unlink(missing_ok=True)
    elif state_dir is not None:
        for name in STREAMED:  # about to be rewritten from the start: same as above
            (outdir / name).unlink(missing_ok=True)
            (state_dir / name).unlink(missing_ok=True)

    done = len(state["applied"]) if state else 0
    streams = _Streams(stream_paths, header=state is None, append=state is not None)
    p = _Pass(state["tally"] if state else Tally(), streams, log)
    if state:
        p.stats = state["stats"]
        p.skipped, p.skipped_sample = state["skipped"], state["skipped_sample"]
        p.api_errors = state["api_errors"]
        p.span = (state["id_span"] or EMPTY_SPAN) if state["ids_all_int"] else None
        if log is not None:
            log.write(f"incremental: {done} files already counted, "
                      f"{len(files) - done} new"
                      f"{' (counted while the state loaded)' if early else ''}\n")
    new_files = files[done:]
    try:
        if early is not None:
            # new tweets are newer than the counted ones, usually: then ids need no lookup
            tally = p.tally
            _merge_workers(p, early, authors,
                           lambda: tally.seen.update(_read_seen(state_dir, state)))
        else:
            runs = plan(new_files, workers, min_parallel_bytes)
            runs = [[(seg[0] + done, *seg[1:]) for seg in run] for run in runs]
            _count_all(p, runs, stream_dir, authors)
        _hand_over(p, authors)
    except BaseException:
        streams.close()
        if state_dir is None:
            for path in stream_paths.values():
                path.unlink(missing_ok=True)
        raise
    finally:
        if early is not None:
            _end_workers(early)
    # users.csv's last writing (see dnflow.userscsv) and this one's, kept by the state
    tokens = ((state or {}).get("users_token"), os.urandom(8).hex())
    # in a helper, the authors' merge and sort run beside the state and the other outputs
    authors.finish(outdir / "users.csv", state_dir, tokens if state_dir is not None else None)
    # a first state's ids: all ints (canonical) or not, and their span
    first_span = p.span if state_dir is not None and not state else None
    p.tally.seen = set()  # no longer needed (a state keeps its ids in tweet-ids.txt)
    streams.close()
    if state_dir is not None:
        saving = _save_state(state_dir, p, files, first_span, state, tokens[1])
        for name in STREAMED:
            _publish(state_dir / name, outdir / name)
    else:
        saving = None
        for name, path in stream_paths.items():
            os.replace(path, outdir / name)
    sources = _sources(p.stats, files)
    if log is not None:
        for s in sources[done:]:
            log.write(f"read {s['path']}: {s['lines']} lines, {s['tweets']} tweets "
                      f"({s['new']} new), {s['skipped']} skipped\n")

    def users_written() -> int:
        n, changed = authors.wait()
        if log is not None and changed is not None:
            log.write(f"users.csv spliced: {changed} authors changed\n")
        if state_dir is not None:
            _publish(state_dir / "users.csv", outdir / "users.csv")
        return n

    summary = _write_counts(p.tally, outdir, meta or {}, files, sources, p.skipped,
                            p.skipped_sample, p.api_errors, users_written)
    if saving is not None:
        saving.result()
        userscsv.drop_tables(state_dir, tokens[1])  # the state names this one
    return summary


def _write_counts(tally: Tally, outdir: Path, meta: dict, files: list[Path],
                  sources: list[dict], skipped: int, skipped_sample: list[dict],
                  api_errors: int, users_written: Any) -> dict[str, Any]:
    """Write every count's files and summary.json (the counts in registry order, each
    part dropped once written). ``users_written`` waits for users.csv (the authors'
    table writes it) and says how many authors there are."""
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
    for key in ("every",):
        if key in meta:
            summary[key] = meta[key]
    ctx: dict[str, Any] = {"summary": summary, "users_written": users_written}
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
    _Streams(paths, header=True).close()
    no_authors = userscsv.Table()
    no_authors.finish(outdir / "users.csv")
    summary = _write_counts(Tally(), outdir, meta, [Path(f) for f in files], [], 0, [], 0,
                            lambda: no_authors.wait()[0])
    summary["status"] = "failed"
    summary["error"] = error
    write_json(outdir / "summary.json", summary)
    return summary
