"""Loopback image server for tests and demos: real photographs and variants of them, with
faults per path.

It serves every file of a folder (the real photographs of ``shared/corpus/images``) as
``/<name>``, plus variants made from each ``<stem>``: ``/<stem>-small.jpg`` (half the
size, JPEG quality 40) and ``/<stem>-gps.jpg`` (a JPEG carrying GPS EXIF, as a phone's
photo does). Faults are given per path, counted by that path's own requests (the
``parse_faults`` specs of dnflow.loopback: ``{"/a.png": ["1=500"]}`` fails the first
request of /a.png only). It counts requests per path and the most ever in flight at once.
"""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from dnflow.loopback import (
    Fault,
    JSONHandler,
    LoopbackServer,
    add_common_args,
    parse_faults,
    serve,
)

FAULTS = (
    "404", "410", "500",  # that status
    "429",  # Too Many Requests, Retry-After: the message (default 1) seconds
    "slow",  # sleep the message's seconds (default 5) before answering
    "wrong_type",  # the file, sent as text/plain
    "not_image",  # an HTML page, sent as image/jpeg
    "truncated",  # Content-Length of the whole file, half of it, then the connection closes
    "cut_image",  # the first half of the file, with a Content-Length that matches it
    "oversize",  # the file then 64 MiB of zeros, no Content-Length (streamed until closed)
    "huge",  # like oversize, but its Content-Length says so up front
    "redirect",  # 302 to the message (a URL or a path)
)
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".gif": "image/gif", ".webp": "image/webp"}
OVERSIZE = 64 * 1024 * 1024


def gps_exif() -> bytes:
    """EXIF with a GPS position (52.37 N, 4.89 E) and a camera name."""
    exif = Image.Exif()
    exif[0x010F] = "dnflow test camera"  # Make
    gps = {1: "N", 2: (52.0, 22.0, 12.0), 3: "E", 4: (4.0, 53.0, 24.0)}
    exif[0x8825] = gps  # GPSInfo
    return exif.tobytes()


