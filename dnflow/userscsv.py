"""The authors of a search and users.csv: one row per author, by tweets (descending),
then username (case-folded); equal keys in first-seen order.

Each counting process hands its authors over as a part; the authors' table
(:class:`Table`) merges the parts in input order and writes users.csv, the biggest
count file of a big search (389k authors for the 1M-tweet benchmark): a whole column at
a time, in a helper process beside the rest of a summary (:class:`Writer`), and for an
update that changed a few authors it is spliced: the rows of the authors that did not
change are copied from the last users.csv, the changed ones put where they now sort
(:func:`splice`). Both give the same bytes. With a summary's state, the table is kept
beside it for the next update.

A profile, as counting keeps it (dnflow.counting.authors): ``TIME_KEY`` bytes that order
profiles by time, then the users.csv line with the tweet count left as one
``COUNT_SLOT`` byte (0xFF, never part of UTF-8 text).
"""

from __future__ import annotations

import contextlib
import csv
import marshal
import os
import pickle
import re
import traceback
import zlib
from array import array
from bisect import bisect_left
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable
from itertools import accumulate, compress, count, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from dnflow import sealed, spill
from dnflow.children import die_with_parent

HEADER = b"username,name,tweets,followers,following\r\n"
TIME_KEY = 20
COUNT_SLOT = b"\xff"
# the time key of a profile whose tweet names no username: any with one replaces it
NOBODY = b"\0" * TIME_KEY
ORDER = "users.order"  # beside a state's users.csv: what a splice needs of the last one
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


def _replace(path: Path, parts: Any) -> int:
    """Write ``parts`` as the file at ``path``; returns their CRC-32."""
    tmp = path.with_name(f".{path.name}.tmp")
    data = b"".join(parts)
    with open(tmp, "wb") as f:
        f.write(data)  # one write: writelines() is a call per part
    os.replace(tmp, path)
    return zlib.crc32(data)


def _save_order(path: Path, token: Any, order: array, lengths: array, crc: int) -> None:
    """What a later splice needs: users.csv's order and line lengths, and its CRC-32 (a
    damaged users.csv is written anew, not spliced)."""
    _replace(path, [sealed.seal(pickle.dumps((token, order, lengths, crc), protocol=5))])


def order(rows: list[bytes], extra: list[int]) -> list[int]:
    """First-seen indexes in users.csv's order: by tweets (descending), then case-folded
    username, then first seen. By numpy when every username is short plain ASCII (the
    rule of X's handles), else by two stable sorts in Python (:func:`order_by_names`)."""
    fast = _order_ascii(rows, extra) if len(rows) >= NUMPY_MIN_ROWS else None
    return order_by_names(rows, extra) if fast is None else fast


def order_by_names(rows: list[bytes], extra: list[int]) -> list[int]:
    """:func:`order` for any usernames: two stable sorts on plain keys (not one on
    tuples)."""
    names = _names(rows)
    by_name = sorted(range(len(names)), key=names.__getitem__)
    del names
    by_name.sort(key=extra.__getitem__, reverse=True)
    return by_name


_ASCII_WIDTH = 64  # longer usernames go the Python way (a column of the key per byte)
# below this many authors the Python sorts take less than importing numpy (0.1 s), which
# a small search's job then never does; the users.csv helper imports it while it waits
NUMPY_MIN_ROWS = 20_000


