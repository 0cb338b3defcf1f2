"""The saved state of a search (data/<slug>/state/): what an update needs to read only
the files added since.

Files, each written here and nowhere else:

- ``state.marshal``: ``{version, code, applied, users_token, tally, ids_all_int,
  ids_bytes, id_span, stats, skipped, skipped_sample, api_errors, left_out, removed,
  lengths}``: the tally
  (dnflow.counting, without the authors) and the pass's figures, marshal'd;
- ``state.head``: ``{version, code, applied, users_token}``, written last: which files
  are new, readable before the rest;
- ``ids.bin``: every id counted as a native-endian signed 8-byte integer, in order, when
  they are all canonical decimal ids that fit (else absent: tweet-ids.txt holds them);
- ``tweets.csv``, ``tweet-ids.txt``, ``skipped.csv``: the streamed outputs, appended by
  each pass (``lengths`` says how long they were when the state was saved);
- ``users.<token>.marshal`` and users.csv's order: the authors' table's (dnflow.userscsv).

A search counted by runs (dnflow.spill) keeps another state instead, ``state.spilled``
(``{version, code, applied, generation, tally, runs, seen, stats, skipped,
skipped_sample, api_errors, removed, lengths}``: the counts that do not spill, and per spilling
count the run that merged all its keys, ``<count>.<token>.run`` beside it, as
``Run.meta`` describes it; ``seen`` the run of every id counted), and the streamed files.
Each kind of state removes the other's.

A state is used only when its code fingerprint (with the digest of the search's
deletions, dnflow.deletions) and its applied files (path, size, mtime) match; anything
else, or any damage, means a count from scratch: a post listed since is never in a count
an update starts from.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import marshal
import os
import shutil
import sys
from array import array
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dnflow import deletions, formats, sealed, spill
from dnflow.counting import COUNTS, Tally, seen_key
from dnflow.summary.passes import AUTHORS, EMPTY_SPAN, STREAMED, Pass, union

STATE_VERSION = 5
# a spilled search's update numbers its keys from (its generation + 1) << GENERATION_BITS,
# above its workers' (dnflow.summary.parallel.ORDER_BITS)
GENERATION_BITS = 48
STATE = "state.marshal"
IDS_BIN = "ids.bin"
HEAD = "state.head"
SPILLED = "state.spilled"


# what counts, or decides what is counted: any change recounts a search from scratch
_CODE = ("record.py", "rows.py", "userscsv.py", "sources/archive.py", "summary/*.py",
         "counting/*.py", "formats/*.py")


def code_files() -> list[Path]:
    """The source files a state's counts depend on: dnflow's counting code and every
    registered count's and format's module (plugins' included)."""
    package = Path(__file__).resolve().parent.parent
    files = {p.resolve() for pattern in _CODE for p in package.glob(pattern)}
    for obj in (*COUNTS, *formats.FORMATS):
        with contextlib.suppress(TypeError, OSError):
            files.add(Path(inspect.getfile(type(obj))).resolve())
    return sorted(files)


def code_fingerprint() -> str:
    """Counting code changes invalidate a saved state (its counts were made by old rules)."""
    h = hashlib.blake2b(f"{STATE_VERSION} {sys.version} {sys.byteorder}".encode(),
                        digest_size=16)
    for path in code_files():
        h.update(str(path.name).encode())
        h.update(path.read_bytes())
    for fmt in formats.FORMATS:  # settings its records depend on ("" for most: no change)
        h.update(fmt.settings().encode())
    h.update(deletions.fingerprint().encode())  # "" without deletions
    return h.hexdigest()


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


def file_keys(files: list[Path]) -> list[tuple[str, int, int]]:
    """What a state records of its files: taken before they are read, so a file that
    grows while it is read no longer matches, and the next run counts it again."""
    return [_file_key(f) for f in files]


def _matches(state: dict, files: list[Path]) -> bool:
    """Whether a saved state was made by this code from ``files`` minus new ones at the end."""
    if state.get("code") != code_fingerprint():
        return False
    applied = state["applied"]
    return len(applied) <= len(files) and all(
        tuple(key) == _file_key(path) for key, path in zip(applied, files, strict=False))


def load_head(state_dir: Path, files: list[Path]) -> dict | None:
    """The few bytes of a state that say which files are new, before the rest is read."""
    try:
        head = _read(state_dir / HEAD)
        return head if _matches(head, files) else None
    except Exception:  # noqa: BLE001 - no head: the state is read the ordinary way
        return None


def _cut_streams(state_dir: Path, state: dict) -> bool:
    """Cut what a failed run appended to the streamed files after the state was saved;
    False if one is shorter than the state says."""
    for name, length in state["lengths"].items():
        path = state_dir / name
        if path.stat().st_size < length:
            return False
        if path.stat().st_size > length:
            os.truncate(path, length)
    return True


def load_spilled(state_dir: Path, files: list[Path]) -> dict | None:
    """A search counted by runs: its saved state if ``files`` are its files plus new ones
    at the end (its runs kept: the next merge reads them, never drops them), else None."""
    try:
        state = _read(state_dir / SPILLED)
        if not _matches(state, files) or not _cut_streams(state_dir, state) or not _intact(
                state_dir, state):
            return None
        tally = Tally.from_state(state["tally"])
        tally.runs = {name: [spill.Run.from_meta(state_dir, meta)]
                      for name, meta in state["runs"].items()}
        if state["seen"] is not None:
            tally.seen_runs.add(spill.Run.from_meta(state_dir, state["seen"]))
        # (tweet-ids.txt's lines need no count: _intact proved its bytes the saved ones)
        if len(tally.seen_runs) != tally.posts:
            return None
        # first-seen numbers of this update's keys come after every saved one's
        tally.order = (state["generation"] + 1) << GENERATION_BITS
        span = tally.seen_runs.runs[0].span if tally.seen_runs else None
        state.update(tally=tally, ids_all_int=span is not None or not tally.posts,
                     id_span=span, users_token=None)
        return state
    except Exception:  # noqa: BLE001 - any damage means: count from scratch
        return None


def spilled_state(p: Pass, keys: list[tuple[str, int, int]], prev: dict | None) -> dict:
    """What :func:`save_spilled` writes of a pass counted by runs, made before its
    parts are written (and dropped). ``keys``: :func:`file_keys` of its files."""
    tally = p.tally
    return {"version": STATE_VERSION, "code": code_fingerprint(),
            "applied": keys,
            "generation": (prev or {}).get("generation", -1) + 1,
            "tally": tally.to_state(leave_out=[c.name for c in tally.counts if c.spills]),
            "stats": p.stats, "skipped": p.skipped, "skipped_sample": p.skipped_sample,
            "api_errors": p.api_errors, "removed": list(p.removed),
            "left_out": sorted(p.left_out)}


def save_spilled(state_dir: Path, state: dict, runs: dict[str, spill.Run],
                 seen: spill.Run | None, token: str, prev: dict | None = None) -> None:
    """Keep a spilled search's merged runs beside its state (moved, not copied), write
    the state, then remove the runs no state names any more. ``prev``: the state this
    pass went on from, if any."""
    kept = {}
    for name, run in (*runs.items(), ("seen", seen)):
        if run is None:
            kept[name] = None
            continue
        if run.path.parent != state_dir:
            dst = state_dir / f"{name}.{token}.run"
            shutil.move(run.path, dst)
            run.path, run.keep = dst, True
        kept[name] = run.meta()
    seen_meta = kept.pop("seen")
    lengths = {name: (state_dir / name).stat().st_size for name in STREAMED}
    state = {**state, "runs": kept, "seen": seen_meta, "lengths": lengths,
             "sums": _sums(state_dir, lengths, prev)}
    _write_files(state_dir, [(SPILLED, marshal.dumps(state))])
    named = {m["file"] for m in (*kept.values(), seen_meta) if m is not None}
    for path in state_dir.glob("*.run"):
        if path.name not in named:
            path.unlink(missing_ok=True)


def drop_spilled(state_dir: Path) -> None:
    """Remove a spilled search's state (the search is now counted in memory)."""
    (state_dir / SPILLED).unlink(missing_ok=True)
    for path in state_dir.glob("*.run"):
        path.unlink(missing_ok=True)


def load_state(state_dir: Path, files: list[Path], seen: bool = True) -> dict | None:
    """The saved state if ``files`` are its files plus new ones at the end, else None.

    ``seen=False`` leaves the ids out of ``tally.seen`` (see :func:`read_seen`): an
    update whose ids are all newer never needs them.
    """
    try:
        state = _read(state_dir / STATE)
        if not _matches(state, files) or not _cut_streams(state_dir, state) or not _intact(
                state_dir, state):
            return None
        # tweet-ids.txt is not read again to count its lines: _intact proved its bytes the
        # ones saved with this tally
        tally = state["tally"] = Tally.from_state(state["tally"])
        if state["ids_all_int"] and (state["ids_bytes"] != 8 * tally.posts or (
                state_dir / IDS_BIN).stat().st_size < state["ids_bytes"]):
            return None
        if seen:
            tally.seen = read_seen(state_dir, state)
            if len(tally.seen) != tally.posts:
                return None
        return state
    except Exception:  # noqa: BLE001 - any damage means: count from scratch
        return None


def read_seen(state_dir: Path, state: dict) -> set:
    """seen_key() of every id a state has counted: ints for canonical decimal ids (all of
    them, usually), which ids.bin holds as 8-byte integers (a third of the time of
    reading the text)."""
    if state["ids_all_int"]:
        ids = array("q")
        with open(state_dir / IDS_BIN, "rb") as f:
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
    path = state_dir / IDS_BIN
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
            span = union(span or EMPTY_SPAN, (lo, hi))
    if not all_int:
        path.unlink(missing_ok=True)
        return 0, False, None
    with open(path, "r+b" if old_bytes else "wb") as f:
        f.truncate(old_bytes)  # what a failed run may have left after the saved length
        f.seek(old_bytes)
        f.write(new.tobytes())
    return old_bytes + len(new) * new.itemsize, True, span


def save_state(state_dir: Path, p: Pass, keys: list[tuple[str, int, int]],
                first_span: tuple[int, int] | None, prev: dict | None,
                users_token: str) -> Future:
    """marshal, not pickle: 5x faster to write and faster to read for these builtin types
    (a state is a cache for one Python version: the fingerprint includes it). ``keys``:
    :func:`file_keys` of the files counted.

    The files are written by a thread (the kernel's copy, beside the other outputs);
    the returned future says when and raises what went wrong.
    """
    tally = p.tally
    seen, tally.seen = tally.seen, set()  # tweet-ids.txt and ids.bin hold them
    try:
        ids_bytes, ids_all_int, span = _save_ids(state_dir, prev, first_span, tally.posts)
        head = {"version": STATE_VERSION, "code": code_fingerprint(),
                "applied": keys, "users_token": users_token}
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
            "left_out": sorted(p.left_out),
            "removed": list(p.removed),
        }
        lengths = {name: (state_dir / name).stat().st_size for name in STREAMED}
        if ids_all_int:
            lengths[IDS_BIN] = ids_bytes
        state["lengths"] = lengths
        state["sums"] = _sums(state_dir, lengths, prev)
        data = [(name, marshal.dumps(value)) for name, value in
                ((STATE, state), (HEAD, head))]  # the head last: it is only a hint
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
        sealed.write_sealed(tmp, data)
        os.replace(tmp, folder / name)


