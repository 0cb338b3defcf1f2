"""Transport for media files: one GET per URL, gentle on the hosts it asks.

- **Only http(s), only public hosts.** Any other scheme (``file:``, ``ftp:``, ``data:``)
  is refused before a request, and so is a host that resolves to a loopback, private,
  link-local or reserved address (a crafted post must not make dnflow ask its own
  network: a cloud's metadata service, a router), unless ``allow_hosts`` names it
  (``DNFLOW_MEDIA_ALLOW_HOSTS``: the tests' loopback server). Redirects are followed
  here, at most 5, each hop checked the same way.
- **At most ``per_host`` requests to one host at a time** (4), across every thread.
- **Timeouts** on connecting and on each read; **bounded retries** (tenacity) of 429,
  5xx, timeouts, broken connections and truncated transfers, waiting what
  ``Retry-After`` asks (up to ``Backoff.reset_cap``), every wait counted against the
  job's budget (``Backoff.max_wait``), so a job ends in bounded time.
- **A size cap that stops the transfer**: a ``Content-Length`` over ``max_bytes`` is
  refused before the body; a body that grows past it is cut off there.

This module only fetches: whether the bytes are an image, and what is stored and
recorded, is dnflow.media.job's.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from dnflow import __version__
from dnflow.sources import runs

PER_HOST = 4
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
ALLOW_HOSTS_ENV = "DNFLOW_MEDIA_ALLOW_HOSTS"  # host or host:port, comma-separated


def allowed_hosts(env: Mapping[str, str]) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in (env.get(ALLOW_HOSTS_ENV) or "").split(",")
                     if h.strip())


def refusal(url: str, allow: Iterable[str] = ()) -> str | None:
    """Why ``url`` is not fetched (not http(s), or a host on a non-public address), or
    None. A name that does not resolve is left to the request (it fails, and is tried
    again on a later run: DNS can be down for a while)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    host = parts.hostname.lower()
    if host in allow or parts.netloc.lower() in allow:
        return None
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addresses = _resolved(host, parts.port or 80)
        except (OSError, UnicodeError):
            return None
    inner = sorted(str(a) for a in addresses if not a.is_global)
    if inner:
        return f"refused: {host} is not a public address ({', '.join(inner)})"
    return None


@functools.lru_cache(maxsize=4096)
def _resolved(host: str, port: int) -> frozenset[Any]:
    """The addresses of ``host``, looked up once per job (its media come from a few hosts,
    thousands of URLs each); a failed lookup is not kept, and is tried again."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return frozenset(ipaddress.ip_address(str(i[4][0]).split("%", 1)[0]) for i in infos)


@dataclass
class Backoff(runs.Backoff):
    """Media hosts': short waits, few tries; a failure is tried again on a later run."""

    base: float = 1.0
    cap: float = 30.0
    jitter: float = 0.0
    max_wait: float = 300.0  # seconds of waiting one job may spend in all
    max_attempts: int = 3
    reset_cap: float = 60.0  # a longer Retry-After is left to the next run

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 prefix: str = "DNFLOW_MEDIA", **defaults: Any) -> Backoff:
        return super().from_env(env, prefix, **defaults)


@dataclass
class Fetched:
    """What one URL gave: ``status`` ok (``data`` holds the body), gone or failed."""

    status: str
    http_status: int | None = None
    data: bytes | None = None
    reason: str = ""


class _Retry(Exception):
    def __init__(self, why: str, status: int | None = None, wait: float | None = None):
        super().__init__(why)
        self.status = status
        self.wait = wait


