"""Transport for Mastodon's hashtag timeline: one HTTP client for every instance.

``GET <instance>/api/v1/timelines/tag/<tag>`` with ``limit=40``, ``any[]``, ``all[]``,
``none[]`` and a ``max_id`` or ``min_id`` cursor; nothing else of the API is used. This
module only fetches: paging decisions and the archive are dnflow.sources.mastodon's.

- **No token by default.** ``MASTODON_TOKEN`` (or ``MASTODON_TOKEN_FILE``, the path of a
  file holding it) serves instances that require login: entries ``host=token`` are sent
  to that host only, from its first request; a bare token only to an instance that has
  answered 401 without one (a token belongs to one server: sending it elsewhere hands it
  to another server's operator). A 401 says which instance refused and why. Tokens are
  never in a message, a record, a log line or a file this module writes.
- **Bounded retries** (tenacity, as for X): 5xx, 429, broken connections, timeouts and
  malformed bodies are retried with backoff; every wait of a run counts against one
  budget, so a run ends in bounded time whatever the servers do.
- **Rate limits** are per instance (300 requests per 5 minutes; ``X-RateLimit-*``, the
  reset an ISO time). When an answer says none is left, the next request waits for the
  reset instead of provoking a 429. The last answer of each instance is shared with the
  next collection job through ``<datadir>/.mastodon-rate-limit.json``.
- ``DNFLOW_MASTODON_API_URL`` sends every instance named by host to ``<url>/<host>``
  (the loopback fake of dnflow.fakemastodon), as ``DNFLOW_X_API_URL`` does for X.
- The ``Link`` header is read for its cursors only: the next request is always built
  from the instance's own base URL, so a server cannot send the client (and a token)
  elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception

from dnflow import __version__
from dnflow.platforms import instance_url
from dnflow.redact import check_secret, redact, register
from dnflow.sources import SourceError, runs
from dnflow.sources.runs import _read_json

TOKEN_ENV = "MASTODON_TOKEN"
TOKEN_FILE_ENV = "MASTODON_TOKEN_FILE"
API_URL_ENV = "DNFLOW_MASTODON_API_URL"
PAGE_SIZE = 40  # the most a timeline page holds
RATE_LIMIT_FILE = ".mastodon-rate-limit.json"

Log = Callable[[str], None]


class MastodonError(SourceError):
    """An expected failure; ``str()`` is one line naming the instance, never a token.
    ``transient``: the window is kept open and resumed (retries ran out); otherwise the
    instance refused (401, 403, 404…) and the others still complete the window."""

    def __init__(self, message: str, *, status: int | None = None,
                 transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


@dataclass
class Backoff(runs.Backoff):
    """Mastodon's: its rate limits reset every 5 minutes."""

    max_wait: float = 900.0  # total seconds one run may spend waiting (three windows)
    reset_cap: float = 360.0  # a reset further than one 5-minute window is clock skew

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 prefix: str = "DNFLOW_MASTODON", **defaults: Any) -> Backoff:
        return super().from_env(env, prefix, **defaults)


# --------------------------------------------------------------------------- tokens


@dataclass
class Tokens:
    """The tokens of the environment: per host, and one for any host that requires
    login. ``secrets`` lists them all, for scrubbing any text that might hold one."""

    by_host: dict[str, str] = field(default_factory=dict)
    fallback: str | None = None
    source: str = TOKEN_ENV

    @property
    def secrets(self) -> list[str]:
        return [t for t in [*self.by_host.values(), self.fallback] if t]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact(text)


