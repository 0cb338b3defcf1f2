"""users.csv: one row per author, by tweets (descending), then username (case-folded);
equal keys in first-seen order.

The biggest count file of a big search (389k authors for the 1M-tweet benchmark), so it
is written a whole column at a time, by a helper process beside the rest of a summary
(:class:`Writer`), and for an update that changed a few authors it is spliced: the rows
of the authors that did not change are copied from the last users.csv, the changed
ones put where they now sort (:func:`splice`). Both give the same bytes.

A profile, as counting keeps it (dnflow.summary): ``TIME_KEY`` bytes that order
profiles by time, then the users.csv line with the tweet count left as one
``COUNT_SLOT`` byte (0xFF, never part of UTF-8 text).
"""

from __future__ import annotations

import contextlib
import csv
import os
import pickle
import re
import traceback
from array import array
from bisect import bisect_left
from itertools import accumulate, compress, count, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

HEADER = b"username,name,tweets,followers,following\r\n"
TIME_KEY = 20
COUNT_SLOT = b"\xff"
ORDER = "users.order"  # beside a state's users.csv: what a splice needs of the last one
_CHUNK = 50_000
_KEY, _VALUE = itemgetter(0), itemgetter(1)
_NAMES_CHUNK = 20_000
# a row's username: what follows its time key up to the first comma
_USERNAME = re.compile(rb"^.{%d}([^,\n]*)" % TIME_KEY, re.M)
_AFTER_TIME_KEY = itemgetter(slice(TIME_KEY, None))


def _line(row: bytes, extra: int) -> bytes:
    return row[TIME_KEY:].replace(COUNT_SLOT, b"%d" % (extra + 1))


def _name(line: bytes) -> str:
    """The case-folded username of a users.csv line (with or without its time key cut)."""
    if line[:1] == b'"':
        return next(csv.reader([line.decode("utf-8", "surrogateescape")]))[0].casefold()
    return line[:line.index(b",")].decode().casefold()


def _names(rows: list[bytes]) -> list[str]:
    names: list[str] = []
    for i in range(0, len(rows), _NAMES_CHUNK):  # in pieces: a whole copy would be the peak
        chunk = rows[i:i + _NAMES_CHUNK]
        data = b"".join(chunk)
        if b'"' not in data:
            # no quoted field: the usernames are taken out as bytes, a chunk at a time
            # (decoding every row would take more memory)
            names += b"\n".join(_USERNAME.findall(data)).decode().casefold().split("\n")
        else:
            names += [_name(r[TIME_KEY:]) for r in chunk]
    return names