def _order_ascii(rows: list[bytes], extra: list[int]) -> list[int] | None:
    """:func:`order` by one numpy lexsort, or None when a username is quoted, not ASCII
    or longer than ``_ASCII_WIDTH`` (ASCII case folding is lower()).

    Each username becomes its bytes lowered and padded with zeros (which order a
    prefix first, as str comparison does), read as big-endian 64-bit words: comparing
    the words in turn compares the names. The sort is stable, so equal keys keep
    their first-seen order. The usernames are read a column (a byte of every row) at a
    time, up to each row's first comma.
    """
    import numpy as np

    n = len(rows)
    if not n:
        return []
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=n)
    ends = np.cumsum(lengths)
    starts = ends - lengths + TIME_KEY  # each username's first byte
    del lengths
    data = np.frombuffer(b"".join(rows), dtype=np.uint8)
    last = len(data) - 1
    going = np.ones(n, dtype=bool)  # rows whose username has not ended yet
    columns = []
    for j in range(_ASCII_WIDTH + 1):
        at = starts + j
        if (at >= ends)[going].any():  # no comma after the username: not a users.csv row
            return None
        byte = data[np.minimum(at, last)]
        if j == 0 and (byte == ord('"')).any():
            return None
        going &= byte != ord(",")
        if not going.any():
            break
        if j == _ASCII_WIDTH or (byte[going] >= 0x80).any():
            return None
        columns.append(np.where(going, byte, 0).astype(np.uint8))
    del data, starts, ends
    columns += [np.zeros(n, dtype=np.uint8)] * (-len(columns) % 8 if columns else 8)
    names = np.stack(columns, axis=1)
    del columns
    names += ((names >= ord("A")) & (names <= ord("Z"))).astype(np.uint8) * 32
    words = names.view(">u8")
    counts = np.fromiter(extra, dtype=np.int64, count=n)
    # lexsort's last key sorts first
    keys = [words[:, j] for j in reversed(range(words.shape[1]))]
    return np.lexsort([*keys, -counts]).tolist()


def write(path: Path, rows: list[bytes], extra: list[int], state: Path | None = None,
          token: Any = None) -> None:
    """users.csv from ``rows`` (profiles in first-seen order) and ``extra`` (their tweets
    beyond the first), in :func:`order`; with ``state``, also what a later
    :func:`splice` needs there."""
    ranked = order(rows, extra)  # first: its work memory is gone before the lines come
    # formatted in first-seen order: in sorted order the rows are read all over memory
    lines = list(map(_AFTER_TIME_KEY, map(bytes.replace, rows, repeat(COUNT_SLOT), map(
        b"%d".__mod__, map((1).__add__, extra)))))
    lines = list(map(lines.__getitem__, ranked))
    crc = _replace(path, [HEADER, *lines])
    if state is not None:
        _save_order(state / ORDER, token, array("q", ranked), array("q", map(len, lines)),
                    crc)


def splice(state: Path, prev_token: Any, token: Any,
           changed: dict[int, tuple[bytes, int]]) -> bool:
    """Write users.csv from the last one (``state``/users.csv, made for ``prev_token``)
    and the authors that changed since: first-seen index → (profile, extra tweets).

    False, and nothing written, when the last one is not there or not for that state.
    Costs a binary search per changed author instead of a sort of all of them.
    """
    try:
        saved, order, lengths, crc = pickle.loads(sealed.unseal((state / ORDER).read_bytes()))
        old = (state / "users.csv").read_bytes()
    except (OSError, pickle.UnpicklingError, ValueError, EOFError):
        return False
    offsets = list(accumulate(lengths, initial=len(HEADER)))
    if (saved != prev_token or offsets[-1] != len(old) or not old.startswith(HEADER)
            or zlib.crc32(old) != crc):
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
    crc = _replace(state / "users.csv", parts)
    _save_order(state / ORDER, token, new_order, new_lengths, crc)
    return True


def newer(profile: bytes, later: bytes) -> bytes:
    """An author's profile from an earlier part's and a later one's: the later replaces
    the earlier if its time key is not before it and it names the author. The keys have
    one length: later > profile means a later key or the same one."""
    if later > profile:
        return later if later[:TIME_KEY] != NOBODY else profile
    if profile.startswith(later[:TIME_KEY]) and later[:TIME_KEY] != NOBODY:
        return later
    return profile


