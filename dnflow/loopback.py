"""What every loopback fake API shares (dnflow.fakeapi, fakebsky, fakemastodon): its
HTTP server on a thread of its own for tests, and serving it from the command line."""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import orjson


class QuietServer(ThreadingHTTPServer):
    """A fake's HTTP server: its handlers reach the fake's ``state`` and the fake."""

    daemon_threads = True
    state: Any
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (or a connection the 'reset' fault cut) is no news


class LoopbackServer:
    """A fake API whose ``server`` (an http.server) answers on loopback; a context
    manager that serves it on a daemon thread."""

    server: QuietServer
    thread_name = "dnflow-fake"

    def bind(self, host: str, port: int, handler: type[BaseHTTPRequestHandler],
             state: Any) -> None:
        """Make the server (port 0: any free one) whose handlers see ``state``."""
        self.server = QuietServer((host, port), handler)
        self.server.state = state
        self.server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # the fake's kinds of fault (its FAULTS), for set_faults
    fault_kinds: Sequence[str] = ()

    @property
    def requests(self) -> list[dict]:
        """The request log (never a secret: each fake logs what it may show)."""
        with self.server.state.lock:
            return list(self.server.state.log)

    def set_faults(self, faults: Iterable[str] | Mapping[str, str] | None,
                   reset_count: bool = True) -> None:
        """Faults from now on (see :func:`parse_faults`); the request count from 0."""
        with self.server.state.lock:
            self.server.state.faults = parse_faults(faults, self.fault_kinds)
            if reset_count:
                self.server.state.count = 0

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name=self.thread_name)
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Limit:
    """A rate limit's window as a fake counts it."""

    limit: int
    window: float
    start: float = 0.0
    used: int = 0


@dataclass
class Fault:
    kind: str  # one of the fake's kinds of fault
    message: str = ""


def parse_faults(specs: Iterable[str] | Mapping[str, str] | None,
                 kinds: Sequence[str]) -> list[tuple[int, int, Fault]]:
    """``["3=429", "5-6=503", "8+=reset", "2=400:message"]`` → [(first, last, Fault)]:
    a fault at request N, N to M, or N and every later one."""
    if not specs:
        return []
    items = specs.items() if isinstance(specs, Mapping) else (s.split("=", 1) for s in specs)
    out = []
    for where, what in items:
        kind, _, message = str(what).partition(":")
        if kind not in kinds:
            raise ValueError(f"unknown fault {kind!r}: use one of {', '.join(kinds)}")
        where = str(where).strip()
        if where.endswith("+"):
            lo, hi = int(where[:-1]), sys.maxsize
        elif "-" in where:
            a, b = where.split("-", 1)
            lo, hi = int(a), int(b)
        else:
            lo = hi = int(where)
        out.append((lo, hi, Fault(kind, message)))
    return out


def add_common_args(ap: argparse.ArgumentParser) -> None:
    """The options every fake's command line has."""
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")


def serve(api: LoopbackServer) -> int:
    """Serve ``api`` in this thread until interrupted (Ctrl-C or SIGTERM)."""

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        api.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api.server.server_close()
    return 0


class JSONHandler(BaseHTTPRequestHandler):
    """A fake's request handler: JSON answers, quiet (each fake logs its requests
    itself, at its /_admin/log), and a connection cut mid-answer (a fault)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def pool_newest(self, newest: Any) -> dict[str, Any]:
        """What /_admin/pool says of the pool's newest item (a fake with a pool)."""
        return {}

    def _admin_get(self, path: str) -> bool:
        """The fakes' shared admin reads, answered here (True) or not: /_admin/log, the
        request log, and /_admin/pool, the pool's size and :meth:`pool_newest`."""
        st = self.server.state  # type: ignore[attr-defined]
        if path == "/_admin/log":
            with st.lock:
                self._send(200, list(st.log))
            return True
        if path == "/_admin/pool" and hasattr(st, "pool"):
            self._send(200, {"size": len(st.pool), **self.pool_newest(st.pool.newest())})
            return True
        return False

    def _json_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        return orjson.loads(self.rfile.read(length)) if length else {}

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
              raw: bytes | None = None) -> int:
        data = raw if raw is not None else orjson.dumps(body)
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _reset_mid_answer(self, body: bytes, headers: Mapping[str, str]) -> int:
        """Half of ``body``, then a TCP reset (SO_LINGER 0: close() sends RST, not FIN)."""
        self.send_response(200)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body[: max(1, len(body) // 2)])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        return 200