def variants(name: str, data: bytes) -> dict[str, bytes]:
    """``<stem>-small.jpg`` and ``<stem>-gps.jpg`` of one photograph."""
    stem = name.rsplit(".", 1)[0]
    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB")
    small, gps = io.BytesIO(), io.BytesIO()
    rgb.resize((max(rgb.width // 2, 1), max(rgb.height // 2, 1))).save(small, "JPEG",
                                                                        quality=40)
    rgb.save(gps, "JPEG", quality=85, exif=gps_exif())
    return {f"{stem}-small.jpg": small.getvalue(), f"{stem}-gps.jpg": gps.getvalue()}


@dataclass
class State:
    files: dict[str, bytes]
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: list[dict] = field(default_factory=list)
    faults: list = field(default_factory=list)  # (unused: faults are per path)
    path_faults: dict[str, list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    count: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bytes_sent: dict[str, int] = field(default_factory=dict)


class ImageHandler(JSONHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        st = self.server.state
        path = self.path.split("?", 1)[0]
        with st.lock:
            st.count += 1
            n = st.counts[path] = st.counts.get(path, 0) + 1
            st.log.append({"path": path, "n": n, "at": time.time()})
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
            fault = next((f for lo, hi, f in st.path_faults.get(path, ())
                          if lo <= n <= hi), None)
        kind = fault.kind if fault else ""
        try:
            time.sleep(st.delay + (float(fault.message or 5) if kind == "slow" else 0.0))
        finally:
            # in flight until its answer starts: a client may send its next request as
            # soon as it has read this one, before this thread runs another line
            with st.lock:
                st.in_flight -= 1
        self._answer(path, st.files.get(path.lstrip("/")), fault)

    def _answer(self, path: str, data: bytes | None, fault: Fault | None) -> None:
        kind = fault.kind if fault else ""
        if kind == "redirect":
            self._plain(302, b"moved\n", {"Location": fault.message})
        elif data is None or kind in ("404", "410", "500"):
            status = int(kind) if kind in ("404", "410", "500") else 404
            self._plain(status, f"{status}\n".encode())
        elif kind == "429":
            self._plain(429, b"slow down\n", {"Retry-After": fault.message or "1"})
        elif kind == "not_image":
            self._plain(200, b"<!doctype html><title>Log in</title><p>Log in to see this",
                        {}, "image/jpeg")
        elif kind == "truncated":
            self._bytes(data[: len(data) // 2], self._type(path), length=len(data))
            self.close_connection = True
        elif kind == "cut_image":
            self._bytes(data[: len(data) // 2], self._type(path))
        elif kind in ("oversize", "huge"):
            self._stream(path, data, declare=kind == "huge")
        else:
            ctype = "text/plain; charset=utf-8" if kind == "wrong_type" else self._type(path)
            self._bytes(data, ctype)

    def _type(self, path: str) -> str:
        return TYPES.get(Path(path).suffix.lower(), "application/octet-stream")

    def _plain(self, status: int, body: bytes, headers: Mapping[str, str] | None = None,
               ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _bytes(self, body: bytes, ctype: str, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _stream(self, path: str, data: bytes, declare: bool) -> None:
        """The file and then zeros, until OVERSIZE bytes or the client hangs up; the
        bytes that left are counted (they show where a client stopped)."""
        self.send_response(200)
        self.send_header("content-type", self._type(path))
        if declare:
            self.send_header("content-length", str(OVERSIZE))
        else:
            self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        sent, chunk = 0, data + bytes(64 * 1024)
        st = self.server.state
        try:
            while sent < OVERSIZE:
                piece = chunk[: OVERSIZE - sent]
                self.wfile.write(piece)
                self.wfile.flush()
                sent += len(piece)
                chunk = bytes(64 * 1024)
        except OSError:
            pass  # the client stopped reading: what we want to see
        finally:
            with st.lock:
                st.bytes_sent[path] = st.bytes_sent.get(path, 0) + sent


class FakeImages(LoopbackServer):
    """``with FakeImages(folder) as srv: srv.url + "/astronaut.png"``."""

    fault_kinds = FAULTS
    thread_name = "dnflow-fake-images"

    def __init__(self, folder: str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 0, delay: float = 0.0,
                 extra: Mapping[str, bytes] | None = None) -> None:
        files: dict[str, bytes] = {}
        for p in sorted(Path(folder).iterdir()) if folder else ():
            if p.suffix.lower() in TYPES:
                files[p.name] = p.read_bytes()
                files.update(variants(p.name, files[p.name]))
        files.update(extra or {})
        self.bind(host, port, ImageHandler, State(files, delay))

    @property
    def state(self) -> State:
        return self.server.state

    def set_path_faults(self, faults: Mapping[str, Iterable[str]]) -> None:
        """Faults from now on, per path (``{"/a.png": ["1+=404"]}``); counts from 0."""
        parsed = {p if p.startswith("/") else "/" + p: parse_faults(list(specs), FAULTS)
                  for p, specs in faults.items()}
        with self.state.lock:
            self.state.path_faults = parsed
            self.state.counts = {}

    def hits(self, path: str | None = None) -> int:
        """Requests so far (of ``path``, or of every path)."""
        with self.state.lock:
            return self.state.counts.get(path, 0) if path else sum(self.state.counts.values())

    def reset_stats(self) -> None:
        with self.state.lock:
            self.state.counts, self.state.log = {}, []
            self.state.max_in_flight, self.state.bytes_sent = 0, {}

    def stats(self) -> dict[str, Any]:
        with self.state.lock:
            return {"max_in_flight": self.state.max_in_flight,
                    "bytes_sent": dict(self.state.bytes_sent)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m dnflow.fakeimages",
        description="Serve a folder of images (and their -small.jpg and -gps.jpg variants) "
                    "on loopback, with faults per path; prints its URL. Let dnflow fetch "
                    "from it with DNFLOW_MEDIA_ALLOW_HOSTS=127.0.0.1.")
    add_common_args(ap)
    ap.add_argument("--folder", required=True, help="the images to serve, e.g. "
                                                   "../shared/corpus/images")
    ap.add_argument("--fault", action="append", default=[], metavar="PATH=N=KIND",
                    help="a fault at that path's request N (N, N-M or N+): "
                         + ", ".join(FAULTS) + " (e.g. /camera.png=1+=404)")
    a = ap.parse_args(argv)
    faults: dict[str, list[str]] = {}
    for spec in a.fault:
        path, _, rest = spec.partition("=")
        faults.setdefault(path, []).append(rest)
    api = FakeImages(a.folder, host=a.host, port=a.port, delay=a.delay)
    try:
        api.set_path_faults(faults)
    except ValueError as e:
        ap.error(str(e))
    print(api.url, flush=True)
    print(f"fake image host: {len(api.state.files)} files under {api.url}/",
          file=sys.stderr, flush=True)
    return serve(api)


if __name__ == "__main__":
    raise SystemExit(main())