def read_tokens(env: Mapping[str, str]) -> Tokens:
    """Tokens from ``MASTODON_TOKEN``, else from the file ``MASTODON_TOKEN_FILE`` names:
    entries separated by spaces, commas or lines, each ``host=token`` or a bare token.
    MastodonError (naming the variable or the file, never a value) when unreadable."""
    text = (env.get(TOKEN_ENV) or "").strip()
    source = TOKEN_ENV
    if not text:
        path = (env.get(TOKEN_FILE_ENV) or "").strip()
        if not path:
            return Tokens()
        text = runs.read_secret_file(TOKEN_FILE_ENV, path, MastodonError)
        source = f"{TOKEN_FILE_ENV} ({path})"
    tokens = Tokens(source=source)
    for entry in text.replace(",", " ").split():
        host, sep, token = entry.partition("=")
        if sep and _HOSTLIKE.fullmatch(host):
            if not token:
                raise MastodonError(f"{source}: the entry for {host} has no token after '='")
            tokens.by_host[_host_key(host)] = token
        else:  # a bare token (which may hold "=" itself)
            if tokens.fallback is not None:
                raise MastodonError(f"{source} holds more than one token without a host: "
                                    "write them as host=token")
            tokens.fallback = entry
    register(*tokens.secrets)
    for host, token in [*tokens.by_host.items(), ("", tokens.fallback)]:
        why = token and check_secret(token, f"{source}'s token"
                                     + (f" for {host}" if host else ""))
        if why:
            raise MastodonError(why)
    return tokens


# the host of a host=token entry: a name with a dot, or localhost, an optional port
_HOSTLIKE = re.compile(r"(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:[0-9]{1,5})?")


def _host_key(instance: str) -> str:
    return (urlsplit(instance_url(instance)).netloc or instance).lower()


# --------------------------------------------------------------------------- instances


@dataclass(frozen=True)
class Instance:
    """One instance of a search: ``name`` as searches.yaml gives it (the coverage is
    reported under it), ``base`` the URL requests go to."""

    name: str
    base: str

    @property
    def host(self) -> str:
        return _host_key(self.name)

    @classmethod
    def of(cls, name: str, env: Mapping[str, str]) -> Instance:
        mapped = (env.get(API_URL_ENV) or "").strip().rstrip("/")
        if mapped and "://" not in name:
            return cls(name, f"{mapped}/{name.strip().rstrip('/')}")
        return cls(name, instance_url(name))

    def timeline_url(self, tag: str) -> str:
        return f"{self.base}/api/v1/timelines/tag/{quote(tag, safe='')}"


