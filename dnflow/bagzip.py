"""A deterministic zip that a later zip of mostly the same files is made from cheaply.

dnflow.bag remakes a search's bag after every update; most of its bytes (the raw
chunks, the front of tweets.csv) are what the last bag held. Here each member's bytes
are compressed in independent segments of :data:`SEGMENT` bytes at fixed offsets (raw
deflate, each sync-flushed, the member closed by an empty final block), so a
segment's compressed bytes depend on that segment alone. The zip records, per member,
its checksums (sha256, sha512 for the bag's manifests; CRC-32 for the zip), where its
data lies and each segment's end, compressed length and the sha256 of the member's
bytes up to there. The next zip then:

- copies an unchanged file's compressed data from the last zip without reading the file
  (unchanged: the same device, inode, size and modification time, the test the summary's
  state and the filtered raw copies use), and its checksums from the record;
- reads a changed file (it must: its checksums are new), and copies the compressed bytes
  of each segment whose prefix digest is the recorded one (a file that grew by
  appending: all but its last segments), compressing only the rest; the CRC-32 and
  SHA-512 of those segments are not computed again but taken up from the record
  (dnflow.hashstate), so of a grown file's front only its sha256 is.

The bytes depend only on the members' bytes and names, never on what the last zip
was, so the same data gives the same zip however it was reached. Python's zipfile
writes the central directory; the members' data are written here (zipfile cannot copy
compressed data from another zip).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from dnflow.hashstate import Sha512, resumable

SEGMENT = 4 << 20  # input bytes per independent segment
PIECE = 1 << 20  # read and compressed in these (always the same cut: same bytes out)
FINAL = b"\x03\x00"  # an empty final deflate block, after the sync-flushed segments
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# compressed already: stored as they are (Parquet's pages are zstd; deflate saves <1%)
STORED_SUFFIXES = (".gz", ".zip", ".bz2", ".xz", ".zst", ".png", ".jpg", ".jpeg", ".gif",
                   ".webp", ".parquet")


@dataclass
class Member:
    """What a zip records of one member (and the next zip reuses)."""

    name: str
    size: int
    crc: int
    sha256: str
    sha512: str
    method: int
    offset: int = 0  # of its compressed data in the zip
    csize: int = 0
    key: list[int] | None = None  # device, inode, size, mtime_ns of its file
    # per segment: [end, csize, sha256 of the bytes up to end, CRC-32 there, SHA-512
    # state there (dnflow.hashstate; "" where it cannot be saved)]
    segments: list[list[Any]] = field(default_factory=list)


Source = Path | bytes


def file_key(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def method_of(name: str) -> int:
    return zipfile.ZIP_STORED if name.lower().endswith(STORED_SUFFIXES) else \
        zipfile.ZIP_DEFLATED


def _zipinfo(name: str, m: Member) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.create_system = 3
    info.compress_type = m.method
    info.file_size, info.compress_size, info.CRC = m.size, m.csize, m.crc
    return info


def _copy_range(src: int, dst: BinaryIO, offset: int, count: int) -> None:
    """``count`` bytes of ``src`` from ``offset`` appended to ``dst`` (in the kernel
    where it can: copy_file_range)."""
    while count > 0:
        try:
            n = os.copy_file_range(src, dst.fileno(), count, offset)
        except OSError:
            n = 0
        if n <= 0:  # not supported here (or across file systems): read and write
            data = os.pread(src, min(count, PIECE), offset)
            if not data:
                raise OSError(f"the last zip ends before its recorded data ({offset})")
            dst.write(data)
            n = len(data)
        offset += n
        count -= n


def _pieces(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for i in range(0, len(source), PIECE):
            yield source[i:i + PIECE]
        return
    with open(source, "rb") as f:
        while data := f.read(PIECE):
            yield data


def _segments(source: Source) -> Iterator[list[bytes]]:
    seg: list[bytes] = []
    have = 0
    for piece in _pieces(source):
        seg.append(piece)
        have += len(piece)
        if have >= SEGMENT:
            yield seg
            seg, have = [], 0
    if seg:
        yield seg


class _Hashes:
    """A member's checksums as its segments go by. sha256 runs over every byte (its value
    at each segment's end tells the segments the last zip had); CRC-32 and SHA-512 are
    not computed over a run of such segments at all: their values at the run's end are
    taken from the last zip's record (:meth:`skip`), and computing goes on from there
    when a changed segment or the end comes. So a file that only grew is read with
    sha256 alone up to its new bytes."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self._sha512 = Sha512()
        self._crc = 0
        self._behind: list[Any] | None = None  # the record to take CRC and SHA-512 from
        self.hashed = 0  # bytes run through CRC-32 and SHA-512

    def skip(self, recorded: list[Any]) -> bool:
        """Leave CRC-32 and SHA-512 at ``recorded``'s (a segment of the last zip with
        the same bytes up to its end), if it has their values."""
        # a record that is not what this code saves (damaged, or another library's)
        # only costs the hashing
        if len(recorded) < 5 or type(recorded[3]) is not int or not resumable(recorded[4]):
            return False
        self._behind = recorded
        return True

    def _catch_up(self) -> None:
        if self._behind is not None:
            self._crc = self._behind[3]
            if not self._sha512.resume(self._behind[4]):
                raise ValueError("a resumable SHA-512 state did not resume")
            self._behind = None

    def rest(self, seg: list[bytes]) -> None:
        self._catch_up()
        for piece in seg:
            self._sha512.update(piece)
            self._crc = zlib.crc32(piece, self._crc)
            self.hashed += len(piece)

    def state(self) -> list[Any]:
        """CRC-32 and SHA-512 state at this segment's end (a skipped one's: recorded)."""
        if self._behind is not None:
            return [self._behind[3], self._behind[4]]
        return [self._crc, self._sha512.save()]

    def crc_value(self) -> int:
        self._catch_up()
        return self._crc

    def sha512_hex(self) -> str:
        self._catch_up()
        return self._sha512.hexdigest()