def _replace(path: Path, parts: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.writelines(parts)
    os.replace(tmp, path)


def _save_order(path: Path, token: Any, order: array, lengths: array) -> None:
    _replace(path, [pickle.dumps((token, order, lengths), protocol=5)])


class Rows:
    """users.csv's rows as they come, in first-seen order: each piece is formatted and its
    usernames cut out on arrival (the helper does it while the next piece is on its way),
    so that :meth:`write` is left with the sort."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.lines: list[bytes] = []
        self.extra: list[int] = []

    def add(self, rows: list[bytes], extra: list[int]) -> None:
        """Profiles (time key + line) and their tweets beyond the first."""
        self.names += _names(rows)
        self.lines += map(_AFTER_TIME_KEY, map(
            bytes.replace, rows, repeat(COUNT_SLOT), map(b"%d".__mod__, map((1).__add__,
                                                                          extra))))
        self.extra += extra

    def write(self, path: Path, state: Path | None = None, token: Any = None) -> None:
        """Two stable sorts on plain keys (not one on tuples), then the lines in order;
        with ``state``, also what a later :func:`splice` needs there."""
        order = sorted(range(len(self.names)), key=self.names.__getitem__)
        order.sort(key=self.extra.__getitem__, reverse=True)
        lines = list(map(self.lines.__getitem__, order))
        _replace(path, [HEADER, *lines])
        if state is not None:
            _save_order(state / ORDER, token, array("q", order), array("q", map(len, lines)))


def write(path: Path, rows: list[bytes], extra: list[int], state: Path | None = None,
          token: Any = None) -> None:
    """users.csv from ``rows`` (profiles in first-seen order) and ``extra`` (their tweets
    beyond the first)."""
    table = Rows()
    table.add(rows, extra)
    table.write(path, state, token)


def splice(path: Path, state: Path, prev_token: Any, token: Any,
           changed: dict[int, tuple[bytes, int]]) -> bool:
    """Write users.csv from the last one (``state``/users.csv, made for ``prev_token``)
    and the authors that changed since: first-seen index → (profile, extra tweets).

    False, and nothing written, when the last one is not there or not for that state.
    Costs a binary search per changed author instead of a sort of all of them.
    """
    try:
        with open(state / ORDER, "rb") as f:
            saved, order, lengths = pickle.load(f)
        old = (state / "users.csv").read_bytes()
    except (OSError, pickle.UnpicklingError, ValueError, EOFError):
        return False
    offsets = list(accumulate(lengths, initial=len(HEADER)))
    if saved != prev_token or offsets[-1] != len(old) or not old.startswith(HEADER):
        return False

    def old_key(p: int) -> tuple[int, str, int]:
        line = old[offsets[p]:offsets[p + 1]]
        if line[:1] == b'"' or b'"' in line:
            fields = next(csv.reader([line.decode("utf-8", "surrogateescape")]))
            return -int(fields[2]), fields[0].casefold(), order[p]
        username, _, count, _ = line.split(b",", 3)
        return -int(count), username.decode().casefold(), order[p]

    new = []
    for i, (row, extra) in changed.items():
        line = _line(row, extra)
        new.append(((-(extra + 1), _name(line), i), line))
    new.sort(key=itemgetter(0))
    # the old rows of changed authors are skipped; their old keys still order the search
    gone = sorted(p for p, i in enumerate(order) if i in changed)
    n = len(order)
    where = []
    lo = 0
    for key, _ in new:
        lo = bisect_left(range(n), key, lo, n, key=old_key)
        where.append(lo)
    parts = [HEADER]
    new_order = array("q")
    new_lengths = array("q")
    cursor = 0
    g = 0

    def copy(upto: int) -> None:
        nonlocal cursor, g
        while cursor < upto:
            stop = gone[g] if g < len(gone) and gone[g] < upto else upto
            if stop > cursor:
                parts.append(memoryview(old)[offsets[cursor]:offsets[stop]])
                new_order.extend(order[cursor:stop])
                new_lengths.extend(lengths[cursor:stop])
            if stop < upto:  # a changed author's old row
                g += 1
                stop += 1
            cursor = stop

    for pos, ((key, line)) in zip(where, new, strict=True):
        copy(pos)
        parts.append(line)
        new_order.append(key[2])
        new_lengths.append(len(line))
    copy(n)
    _replace(state / "users.csv", parts)
    _save_order(state / ORDER, token, new_order, new_lengths)
    return True


class Writer:
    """users.csv, written by a helper process while the summary writes everything else.

    On two cores its sort need not wait for the others. The helper is forked before the
    counting, while the summary's process is still small (a fork later would share, and
    be measured with, all of the counters), and gets the rows through a pipe: all of
    them in pieces, or, for an update, the authors that changed (:func:`splice`).
    """

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.spliced = False  # after wait: whether the last users.csv was spliced
        recv, self._send = ctx.Pipe(duplex=False)
        self._done, done_send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=self._child, args=(recv, done_send), daemon=True)
        self.proc.start()
        recv.close()
        done_send.close()

    @staticmethod
    def _child(recv: Any, done: Any) -> None:
        try:
            table = Rows()
            while True:
                kind, value = pickle.loads(recv.recv_bytes())
                if kind == "rows":
                    table.add(*value)
                    continue
                if kind == "splice":
                    path, state, prev_token, token, changed = value
                    if splice(path, state, prev_token, token, changed):
                        done.send_bytes(b"")
                        return
                    done.send_bytes(b"all")  # the parent sends every row instead
                    continue
                path, state, token = value
                table.write(path, state, token)
                done.send_bytes(b"")
                return
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises
            with contextlib.suppress(BaseException):
                done.send_bytes(b"!" + traceback.format_exc().encode())
        finally:
            os._exit(0)

    def start(self, path: Path, users: dict[Any, bytes], more: dict[Any, int],
              state: Path | None = None, tokens: tuple[Any, Any] | None = None,
              changed: list | None = None) -> None:
        """Send what users.csv is made of; ``wait`` tells when it is written.

        ``state`` (a summary's state folder, where users.csv is then written, and the
        caller links it to ``path``) with ``tokens`` (the last write's and this one's)
        and ``changed`` (the authors changed since, when known) asks for a splice.
        """
        self._args = (path, users, more, state, tokens)
        if state is not None and changed is not None and tokens is not None:
            # first-seen indexes of the changed authors, found by C-level loops
            where = compress(count(), map(set(changed).__contains__, users))
            rows, keys = list(users.values()), list(users)
            found = {i: (rows[i], more.get(keys[i], 0)) for i in where}
            self._send.send_bytes(pickle.dumps(
                ("splice", (path, state, tokens[0], tokens[1], found)), protocol=5))
            self._spliced = True
        else:
            self._send_all()

    def _send_all(self) -> None:
        path, users, more, state, tokens = self._args
        self._spliced = False
        # a piece at a time: the helper formats each while the next one is made
        items = iter(users.items())
        while chunk := list(islice(items, _CHUNK)):
            self._send.send_bytes(pickle.dumps(("rows", (
                list(map(_VALUE, chunk)),
                list(map(more.get, map(_KEY, chunk), repeat(0))))), protocol=5))
        target = state / "users.csv" if state is not None else path
        self._send.send_bytes(pickle.dumps(
            ("write", (target, state, tokens[1] if tokens else None))))

    def wait(self) -> None:
        while True:
            try:
                answer = self._done.recv_bytes()
            except EOFError:
                raise RuntimeError(f"users.csv writer {self.proc.pid} died") from None
            if answer == b"all" and self._spliced:
                self._send_all()
                continue
            if answer:
                raise RuntimeError(f"users.csv writer failed:\n{answer[1:].decode()}")
            self.spliced = self._spliced
            return

    def close(self) -> None:
        self._send.close()
        self._done.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