def _read(path: Path) -> dict:
    """A state file :func:`_write_files` wrote (ValueError if damaged)."""
    return marshal.loads(sealed.unseal(path.read_bytes()))  # loads(bytes): 3x load(file)


def _sums(state_dir: Path, lengths: dict[str, int], prev: dict | None) -> dict[str, int]:
    """The CRC-32 of each appended file's first ``lengths[name]`` bytes: carried on from
    the last state's over what was appended since (a count from scratch: all of it)."""
    old_sums = (prev or {}).get("sums") or {}
    old_lengths = (prev or {}).get("lengths") or {}
    out = {}
    for name, length in lengths.items():
        start = old_lengths.get(name, 0) if name in old_sums else 0
        start = start if start <= length else 0
        out[name] = sealed.crc_range(state_dir / name, start, length,
                                     old_sums.get(name, 0) if start else 0)
    return out


def _intact(state_dir: Path, state: dict) -> bool:
    """Whether every appended file's first bytes are the ones the state's sums were
    taken of (each is read once, whole)."""
    sums = state.get("sums") or {}
    return all(sealed.crc_range(state_dir / name, 0, length) == sums.get(name)
               for name, length in state["lengths"].items())


def publish(src: Path, dst: Path) -> None:
    """Put a state file at an output path: a hard link (free) or else a copy."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