def write_ranked(path: Path, authors: Any) -> int:
    """users.csv from a spilled authors' part (dnflow.counting.Spilled: every author
    once, (id, (profile, posts beyond the first, first-seen number))), in the order
    :func:`write` makes, a chunk at a time. Returns how many authors there are."""
    def rows() -> Any:
        for _, (row, extra, first) in authors.items():
            line = _line(row, extra)
            yield (-extra, _name(line), first, line)

    n = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(HEADER)
        lines = []
        for row in spill.ranked(rows(), _RANK, authors.spiller):
            lines.append(row[3])
            if len(lines) >= 4096:
                n += len(lines)
                f.write(b"".join(lines))
                lines.clear()
        n += len(lines)
        f.write(b"".join(lines))
    os.replace(tmp, path)
    return n


_RANK = itemgetter(0, 1, 2)


def pack(users: dict[Any, bytes], more: dict[Any, int]) -> bytes:
    """A part as bytes, to send to a table in another process (marshal: twice as fast
    as pickle to make for these builtin types)."""
    return marshal.dumps((users, dict(more)))


def unpack_file(path: Path) -> tuple[dict[Any, bytes], dict[Any, int]]:
    """The part :func:`pack` made, from the file a forked worker wrote it to."""
    return marshal.loads(path.read_bytes())


def _table_path(state: Path, token: Any) -> Path:
    return state / f"users.{token}.marshal"