class Writer:
    """Members written in the order given (sorted by the caller), reusing ``previous``'s
    (the last zip's records, its file open as ``previous_fd``)."""

    def __init__(self, out: BinaryIO, previous: Mapping[str, Member] | None = None,
                 previous_fd: int | None = None) -> None:
        self.out = out
        self.zf = zipfile.ZipFile(out, "w", allowZip64=True)
        self.previous = previous if previous_fd is not None else None
        self.fd = previous_fd
        self.members: dict[str, Member] = {}
        # bytes of members copied whole / read / of those, compressed anew, and run
        # through SHA-512 (not those of a grown file's front: _Hashes)
        self.reused = self.read = self.compressed = self.hashed = 0

    def add(self, name: str, source: Source) -> Member:
        key = None if isinstance(source, bytes) else file_key(source)
        old = self.previous.get(name) if self.previous else None
        method = method_of(name)
        if old is not None and old.method != method:
            old = None
        start = self.out.tell()
        if old is not None and key is not None and old.key == key:
            m = replace(old)
            self._header(name, m)
            m.offset = self.out.tell()
            _copy_range(self.fd, self.out, old.offset, old.csize)
            self.reused += m.size
        else:
            m = self._write(name, source, key, method, old, start)
            self.read += m.size
        self.members[name] = m
        return m

    def _header(self, name: str, m: Member) -> zipfile.ZipInfo:
        info = _zipinfo(name, m)
        info.header_offset = self.out.tell()
        self.out.write(info.FileHeader(m.size * 1.05 > zipfile.ZIP64_LIMIT))
        self.zf.filelist.append(info)
        self.zf.NameToInfo[name] = info
        return info

    def _write(self, name: str, source: Source, key: list[int] | None, method: int,
               old: Member | None, start: int) -> Member:
        size = len(source) if isinstance(source, bytes) else key[2]
        m = Member(name, size, 0, "", "", method, key=key)
        info = self._header(name, m)
        m.offset = self.out.tell()
        h = _Hashes()
        done = csize = 0
        same = old is not None and old.method == zipfile.ZIP_DEFLATED
        for i, seg in enumerate(_segments(source)):
            for piece in seg:
                h.sha256.update(piece)
                done += len(piece)
            if method == zipfile.ZIP_STORED:
                h.rest(seg)
                self.out.write(b"".join(seg))
                continue
            prefix = h.sha256.copy().hexdigest()
            same = same and i < len(old.segments) and old.segments[i][0] == done and \
                old.segments[i][2] == prefix
            if not (same and h.skip(old.segments[i])):
                h.rest(seg)
            if same:  # the same bytes up to here: the last zip's compression of them
                seg_csize = old.segments[i][1]
                _copy_range(self.fd, self.out, old.offset + csize, seg_csize)
            else:
                self.compressed += sum(map(len, seg))
                z = zlib.compressobj(1, zlib.DEFLATED, -15)
                data = b"".join([z.compress(p) for p in seg] + [z.flush(zlib.Z_SYNC_FLUSH)])
                self.out.write(data)
                seg_csize = len(data)
            csize += seg_csize
            m.segments.append([done, seg_csize, prefix, *h.state()])
        if method == zipfile.ZIP_DEFLATED:
            self.out.write(FINAL)
            csize += len(FINAL)
        else:
            csize = done
        m.size, m.crc, m.csize = done, h.crc_value(), csize
        m.sha256, m.sha512 = h.sha256.hexdigest(), h.sha512_hex()
        self.hashed += h.hashed
        end = self.out.tell()
        info.file_size, info.compress_size, info.CRC = m.size, m.csize, m.crc
        self.out.seek(start)  # the header again, now with the sizes and CRC
        self.out.write(info.FileHeader(size * 1.05 > zipfile.ZIP64_LIMIT))
        self.out.seek(end)
        return m

    def close(self) -> None:
        self.zf.start_dir = self.out.tell()
        self.zf._didModify = True  # members were added past zipfile's own writers
        self.zf.close()


@contextmanager
def writing(path: Path, previous: Mapping[str, Member] | None = None,
            previous_zip: Path | None = None) -> Iterator[Writer]:
    """A :class:`Writer` of the zip ``path`` (written beside it, renamed when done),
    reusing what ``previous`` (the records of ``previous_zip``) says is unchanged. The
    caller adds the members in name order."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = None
    if previous and previous_zip is not None:
        try:
            fd = os.open(previous_zip, os.O_RDONLY)
        except OSError:
            fd = None
    try:
        with open(tmp, "wb", buffering=0) as out:
            w = Writer(out, previous, fd)
            yield w
            w.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if fd is not None:
            os.close(fd)
    os.replace(tmp, path)
