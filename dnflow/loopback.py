"""What every loopback fake API shares (dnflow.fakeapi, fakebsky, fakemastodon): its
HTTP server on a thread of its own for tests, and serving it from the command line."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any, Self


class LoopbackServer:
    """A fake API whose ``server`` (an http.server) answers on loopback; a context
    manager that serves it on a daemon thread."""

    server: Any
    thread_name = "dnflow-fake"

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
