"""Sharing a big input between processes: the plan, the forked workers, the merge.

The plan cuts the inputs into runs of about equal size (byte ranges of plain files, cut
at line boundaries, or whole gzip files); the first run is counted here, each other one
by a forked worker, and the results merge in input order, so the outputs are byte for
byte the single-process ones. A worker whose ids meet earlier ones is recounted after
them, as one process would have counted it.

The pipe protocol (one owner: :func:`_worker` sends, :func:`merge_workers` receives),
each message a pickled ``(kind, value)``, in this order:

1. ``("span", (lowest, highest) id or None)``: the worker's id span (passes.int_span);
2. ``("users", None)``: its authors' part is in its part file ``authors``, packed as
   userscsv.pack makes it (the table reads it there: no copy through this process);
3. ``("result", dict)``: ``Pass.result()``, its tally without ids and authors;
4. ``("end", None)``;

or ``("error", traceback text)`` at any point. Its rows, ids and skips are files
(``_part_paths``), appended to the parent's by a kernel copy.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import shutil
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dnflow import spill, userscsv
from dnflow.children import die_with_parent
from dnflow.counting import Tally, seen_key
from dnflow.sources import archive
from dnflow.summary.passes import (
    AUTHORS,
    STREAMED,
    Pass,
    Streams,
    overlap,
    union,
)

# below this many bytes of JSON, starting and merging workers costs more than it saves
PARALLEL_MIN_BYTES = 24 * 2**20
# worker k's first-seen numbers start at k << ORDER_BITS (a spilling count's items)
ORDER_BITS = 40


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


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _part_paths(outdir: Path, k: int) -> dict[str, Path]:
    paths = {name: outdir / f".{name}.part{k}.tmp" for name in STREAMED}
    # a name of its own: the users.csv helper may still read a killed worker's file
    paths["authors"] = outdir / f".authors.part{k}.{os.urandom(6).hex()}.tmp"
    return paths


def _worker(conn: Any, segments: list, paths: dict[str, Path], log_path: Path,
            spilling: tuple[Path, int, int] | None, parent: int,
            notify: Callable[[Path], None] | None) -> None:
    """A forked worker: count its segments, send what it counted, exit.

    Sent in order: ("span", (lowest, highest) id or None), ("users", None) once the
    authors' part is in its file, ("result", everything but the ids and authors),
    ("end", None); or ("error", traceback) at any point. The ids are not sent: the
    parent seldom needs them (see merge_workers), and then reads them from the
    worker's tweet-ids part. ``spilling``: (its spill folder, cap, its order) when the
    search is counted by runs: then it spills all it holds at the end and sends its
    runs (in the tally) with an empty authors' part. ``notify``: tells the users.csv
    helper that the authors' part is written (userscsv.Writer.notifier), if it can.
    """

    def send(kind: str, value: Any) -> None:
        conn.send_bytes(pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))

    die_with_parent(parent)
    try:
        gc.disable()
        with open(log_path, "w", encoding="utf-8") as log:
            streams = Streams(paths, header=False)
            p = Pass(Tally(), streams, log)
            if spilling is not None:
                folder, p.cap, p.tally.order = spilling
                p.spiller = spill.Spiller(folder)
            p.run(segments)
            streams.close()
        tally = p.tally
        if p.spiller is not None:
            tally.spill(p.spiller)
        tally.seen = set()  # the parent reads them from the ids file if it needs them
        send("span", p.span)
        users, more = tally.parts["authors"]
        tally.parts["authors"] = AUTHORS.start()
        # the authors' part first, packed as the table takes it: the table reads it (in
        # the users.csv helper, mostly), and its merge (the longest work left) starts
        # while the rest comes
        paths["authors"].write_bytes(userscsv.pack(users, more))
        del users, more
        if notify is not None:
            notify(paths["authors"])
        send("users", None)
        send("result", p.result())
        send("end", None)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        with contextlib.suppress(BaseException):
            send("error", traceback.format_exc())
    finally:
        conn.close()
        os._exit(0)



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


def _append_parts(streams: Streams, paths: dict[str, Path]) -> None:
    _append(streams.tweets, paths["tweets.csv"])
    _append(streams.ids, paths["tweet-ids.txt"])
    _append(streams.skipped_f, paths["skipped.csv"])


def fork_workers(runs: list[list], outdir: Path, spiller: spill.Spiller | None = None,
                 cap: int = 0, order: int = 0,
                 authors: userscsv.Authors | None = None) -> list[tuple]:
    """A forked worker counting each run (raises ValueError where there is no fork);
    with ``spiller``, each spills into a folder of its own in it. ``authors``: the
    table that gets their authors' parts (a worker tells a helper when its part is
    written)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    jobs: list[tuple] = []
    try:
        for k, run in enumerate(runs, 1):
            recv, send = ctx.Pipe(duplex=False)
            paths = _part_paths(outdir, k)
            log_path = outdir / f".log.part{k}.tmp"
            spilling = (None if spiller is None else
                        (spiller.folder / f"worker{k}", cap, order + (k << ORDER_BITS)))
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(send, run, paths, log_path, spilling, os.getpid(),
                                     None if authors is None else authors.notifier(k)))
            proc.start()
            send.close()
            jobs.append((proc, recv, run, paths, log_path))
    except BaseException:
        end_workers(jobs)
        raise
    return jobs