class Table:
    """Every author of a search: their profile and their tweets beyond the first, in
    first-seen order, merged from the parts counted by each process in input order.

    A part is what one process counted of a stretch of the input: ``users`` (author →
    profile, as dnflow.counting.authors keeps them) and ``more`` (author → tweets beyond their
    first in that part). Adding a part is what one process reading on would have done:
    the newest profile wins (equal times: the later one; one that names no username only
    until one does), and an author the table had gets their part's first tweet as one
    more. With a summary's state, the table is saved beside it for the next update.

    Used in the summary's process, or in a helper process (:class:`Writer`).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.users: dict[Any, bytes] = {}
        self.more: Counter[Any] = Counter()
        # authors added since a saved table was loaded (what a splice rewrites), or None
        self.changed: set | None = None
        self._loaded = False
        self.result: tuple[int, int | None] | None = None

    def load(self, state: Path, token: Any) -> None:
        """Start from the table saved with a state (see :meth:`loaded`)."""
        self.reset()
        try:
            # loads(bytes): load(file) reads in small pieces, 3x slower
            users, more = marshal.loads(sealed.unseal(_table_path(state, token).read_bytes()))
        except (OSError, EOFError, ValueError, TypeError):
            return
        self.users, self.more, self.changed = users, Counter(more), set()
        self._loaded = True

    def loaded(self) -> bool:
        """Whether :meth:`load` found the table (if not, the state is not usable)."""
        return self._loaded

    def add(self, users: dict[Any, bytes], more: dict[Any, int]) -> None:
        """Add a part counted after everything added so far (takes ``users`` over)."""
        mine = self.users
        if not mine:
            self.users = users
            self.more.update(more)
            if self.changed is not None:
                self.changed.update(users)
            return
        if self.changed is not None:
            self.changed.update(users)
        # authors both have (a set operation, in C); the others are added at once, in
        # their order, as one at a time would add them
        both = [aid for aid in users if aid in mine] if len(users) < 64 else list(
            users.keys() & mine.keys())
        for aid, t, o in zip(both, map(users.pop, both), map(mine.__getitem__, both),
                             strict=True):
            mine[aid] = newer(o, t)
        mine.update(users)
        self.more.update(more)
        _count_elements(self.more, both)  # their first tweet is one more for us

    def add_packed(self, data: bytes) -> None:
        """:meth:`add` of a part as :func:`pack` made it."""
        self.add(*marshal.loads(data))

    def add_file(self, path: Path, part: tuple | None = None) -> None:
        """:meth:`add_packed` of the file ``path`` (a forked worker's part), which is
        removed: it is the table's once given. ``part``: its content, if already read."""
        if part is None:
            part = unpack_file(path)
        path.unlink()
        self.add(*part)

    def forget(self, path: Path) -> None:
        """A forked worker's part will not be added (see Writer.forget)."""

    def notifier(self, k: int) -> None:
        """No worker tells a table in the summary's process anything (Writer.notifier)."""
        return None

    def finish(self, path: Path, state: Path | None = None,
               tokens: tuple[Any, Any] | None = None) -> None:
        """Write users.csv: at ``path``, or with a state (where the caller links it from)
        in ``state`` with what a later splice needs, spliced from the last one when only
        some authors changed; then save the table beside the state for the next update.
        ``tokens``: the last write's and this one's."""
        users, more = self.users, self.more
        spliced = False
        if state is not None and tokens is not None and self.changed is not None:
            # first-seen indexes of the changed authors, found by C-level loops
            where = compress(count(), map(self.changed.__contains__, users))
            rows, keys = list(users.values()), list(users)
            found = {i: (rows[i], more.get(keys[i], 0)) for i in where}
            del rows, keys
            spliced = splice(state, tokens[0], tokens[1], found)
        if not spliced:
            write(state / "users.csv" if state is not None else path, list(users.values()),
                  list(map(more.get, users, repeat(0))), state,
                  tokens[1] if tokens else None)
        if state is not None and tokens is not None:
            tmp = state / f".users.{tokens[1]}.tmp"
            sealed.write_sealed(tmp, marshal.dumps((users, dict(more))))
            os.replace(tmp, _table_path(state, tokens[1]))
        self.result = (len(users), len(self.changed) if spliced else None)

    def wait(self) -> tuple[int, int | None]:
        """After :meth:`finish`: the number of authors, and if users.csv was spliced,
        how many changed."""
        assert self.result is not None
        return self.result

    def close(self) -> None:
        self.reset()


def drop_tables(state: Path, keep: Any) -> None:
    """Remove the tables saved for other tokens than ``keep`` (the state's)."""
    for path in state.glob("users.*.marshal"):
        if path != _table_path(state, keep):
            path.unlink(missing_ok=True)


class Writer:
    """A :class:`Table` in a helper process: users.csv is merged, sorted and written
    beside everything else the summary writes.

    On two cores its work need not wait for the others. The helper is forked before the
    counting, while the summary's process is still small (a fork later would share, and
    be measured with, all of the counters). Parts come through a pipe as they are
    counted (a worker's as the name of the file it packed them in, which the helper
    reads as soon as the worker says it is written, and adds when it is due); a saved
    table is loaded while the summary's process loads the rest of its state.
    """

    def __init__(self, workers: int = 0) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        recv, self._send = ctx.Pipe(duplex=False)
        self._done, done_send = ctx.Pipe(duplex=False)
        # one pipe per forked worker, made before the helper forks: on it a worker says
        # that its part's file is written, and the helper reads the file while the
        # summary's process still counts (only a file name goes through: a message that
        # short is written at once, so a worker killed meanwhile leaves none half sent)
        ready = [ctx.Pipe(duplex=False) for _ in range(workers)]
        self._ready = [send for _, send in ready]
        self.proc = ctx.Process(target=self._child,
                                args=(recv, done_send, [r for r, _ in ready], os.getpid()),
                                daemon=True)
        self.proc.start()
        recv.close()
        done_send.close()
        for r, _ in ready:
            r.close()
        self._loading = False
        self._given: list[Path] = []  # files of parts given to the helper (add_file)

    @staticmethod
    def _child(recv: Any, done: Any, ready: list, parent: int) -> None:
        from multiprocessing.connection import wait

        die_with_parent(parent)
        try:
            # numpy's OpenBLAS starts a thread per core on import, which spins for a
            # while: order() uses none, and the counting processes need the cores
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            import numpy  # noqa: F401 - for order(), now rather than when the sort waits

            table = Table()
            early: dict[str, tuple] = {}  # workers' parts read before they are due
            while True:
                for conn in wait([recv, *ready]):
                    if conn is not recv:
                        try:
                            name = os.fsdecode(conn.recv_bytes())
                        except EOFError:  # no process can write to it any more
                            ready.remove(conn)
                            continue
                        # gone or being replaced: it is read when it is due
                        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
                            early[name] = unpack_file(Path(name))
                        continue
                    msg = recv.recv_bytes()
                    kind, data = msg[:1], memoryview(msg)[1:]
                    if kind == b"P":
                        table.add_packed(data)
                    elif kind == b"A":
                        name, given = map(os.fsdecode, bytes(data).split(b"\0"))
                        table.add_file(Path(given), early.pop(name, None))
                    elif kind == b"X":
                        early.pop(os.fsdecode(bytes(data)), None)
                    elif kind == b"L":
                        table.load(*pickle.loads(data))
                        done.send_bytes(b"L" + (b"1" if table.loaded() else b""))
                    elif kind == b"R":
                        table.reset()
                        early.clear()  # any is a killed worker's (see _open_state)
                    elif kind == b"F":
                        table.finish(*pickle.loads(data))
                        done.send_bytes(b"F" + pickle.dumps(table.result))
                        return
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises
            with contextlib.suppress(BaseException):
                done.send_bytes(b"!" + traceback.format_exc().encode())
        finally:
            os._exit(0)

    def _answer(self, kind: bytes) -> bytes:
        try:
            answer = self._done.recv_bytes()
        except EOFError:
            raise RuntimeError(f"users.csv writer {self.proc.pid} died") from None
        if answer[:1] == b"!":
            raise RuntimeError(f"users.csv writer failed:\n{answer[1:].decode()}")
        assert answer[:1] == kind, answer[:1]
        return answer[1:]

    def load(self, state: Path, token: Any) -> None:
        if self._loading:
            self.loaded()  # the answer to the last one
        self._send.send_bytes(b"L" + pickle.dumps((state, token)))
        self._loading = True

    def loaded(self) -> bool:
        if not self._loading:
            return False
        self._loading = False
        return self._answer(b"L") == b"1"

    def reset(self) -> None:
        if self._loading:
            self.loaded()
        self._send.send_bytes(b"R")

    def add(self, users: dict[Any, bytes], more: dict[Any, int]) -> None:
        self.add_packed(pack(users, more))

    def add_packed(self, data: bytes) -> None:
        self._send.send_bytes(b"P" + data)

    def add_file(self, path: Path) -> None:
        # renamed, so that nothing else removes it before the helper has read it (which
        # removes it); close() removes it if the helper never did
        given = path.with_name(f"{path.name}.helper")
        os.replace(path, given)
        self._given.append(given)
        self._send.send_bytes(b"A" + os.fsencode(path) + b"\0" + os.fsencode(given))

    def forget(self, path: Path) -> None:
        """Worker part ``path`` will not be added: the helper drops it if it read it."""
        self._send.send_bytes(b"X" + os.fsencode(path))

    def notifier(self, k: int) -> Callable[[Path], None] | None:
        """How forked worker ``k`` (from 1) tells the helper its part's file is written
        (None: it has no pipe for that)."""
        if not 0 < k <= len(self._ready):
            return None
        send = self._ready[k - 1].send_bytes

        def notify(path: Path) -> None:
            name = os.fsencode(path)
            if len(name) < 4000:  # under PIPE_BUF with the length: written at once
                # only a head start: without it the helper reads the file when it is due
                with contextlib.suppress(OSError):
                    send(name)
        return notify

    def finish(self, path: Path, state: Path | None = None,
               tokens: tuple[Any, Any] | None = None) -> None:
        self._send.send_bytes(b"F" + pickle.dumps((path, state, tokens)))

    def wait(self) -> tuple[int, int | None]:
        return pickle.loads(self._answer(b"F"))

    def close(self) -> None:
        self._send.close()
        self._done.close()
        for conn in self._ready:
            conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        for path in self._given:
            path.unlink(missing_ok=True)


Authors = Table | Writer  # the authors' table, here or in a helper: the same calls
