"""The pass: one streaming read of a search's files into one Tally (dnflow.counting).

Every line is offered to the format registry (dnflow.formats); each new post's record
goes to every count, its tweets.csv row and id are streamed to disk, and every line or
post that cannot be counted becomes a skipped row naming the file, the line and why.
Dedup keeps ``seen_key()`` of every id counted (the ids' "span" lets a merge skip the
lookups when two passes' ids cannot meet: X ids grow with time).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dnflow import deletions, formats, outputs, record, spill
from dnflow.counting import COUNTS, Tally, seen_key
from dnflow.record import MAX_ID_CHARS, id_problem
from dnflow.rows import TWEETS_CSV_HEADER, csv_line, tweet_row
from dnflow.sources import archive
from dnflow.sources.archive import Skip, read_json_lines

SKIPPED_SAMPLE = 100
_NO_ID = object()
AUTHORS = COUNTS["authors"]  # its parts go to the authors' table (dnflow.userscsv)
# the streamed outputs (dnflow.outputs), in the order a pass writes them
STREAMED = (outputs.POSTS.name, outputs.IDS.name, outputs.SKIPPED.name)
SKIPPED_HEADER = outputs.SKIPPED.header


class Streams:
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


def new_posts(batch: formats.Batch, seen: set, bad: list[tuple[int, str]],
              runs: spill.SeenRuns | None = None,
              removed: set | None = None) -> tuple[list, list, list]:
    """The records of ``batch``'s posts whose ids are not in ``seen`` (which gains them)
    nor in the spilled ``runs``, their ids and their seen keys. A post its format cannot
    normalize, or whose record breaks the record's rules (dnflow.record.problem), goes
    to ``bad`` as (index, reason) and the rest of the batch is counted. A deleted post
    (dnflow.deletions) is not counted and not seen, as if the archive never held it; its
    key goes to ``removed``."""
    normalize, ctx, raws = batch.normalize, batch.context, batch.raws
    check = None if batch.typed else record.problem
    gone = deletions.gone_test()  # None (one test a post) unless deletions are listed
    recs: list = []
    ids: list = []
    keys: list = []
    try:
        tids = list(map(batch.post_id, raws))
    except Exception:  # noqa: BLE001 - a post without an id: found below, one by one
        tids = [_NO_ID] * len(raws)
    spilled: set | None = None
    if runs:
        spilled = runs.found(_keys(tids))
    for i, tid in enumerate(tids):
        try:
            if tid is _NO_ID:
                tid = batch.post_id(raws[i])
            if tid is None:
                bad.append((i, "no id"))
                continue
            # seen_key, inlined (a call per post costs as much as the test); an id that
            # is not canonical digits is checked first: it is a line of tweet-ids.txt
            if (tid.__class__ is str and tid.isdigit() and tid.isascii() and tid[0] != "0"
                    and len(tid) <= MAX_ID_CHARS):
                key = int(tid)
            else:
                why = id_problem(tid)
                if why is not None:
                    _bad_id(normalize, raws[i], ctx, why)
                key = tid
            if key in seen:
                continue
            if spilled is not None and (key in spilled or (
                    tids[i] is _NO_ID and runs.found([key]))):
                continue
            rec = normalize(raws[i], ctx)
            why = check(rec) if check is not None else None
        except formats.BadPost as e:
            why = str(e)
        except Exception as e:  # noqa: BLE001 - one bad post never fails a search
            why = f"{type(e).__name__}: {e}"
        if why is not None:
            bad.append((i, why))
            continue
        if gone is not None and gone(rec):
            if removed is not None:
                removed.add(key)
            continue
        seen.add(key)
        keys.append(key)
        recs.append(rec)
        ids.append(tid)
    return recs, ids, keys


def _bad_id(normalize: Any, raw: Any, ctx: Any, why: str) -> None:
    """Raise the BadPost of a post whose id cannot be one: its format's own reason when
    it has one (it names the platform's rule), else ``why``."""
    try:
        normalize(raw, ctx)
    except formats.BadPost:
        raise
    except Exception:  # noqa: BLE001, S110 - the id's own reason is given instead
        pass
    raise formats.BadPost(why)


def _keys(tids: list) -> list:
    """The seen keys of the ids that can be keys (text); any other id is skipped one by
    one in new_posts, with its reason."""
    out = []
    for t in tids:
        if t.__class__ is str:
            # digits too many to be a number: new_posts says why
            with contextlib.suppress(ValueError):
                out.append(seen_key(t))
    return out


class Pass:
    """Reads segments (whole files or byte ranges of plain files) into one Tally."""

    def __init__(self, tally: Tally, streams: Streams, log: Any,
                 spiller: spill.Spiller | None = None, cap: int = spill.SPILL_KEYS) -> None:
        self.tally = tally
        # a search too big for memory: the tally spills whenever it holds ``cap`` keys
        self.spiller = spiller
        self.cap = cap
        self.streams = streams
        self.log = log  # text file or None: one line per skipped line
        self.stats: dict[int, dict] = {}  # file index → per-file figures
        self.skipped = 0
        self.skipped_sample: list[dict] = []
        self.api_errors = 0
        # keys of posts left out because their authors opted out (formats.Batch.left_out)
        self.left_out: set[str] = set()
        self.removed: set = set()  # keys of deleted posts (dnflow.deletions) not counted
        # the lowest and highest id counted, while they are all ints (see merge_workers)
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
            except Exception as e:  # noqa: BLE001 - a line no format can take is skipped
                skips.append(Skip(str(path), n, f"unreadable ({type(e).__name__}: {e})"))
                continue
            if batch.errors:
                self.api_errors += batch.errors
            if batch.left_out:
                self.left_out.update(batch.left_out)
            if batch.format not in formats_seen:
                formats_seen.add(batch.format)
            posts += len(batch.raws)
            recs, ids, keys = new_posts(batch, seen, bad, tally.seen_runs, self.removed)
            if bad:
                skips.extend(Skip(str(path), n, f"post {i + 1} of the line: {why}")
                             for i, why in bad)
                bad.clear()
            if ids:
                tally.take(recs)
                if self.span is not None:
                    self.span = union(self.span, int_span(keys))
                new += len(ids)
                tweets_f.write(b"".join(map(tweet_row, recs)))
                ids.append("")
                ids_f.write("\n".join(ids).encode())
                if self.spiller is not None and tally.held() > self.cap:
                    tally.spill(self.spiller)
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
                "skipped_sample": self.skipped_sample, "api_errors": self.api_errors,
                "left_out": self.left_out, "removed": self.removed}

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
        self.left_out |= res["left_out"]
        self.removed |= res["removed"]



# the span of no ids at all: meets no other (ints from seen_key are 1 or more)
EMPTY_SPAN = (1, 0)


def int_span(keys: list[Any]) -> tuple[int, int] | None:
    """(lowest, highest) of seen_key()s if they are all ints, else None."""
    if not keys:
        return EMPTY_SPAN
    try:
        lo, hi = min(keys), max(keys)
    except TypeError:  # ints and text
        return None
    return (lo, hi) if lo.__class__ is int and hi.__class__ is int else None


def union(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None or b is None:
        return None
    if a == EMPTY_SPAN or b == EMPTY_SPAN:
        return b if a == EMPTY_SPAN else a
    return min(a[0], b[0]), max(a[1], b[1])


def overlap(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """Whether two spans of ids may share one (unknown spans may)."""
    return a is None or b is None or not (a[1] < b[0] or b[1] < a[0])