def end_workers(jobs: list[tuple]) -> None:
    for proc, recv, _, paths, log_path in jobs:
        recv.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
        for path in (*paths.values(), log_path):
            path.unlink(missing_ok=True)


def hand_over(p: Pass, authors: userscsv.Authors) -> None:
    """Give the authors' table what ``p`` counted of them since it last did (a part);
    a spilling pass keeps its authors (they go to runs)."""
    if p.spiller is not None:
        return
    users, more = p.tally.parts["authors"]
    if users or more:
        authors.add(users, more)
        p.tally.parts["authors"] = AUTHORS.start()


def merge_workers(p: Pass, jobs: list[tuple], authors: userscsv.Authors,
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
            check = overlap(p.span, their_span)
            if p.spiller is not None:
                p.tally.spill(p.spiller)  # ours first, in the runs' order too
            elif load_seen is not None and (check or not last):
                load_seen()
                load_seen = None
            if p.spiller is None and (check or not last):  # later ones are checked too
                theirs = _part_seen(paths)
                disjoint = not check or p.tally.seen.isdisjoint(theirs)
            if p.spiller is None and disjoint:  # final now (runs are checked after)
                # the kernel copies the worker's rows while its other messages come
                copies.append(copier.submit(_append_parts, p.streams, paths))
            kind, _ = next(messages)
            assert kind == "users"
            if disjoint:
                hand_over(p, authors)  # ours come first
                authors.add_file(paths["authors"])
            else:
                authors.forget(paths["authors"])
            kind, value = next(messages)
            assert kind == "result"
            if p.spiller is not None and check:
                disjoint = not spill.meet(p.tally.seen_runs, value["tally"].seen_runs)
            if not disjoint and p.spiller is not None:
                for spilled in (*value["tally"].runs.values(), value["tally"].seen_runs.runs):
                    for r in spilled:
                        r.drop()
            if disjoint:
                if p.spiller is not None:  # not copied above
                    copies.append(copier.submit(_append_parts, p.streams, paths))
                p.merge(value)
                if theirs is not None:
                    p.tally.seen |= theirs
                p.span = union(p.span, their_span)
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


def count_all(p: Pass, runs: list[list], outdir: Path, authors: userscsv.Authors) -> None:
    """Count every run: the first here, the others in forked workers, merged in order."""
    if len(runs) == 1:
        p.run(runs[0])
        return
    try:
        jobs = fork_workers(runs[1:], outdir, p.spiller, p.cap, p.tally.order, authors)
    except ValueError:  # no fork (Windows): one process
        for run in runs:
            p.run(run)
        return
    try:
        p.run(runs[0])
        hand_over(p, authors)  # ours come first whatever the workers' ids: meanwhile
        merge_workers(p, jobs, authors)
    finally:
        end_workers(jobs)



def _part_seen(paths: dict[str, Path]) -> set:
    """seen_key() of every id a worker counted, from its tweet-ids part."""
    text = paths["tweet-ids.txt"].read_bytes().decode("utf-8").split("\n")
    text.pop()  # the text after the last newline: empty
    return set(map(seen_key, text))