class _Final(Exception):
    def __init__(self, result: Fetched):
        super().__init__(result.reason)
        self.result = result


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for: a number or an HTTP date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now, 0.0)


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    waits: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Fetcher:
    """GETs media files from many threads at once, ``per_host`` at a time per host."""

    def __init__(self, max_bytes: int, *, timeout: tuple[float, float] = (10.0, 30.0),
                 per_host: int = PER_HOST, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = lambda line: None,
                 trust_env: bool = True, allow_hosts: Iterable[str] = ()) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.per_host = per_host
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.log = log
        self.stats = Stats()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        self._local = threading.local()
        self._trust_env = trust_env
        self.allow_hosts = frozenset(h.lower() for h in allow_hosts)

    def _session(self) -> requests.Session:
        # a Session is not documented thread-safe: one per thread, each with its pool
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = f"dnflow/{__version__} (+media archive)"
            s.trust_env = self._trust_env
            self._local.session = s
        return s

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._hosts_lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self.per_host))

    def get(self, url: str) -> Fetched:
        """The body of ``url`` (at most ``max_bytes``), or why not. Never raises for
        what a server or the network does."""
        parts = urlsplit(url)
        why = refusal(url, self.allow_hosts)
        if why:
            return Fetched("failed", reason=why)
        retrying = Retrying(retry=retry_if_exception_type(_Retry), wait=self._wait,
                            stop=self._stop, sleep=self.sleep, reraise=True,
                            before_sleep=self._note(url))
        try:
            for attempt in retrying:
                with attempt, self._slot(parts.netloc.lower()):
                    return self._once(url)
        except _Retry as e:
            return Fetched("failed", e.status, reason=f"{e} (gave up after "
                           f"{retrying.statistics.get('attempt_number', 1)} tries)")
        except _Final as e:
            return e.result
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str) -> Fetched:
        with self.stats.lock:
            self.stats.requests += 1
        try:
            for _ in range(MAX_REDIRECTS + 1):
                with self._session().get(url, stream=True, timeout=self.timeout,
                                         allow_redirects=False) as r:
                    if not r.is_redirect:
                        return self._answer(r)
                    url = urljoin(url, r.headers["location"])
                why = refusal(url, self.allow_hosts)
                if why:
                    raise _Final(Fetched("failed", r.status_code,
                                         reason=f"redirected: {why}"))
            raise _Final(Fetched("failed", reason="too many redirects"))
        except requests.exceptions.Timeout:
            raise _Retry("timed out") from None
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as e:
            raise _Retry(f"truncated transfer ({type(e).__name__})") from None
        except requests.exceptions.RequestException as e:
            raise _Retry(f"connection error ({type(e).__name__})") from None

    def _answer(self, r: requests.Response) -> Fetched:
        code = r.status_code
        if code in (404, 410):
            raise _Final(Fetched("gone", code, reason=f"HTTP {code}"))
        if code == 429 or code >= 500:
            wait = retry_after(r.headers.get("retry-after"), time.time())
            raise _Retry(f"HTTP {code}", code, wait)
        if code != 200:
            raise _Final(Fetched("failed", code, reason=f"HTTP {code}"))
        length = r.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise _Final(Fetched("failed", code, reason=f"too big: {int(length):,} bytes "
                                 f"(max_bytes is {self.max_bytes:,}); not downloaded"))
        body = bytearray()
        for chunk in r.iter_content(CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise _Final(Fetched("failed", code, reason="too big: over max_bytes "
                                     f"({self.max_bytes:,}); stopped after {len(body):,} "
                                     "bytes"))
        return Fetched("ok", code, bytes(body))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.wait if isinstance(exc, _Retry) else None
        if asked is not None:
            return asked + self.backoff.jitter  # over reset_cap: _stop gives up
        return self.backoff.exp(state.attempt_number)

    def _stop(self, state: RetryCallState) -> bool:
        upcoming = state.upcoming_sleep
        if upcoming > self.backoff.reset_cap:
            return True
        with self.stats.lock:
            if self.backoff.gives_up(state.attempt_number, self.stats.waits, upcoming):
                return True
            self.stats.waits += upcoming  # reserved now: other threads count it too
            self.stats.retries += 1
            return False

    def _note(self, url: str) -> Callable[[RetryCallState], None]:
        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.log(f"{url}: {exc}, retrying in {state.upcoming_sleep:.1f}s "
                     f"(try {state.attempt_number + 1} of {self.backoff.max_attempts})")
        return note