def _iso_epoch(value: Any) -> float | None:
    """X-RateLimit-Reset: Mastodon sends an ISO time; some servers epoch seconds."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    with contextlib.suppress(ValueError):
        return float(text)
    try:
        t = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def cursors(response: requests.Response) -> dict[str, str]:
    """``{"max_id": …}`` from the Link header's rel=next, ``{"min_id": …}`` from
    rel=prev: only the cursors, never the URLs."""
    out: dict[str, str] = {}
    for rel, key in (("next", "max_id"), ("prev", "min_id")):
        url = (response.links.get(rel) or {}).get("url")
        if url:
            value = parse_qs(urlsplit(url).query).get(key)
            if value and value[-1]:
                out[key] = value[-1]
    return out


class _Retryable(Exception):
    """A failed request worth trying again (status kept for the message)."""

    def __init__(self, why: str, status: int | None = None, reset: float | None = None):
        super().__init__(why)
        self.status = status
        self.reset = reset


Stats = runs.Stats


def _rate_limited(exc: BaseException) -> bool:
    return isinstance(exc, _Retryable) and exc.status == 429


@dataclass
class Page:
    """One answer: its statuses (verbatim), headers kept for provenance, cursors."""

    statuses: list
    link: str | None
    cursors: dict[str, str]
    rate: dict[str, str]
    url: str
    params: dict[str, Any]


class Client(runs.ResetWaits):
    """Hashtag timelines of any instance, with bounded retries and rate-limit pacing."""

    def __init__(self, tokens: Tokens, *, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, log: Log = lambda line: None,
                 timeout: float = 30.0, rng: random.Random | None = None,
                 shared_limits: Path | None = None, loopback: bool = False) -> None:
        self.tokens = tokens
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.clock = clock
        self.log = log
        self.timeout = timeout
        self.rng = rng or random.Random()
        self.stats = Stats()
        self.shared_limits = shared_limits
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"dnflow/{__version__} (+hashtag archive)"
        if loopback:
            self.session.trust_env = False  # no proxy from the environment on loopback
        self.limits: dict[str, dict[str, str]] = {}  # last rate-limit headers per instance
        self.login: set[str] = set()  # hosts that answered 401 without a token

    # -- tokens

    def _token_for(self, inst: Instance) -> str | None:
        token = self.tokens.by_host.get(inst.host)
        if token:
            return token
        return self.tokens.fallback if inst.host in self.login else None

    # -- rate limits

    def _remember(self, inst: Instance, headers: Mapping[str, str]) -> None:
        rate = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit")}
        if not rate:
            return
        self.limits[inst.base] = rate
        if self.shared_limits is None:
            return
        state = _read_json(self.shared_limits)
        state = state if isinstance(state, dict) else {}
        state[inst.base] = {"remaining": rate.get("x-ratelimit-remaining"),
                            "reset": rate.get("x-ratelimit-reset"),
                            "limit": rate.get("x-ratelimit-limit")}
        tmp = self.shared_limits.with_name(f".{self.shared_limits.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_bytes(orjson.dumps(state, option=orjson.OPT_SORT_KEYS))
            os.replace(tmp, self.shared_limits)

    def pace(self, inst: Instance) -> None:
        """Before a request: when the instance's last answer (this job's, or an earlier
        job's) left no request in its window, wait for the reset."""
        rate = self.limits.get(inst.base)
        if rate is None and self.shared_limits is not None:
            state = _read_json(self.shared_limits)
            last = state.get(inst.base) if isinstance(state, dict) else None
            if isinstance(last, dict):
                rate = {"x-ratelimit-remaining": str(last.get("remaining")),
                        "x-ratelimit-reset": str(last.get("reset"))}
                self.limits[inst.base] = rate
        if not rate or rate.get("x-ratelimit-remaining") != "0":
            return
        reset = _iso_epoch(rate.get("x-ratelimit-reset"))
        if reset is None or reset <= self.clock():
            return
        wait = self._until(reset)
        if self.stats.waits + wait > self.backoff.max_wait:
            raise MastodonError(
                f"{inst.name}: rate limit used up and its reset is {wait:.0f}s away, more "
                "than the wait budget left (the window is resumed on the next run)",
                status=429, transient=True)
        self.stats.waits += wait
        self.stats.rate_limit_waits += 1
        self.log(f"{inst.name}: rate limit: 0 requests left, sleeping {wait:.1f}s for "
                 "the reset")
        self.sleep(wait)
        rate["x-ratelimit-remaining"] = ""  # waited: the next answer says what is left


    # -- one request, retried

    def reset_of(self, exc: BaseException) -> float | None:
        return exc.reset if isinstance(exc, _Retryable) else None

    def _before_sleep(self, inst: Instance) -> Callable[[RetryCallState], None]:
        def note(state: RetryCallState) -> None:
            exc, wait = self.stats.slept(state, _rate_limited)
            self.log(f"{inst.name}: {exc}, sleeping {wait:.1f}s (retry "
                     f"{state.attempt_number}, {self.stats.waits:.0f}s of "
                     f"{self.backoff.max_wait:.0f}s wait budget used)")
        return note

    def _get(self, inst: Instance, url: str, params: dict[str, Any]) -> requests.Response:
        token = self._token_for(inst)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.stats.requests += 1
        try:
            r = self.session.get(url, params=params, headers=headers, timeout=self.timeout,
                                 allow_redirects=False)
        except requests.exceptions.Timeout:
            raise _Retryable("timed out") from None
        except requests.exceptions.RequestException as e:
            raise _Retryable(f"connection error ({type(e).__name__})") from None
        self._remember(inst, r.headers)
        if r.status_code == 429:
            reset = _iso_epoch(r.headers.get("x-ratelimit-reset"))
            raise _Retryable("rate limit (429)" + (", waiting for the reset" if reset else ""),
                             429, reset)
        if r.status_code >= 500:
            raise _Retryable(f"server error {r.status_code}", r.status_code)
        return r

    def _retrying(self, inst: Instance) -> Retrying:
        """A request's retries at ``inst``, after waiting its turn (its rate limit)."""
        self.pace(inst)
        return Retrying(retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                        wait=self._wait, stop=self._stop, sleep=self.sleep,
                        before_sleep=self._before_sleep(inst), reraise=True)

    def page(self, inst: Instance, tag: str, params: dict[str, Any]) -> Page:
        """One page of a tag timeline (statuses newest first). MastodonError when the
        instance refuses or retries run out."""
        url = inst.timeline_url(tag)
        retry = self._retrying(inst)
        try:
            for attempt in retry:
                with attempt:
                    r = self._get(inst, url, params)
                    if r.status_code == 401 and inst.host not in self.login and (
                            self.tokens.fallback and not self.tokens.by_host.get(inst.host)):
                        # this instance requires login: the bare token, once
                        self.login.add(inst.host)
                        self.log(f"{inst.name}: 401 without a token; trying the token from "
                                 f"{self.tokens.source}")
                        r = self._get(inst, url, params)
                    if r.status_code != 200:
                        raise self._refused(inst, r)
                    statuses = _statuses(r)
        except _Retryable as e:
            raise MastodonError(
                f"{inst.name}: gave up after {self.stats.retries} retries and "
                f"{self.stats.waits:.0f}s of waiting: {e} (the window is resumed on the "
                "next run)", status=e.status, transient=True) from None
        rate = {k.lower(): v for k, v in r.headers.items()
                if k.lower().startswith("x-ratelimit")}
        return Page(statuses, r.headers.get("link"), cursors(r), rate, url, params)

    def status_exists(self, inst: Instance, status_id: str) -> bool:
        """Whether ``inst`` still shows the status (``GET /api/v1/statuses/:id``: 404 is
        gone). MastodonError when it refuses otherwise or retries run out."""
        url = f"{inst.base}/api/v1/statuses/{quote(status_id, safe='')}"
        retry = self._retrying(inst)
        try:
            for attempt in retry:
                with attempt:
                    r = self._get(inst, url, {})
        except _Retryable as e:
            raise MastodonError(f"{inst.name}: gave up after {self.stats.retries} retries: "
                                f"{e}", status=e.status, transient=True) from None
        if r.status_code in (200, 404):
            return r.status_code == 200
        raise self._refused(inst, r)

    def _refused(self, inst: Instance, r: requests.Response) -> MastodonError:
        why = _error_text(r)
        token = self._token_for(inst)
        if r.status_code == 401:
            if token:
                text = (f"{inst.name} rejected the token from {self.tokens.source} "
                        f"(401 Unauthorized: {why})")
            else:
                text = (f"{inst.name} requires login for its hashtag timelines (401 "
                        f"Unauthorized: {why}); give a token of an account there in "
                        f"{TOKEN_ENV} as {inst.host}=<token>")
        elif r.status_code == 403:
            text = f"{inst.name} refused access (403 Forbidden: {why})"
        elif r.status_code == 404:
            text = (f"{inst.name} has no such timeline (404 Not Found: {why}): is it a "
                    "Mastodon instance?")
        elif 300 <= r.status_code < 400:
            text = (f"{inst.name} redirected the request ({r.status_code}) to "
                    f"{r.headers.get('location', '?')!r}: give that instance's address")
        else:
            text = f"{inst.name} answered {r.status_code} ({why})"
        return MastodonError(self.tokens.scrub(text), status=r.status_code)


def _statuses(r: requests.Response) -> list:
    try:
        body = orjson.loads(r.content)
    except orjson.JSONDecodeError:
        raise _Retryable("malformed response body (not JSON)") from None
    if not isinstance(body, list):
        raise _Retryable(f"malformed response body (JSON {type(body).__name__}, not a "
                         "list of statuses)")
    return body


def _error_text(r: requests.Response) -> str:
    """The server's reason (Mastodon: ``{"error": "…"}``), one line, clipped."""
    try:
        body = orjson.loads(r.content)
        why = body.get("error") if isinstance(body, dict) else None
    except orjson.JSONDecodeError:
        why = None
    why = why if isinstance(why, str) and why.strip() else (r.reason or "no reason given")
    why = " ".join(why.split())
    return why[:200] + ("…" if len(why) > 200 else "")
