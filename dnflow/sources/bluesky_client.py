"""The Bluesky API as dnflow uses it: a logged-in session and app.bsky.feed.searchPosts.

Transport only (dnflow.sources.bluesky archives what it returns; dnflow.formats.bluesky
reads it). Why it is shaped like this:

- ``requests`` + ``tenacity``, already dnflow's (X's transport and retries), rather than
  the ``atproto`` SDK: the archive keeps each answer's bytes verbatim, which the SDK turns
  into pydantic models; retries, rate-limit pacing and a session shared between processes
  would be ours anyway; and it would add pydantic, cryptography and websockets for three
  XRPC calls.
- **One login per run, shared.** ``createSession`` allows 30 logins per 5 minutes and
  300 a day per account, and every search is a separate collection job (a process). So
  the session lives in a file outside the project (:func:`state_dir`:
  ``$XDG_STATE_HOME/dnflow`` or ``~/.local/state/dnflow``, mode 600, one per account and
  service), taken under a lock (``flock``): the first job of a run logs in, the others
  and later runs reuse its tokens while they are valid, and an expired access token is
  refreshed (``refreshSession``), not replaced by a new login. A job logs in at most
  once whatever the server does.
- ``ExpiredToken`` (and a revoked session's ``InvalidToken``) → refresh (or adopt the
  tokens another job just refreshed), then the request again; ``RateLimit-*`` headers
  are respected (a 429 waits for ``RateLimit-Reset``; a window with no request left is
  waited out before the next one, its last answer shared by the jobs of a data
  directory); ``UpstreamFailure``, 5xx, broken connections and malformed bodies are
  retried with backoff, within one wait budget per run (:class:`dnflow.sources.runs.
  Backoff`).
- The app password and the tokens never reach an error message, a log line, a record or
  any file of the project: messages are made here from the XRPC error's name and
  message, scrubbed of every secret the client holds.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception

from dnflow.redact import check_secret, redact, register
from dnflow.sources import SourceError, runs
from dnflow.sources.runs import Backoff, Log, _read_json

API_URL = "https://bsky.social"  # the PDS entryway: logs in, and proxies app.bsky.* calls
API_URL_ENV = "DNFLOW_BLUESKY_API_URL"
HANDLE_ENV = "BLUESKY_HANDLE"
PASSWORD_ENV = "BLUESKY_APP_PASSWORD"
# or the path of a file holding it: then only a path is in the environment
PASSWORD_FILE_ENV = "BLUESKY_APP_PASSWORD_FILE"
SEARCH = "app.bsky.feed.searchPosts"
GET_POSTS = "app.bsky.feed.getPosts"
CREATE = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"
# <datadir>/.bluesky-rate-limit.json: the last RateLimit-* answer, for the next job
RATE_LIMIT_FILE = ".bluesky-rate-limit.json"
EARLY = 60.0  # an access token this close to its expiry is refreshed before use
MAX_REFRESHES = 5  # session renewals one client may do (a server that refuses every token)
# the project's folders a session must never be kept in (data, pages, logs, metadata)
PUBLISHED = ("data", "site", "logs", ".snakemake")


def backoff_from_env(env: Mapping[str, str] | None = None) -> Backoff:
    """Bluesky's bounds (rate-limit windows are 5 minutes), overridden by
    ``DNFLOW_BLUESKY_MAX_WAIT``, ``_BACKOFF``, ``_JITTER``, ``_ATTEMPTS``."""
    return Backoff.from_env(env, "DNFLOW_BLUESKY", max_wait=900.0, reset_cap=330.0)


class BlueskyError(SourceError):
    """An expected failure; ``str()`` is the one line a run record and the page show."""

    def __init__(self, message: str, *, status: int | None = None, error: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = error  # the XRPC error name (ExpiredToken, InvalidRequest…)


@dataclass
class Credentials:
    handle: str
    password: str = field(repr=False)


def credentials(env: Mapping[str, str]) -> Credentials:
    """BLUESKY_HANDLE and BLUESKY_APP_PASSWORD (or the first line of the file
    BLUESKY_APP_PASSWORD_FILE names); BlueskyError naming the variable when missing."""
    handle = (env.get(HANDLE_ENV) or "").strip().lstrip("@")
    if not handle:
        raise BlueskyError(f"{HANDLE_ENV} is not set: export the handle of the Bluesky "
                           f"account to search with, and {PASSWORD_ENV} (an app password, "
                           f"or {PASSWORD_FILE_ENV}), before running snakemake")
    password = (env.get(PASSWORD_ENV) or "").strip()
    if password:
        return Credentials(handle, _checked(password, PASSWORD_ENV))
    path = (env.get(PASSWORD_FILE_ENV) or "").strip()
    if not path:
        raise BlueskyError(f"{PASSWORD_ENV} is not set: create an app password "
                           f"(Settings → Privacy and security → App passwords) and export "
                           f"it, or {PASSWORD_FILE_ENV}, the path of a file holding it")
    password = runs.first_line_secret(PASSWORD_FILE_ENV, path, "the app password",
                                      BlueskyError)
    return Credentials(handle, _checked(password, f"the first line of {PASSWORD_FILE_ENV} "
                                                  f"({path})"))


def _checked(password: str, name: str) -> str:
    register(password)
    why = check_secret(password, name)
    if why is not None:
        raise BlueskyError(why)
    return password


# --------------------------------------------------------------------------- session file


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where sessions are kept: ``$XDG_STATE_HOME/dnflow``, else ``~/.local/state/dnflow``
    (never in the project: the collection jobs' data, logs and site are there)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base).expanduser() / "dnflow"


def token_expiry(token: str) -> float | None:
    """The ``exp`` of a JWT (not verified: only to refresh before the server says so)."""
    try:
        body = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, AttributeError, orjson.JSONDecodeError):
        return None


class SessionStore:
    """One account's session on one service, in a mode-600 file shared by every job.

    The file holds ``{service, handle, did, accessJwt, refreshJwt}``; :meth:`locked`
    holds an exclusive ``flock`` on a lock file beside it while a job reads, logs in,
    refreshes and writes, so two jobs never log in at once."""

    def __init__(self, directory: Path, service: str, handle: str,
                 workdir: Path | None = None) -> None:
        directory = Path(directory).expanduser().absolute()
        work = (workdir or Path.cwd()).absolute()
        for kept in PUBLISHED:  # what the pipeline writes, publishes or logs
            inside = work / kept
            if directory == inside or inside in directory.parents:
                raise BlueskyError(f"the Bluesky session would be kept in {directory}, "
                                   f"inside the project's {kept}/: set XDG_STATE_HOME to a "
                                   "folder outside it")
        key = hashlib.sha256(f"{service}\n{handle.casefold()}".encode()).hexdigest()[:16]
        self.path = directory / f"bluesky-session-{key}.json"
        self.lock_path = directory / f"bluesky-session-{key}.lock"
        self.service, self.handle = service, handle

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self) -> dict | None:
        s = _read_json(self.path)
        if (isinstance(s, dict) and s.get("service") == self.service
                and s.get("handle", "").casefold() == self.handle.casefold()
                and isinstance(s.get("accessJwt"), str) and isinstance(s.get("refreshJwt"),
                                                                       str)):
            return s
        return None

    def write(self, session: Mapping[str, Any]) -> None:
        data = orjson.dumps({"service": self.service, "handle": self.handle,
                             "did": session.get("did"), "accessJwt": session["accessJwt"],
                             "refreshJwt": session["refreshJwt"]})
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask, and a file left by an older tmp
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# --------------------------------------------------------------------------- client


class _Retry(Exception):
    """A retryable answer (429, 5xx, UpstreamFailure, a malformed body)."""

    def __init__(self, why: str, status: int | None = None, reset: float | None = None):
        super().__init__(why)
        self.why, self.status, self.reset = why, status, reset


class _AuthExpired(Exception):
    """The access token was refused (ExpiredToken, InvalidToken): renew, then again."""


_NETWORK = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError, requests.exceptions.Timeout)


def _rate_limited(exc: BaseException) -> bool:
    return isinstance(exc, _Retry) and exc.status == 429


@dataclass
class Stats(runs.Stats):
    logins: int = 0
    refreshes: int = 0
    limit: dict[str, str] = field(default_factory=dict)  # the last RateLimit-* headers


class Client(runs.ResetWaits):
    """searchPosts with a shared, renewed session, bounded retries and rate-limit pacing."""

    def __init__(self, creds: Credentials, store: SessionStore, *, service: str = API_URL,
                 backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, log: Log = lambda line: None,
                 timeout: float = 60.0, shared_limits: Path | None = None,
                 http: requests.Session | None = None) -> None:
        self.creds = creds
        self.store = store
        self.service = service.rstrip("/")
        self.backoff = backoff or Backoff(max_wait=900.0, reset_cap=330.0)
        self.sleep, self.clock, self.log = sleep, clock, log
        self.timeout = timeout
        self.shared_limits = shared_limits
        self.http = http or requests.Session()
        if service != API_URL:
            self.http.trust_env = False  # no proxy from the environment for a loopback fake
        self.stats = Stats()
        self.rng = random.Random()
        self.session: dict | None = None

    # -- secrets never leave

    def scrub(self, text: str) -> str:
        secrets = [self.creds.password]
        if self.session:
            secrets += [self.session.get("accessJwt") or "", self.session.get("refreshJwt") or ""]
        register(*secrets)
        return redact(text)

    # -- the session

    def _fresh(self, session: Mapping[str, Any] | None) -> bool:
        if not session:
            return False
        exp = token_expiry(session["accessJwt"])
        return exp is None or exp - EARLY > self.clock()

    def ensure_session(self) -> None:
        """The shared session if its access token is still good, else a refreshed one,
        else a login (at most one per client)."""
        if self.session is not None:
            return
        with self.store.locked():
            stored = self.store.read()
            if self._fresh(stored):
                self.session = stored
                self.log("using the saved Bluesky session")
                return
            if stored and self._try_refresh(stored):
                return
            self._login()

    def renew(self) -> None:
        """After the server refused our access token: the tokens another job saved since,
        else a refresh, else one login."""
        if self.stats.refreshes + self.stats.logins > MAX_REFRESHES:
            raise BlueskyError("Bluesky keeps refusing new session tokens (the window is "
                               "tried again on the next run)", error="InvalidToken")
        mine = (self.session or {}).get("accessJwt")
        with self.store.locked():
            stored = self.store.read()
            if stored and stored["accessJwt"] != mine and self._fresh(stored):
                self.session = stored
                self.log("using the session another job renewed")
                return
            if self._try_refresh(stored or self.session):
                return
            self._login()

    def _try_refresh(self, session: Mapping[str, Any] | None) -> bool:
        if not session or not session.get("refreshJwt"):
            return False
        try:
            fresh = self._call("POST", REFRESH, token=session["refreshJwt"])
        except BlueskyError as e:
            if e.status in (400, 401):  # the refresh token expired or was revoked
                self.log(f"the saved session could not be refreshed ({e.error}): logging in")
                return False
            raise
        except _AuthExpired:
            return False
        self._adopt(fresh)
        self.stats.refreshes += 1
        self.log("refreshed the Bluesky session")
        return True

    def _login(self) -> None:
        if self.stats.logins:
            raise BlueskyError("Bluesky refused the session again after a login (the window "
                               "is tried again on the next run)", error="InvalidToken")
        try:
            answer = self._call("POST", CREATE, body={"identifier": self.creds.handle,
                                                      "password": self.creds.password})
        except _AuthExpired:
            raise BlueskyError(f"Bluesky refused the login of {self.creds.handle}",
                               status=401, error="AuthenticationRequired") from None
        self._adopt(answer)
        self.stats.logins += 1
        self.log(f"logged in to Bluesky as {self.creds.handle}")

    def _adopt(self, answer: Mapping[str, Any]) -> None:
        if not (isinstance(answer.get("accessJwt"), str)
                and isinstance(answer.get("refreshJwt"), str)):
            raise BlueskyError("Bluesky's session answer has no tokens", error="InvalidToken")
        self.session = dict(answer)
        register(self.session.get("accessJwt"), self.session.get("refreshJwt"))
        self.store.write(answer)

    # -- one request

    def _call(self, method: str, nsid: str, *, params: Mapping[str, Any] | None = None,
              body: Mapping[str, Any] | None = None, token: str | None = None) -> dict:
        """One XRPC call, retried (429, 5xx, network, malformed) within the budget."""
        retry = Retrying(retry=retry_if_exception(lambda e: isinstance(e, (_Retry, *_NETWORK))),
                         wait=self._wait, stop=self._stop, sleep=self.sleep,
                         before_sleep=self._before_sleep, reraise=True)
        try:
            for attempt in retry:
                with attempt:
                    return self._once(method, nsid, params, body, token)
        except _Retry as e:
            raise self._gave_up(e.why, e.status) from None
        except _NETWORK as e:
            raise self._gave_up(_network(e)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, nsid: str, params: Mapping[str, Any] | None,
              body: Mapping[str, Any] | None, token: str | None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.stats.requests += 1
        r = self.http.request(method, f"{self.service}/xrpc/{nsid}", params=params,
                              json=body, headers=headers, timeout=self.timeout)
        self._note_limits(r)
        try:
            data = orjson.loads(r.content)
        except orjson.JSONDecodeError:
            data = None
        if r.status_code == 200:
            if not isinstance(data, dict):
                raise _Retry("malformed answer (not a JSON object)", 200)
            return data
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        message = str(data.get("message") or "") if isinstance(data, dict) else ""
        if r.status_code == 429:
            raise _Retry(f"rate limit (429 {error or 'RateLimitExceeded'})", 429,
                         _float(r.headers.get("RateLimit-Reset")))
        if r.status_code >= 500:
            raise _Retry(f"{r.status_code} {error or r.reason}"
                         + (f": {self.scrub(message)[:200]}" if message else ""), r.status_code)
        if nsid != CREATE and (error in ("ExpiredToken", "InvalidToken")
                               or (r.status_code == 401 and error != "AuthenticationRequired")):
            raise _AuthExpired(error or str(r.status_code))
        raise self._refused(nsid, r.status_code, error, message)

    def _refused(self, nsid: str, status: int, error: str, message: str) -> BlueskyError:
        msg = self.scrub(message)[:300]
        if nsid == CREATE:
            text = (f"Bluesky refused the login of {self.creds.handle} ({status} "
                    f"{error or 'error'}: {msg}); check {HANDLE_ENV} and the app password")
        elif nsid == REFRESH:
            text = f"Bluesky refused to refresh the session ({status} {error}: {msg})"
        else:
            what = "the search" if nsid == SEARCH else nsid
            text = f"Bluesky refused {what} ({status} {error or 'error'}: {msg})"
        return BlueskyError(text.replace("\n", " "), status=status, error=error)

    # -- waiting

    def _note_limits(self, r: requests.Response) -> None:
        h = {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("ratelimit-")}
        if h:
            self.stats.limit = h
            if self.shared_limits is not None:
                tmp = self.shared_limits.with_name(f".{self.shared_limits.name}.{os.getpid()}")
                with contextlib.suppress(OSError):
                    tmp.write_bytes(orjson.dumps({**h, "at": round(self.clock(), 3)}))
                    os.replace(tmp, self.shared_limits)

    def reset_of(self, exc: BaseException) -> float | None:
        return exc.reset if isinstance(exc, _Retry) and exc.status == 429 else None

    def _before_sleep(self, state: RetryCallState) -> None:
        exc, wait = self.stats.slept(state, _rate_limited)
        why = exc.why if isinstance(exc, _Retry) else _network(exc)
        self.log(f"{why}, backing off: sleeping {wait:.1f}s (retry {state.attempt_number}, "
                 f"{self.stats.waits:.0f}s of {self.backoff.max_wait:.0f}s wait budget used)")

    def _gave_up(self, why: str, status: int | None = None) -> BlueskyError:
        return BlueskyError(f"gave up after {self.stats.retries} retries and "
                            f"{self.stats.waits:.0f}s of waiting: {why} (the window is tried "
                            "again on the next run)", status=status)

    def pace(self, limit: Mapping[str, str] | None = None) -> None:
        """Before a request: when the last answer (``limit``, default this client's) said
        no request is left in its window, wait for the reset instead of provoking a 429."""
        h = self.stats.limit if limit is None else limit
        reset = _float(h.get("ratelimit-reset"))
        if h.get("ratelimit-remaining") != "0" or reset is None or reset <= self.clock():
            return
        wait = self._until(reset)
        if self.stats.waits + wait > self.backoff.max_wait:
            raise BlueskyError(f"rate limit used up and its reset is {wait:.0f}s away, more "
                               "than the wait budget left (the window is tried again on the "
                               "next run)", status=429)
        self.stats.waits += wait
        self.stats.rate_limit_waits += 1
        self.log(f"rate limit: 0 requests left in this window, sleeping {wait:.1f}s for "
                 "the reset")
        self.sleep(wait)

    def pace_shared(self) -> None:
        """Before a job's first search: the last RateLimit answer any job of this data
        directory got (advisory: a missing or broken file means no wait)."""
        if self.shared_limits is not None:
            last = _read_json(self.shared_limits)
            if isinstance(last, dict):
                self.pace({k: str(v) for k, v in last.items()})

    # -- the API

    def search(self, params: Mapping[str, Any]) -> dict:
        """One searchPosts page (``params``: q, limit, cursor, sort, since, until, lang).
        Its answer is checked to be a page: a ``posts`` list."""
        return self._posts(SEARCH, params)

    def get_posts(self, uris: list[str]) -> dict:
        """getPosts: the views of those of ``uris`` (at most 25) that still exist."""
        return self._posts(GET_POSTS, {"uris": list(uris)})

    def _posts(self, nsid: str, params: Mapping[str, Any]) -> dict:
        self.ensure_session()
        for _ in range(MAX_REFRESHES + 1):
            assert self.session is not None
            try:
                page = self._call("GET", nsid, params=params,
                                  token=self.session["accessJwt"])
            except _AuthExpired as e:
                self.log(f"the access token was refused ({e}): renewing the session")
                self.renew()
                continue
            if not isinstance(page.get("posts"), list):
                raise BlueskyError("Bluesky's search answered without a list of posts "
                                   "(the window is tried again on the next run)")
            return page
        raise BlueskyError("Bluesky keeps refusing new session tokens (the window is tried "
                           "again on the next run)", error="InvalidToken")


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _network(exc: BaseException | None) -> str:
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection cut mid-answer"
    return f"connection error ({type(exc).__name__})"
