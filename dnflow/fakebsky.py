"""A loopback fake of the Bluesky API dnflow collects from, with injectable faults.

Tests, demos and the bench point dnflow at it with ``DNFLOW_BLUESKY_API_URL``; no test
touches the real service. It has the semantics collection depends on:

- ``POST /xrpc/com.atproto.server.createSession`` ({identifier, password}) → a session
  (``accessJwt``, ``refreshJwt``: JWT-shaped, with ``exp``); a wrong password is a 401
  ``AuthenticationRequired``; logins are limited (30 per 5 minutes, as on bsky.social:
  then 429 ``RateLimitExceeded``).
- ``POST /xrpc/com.atproto.server.refreshSession`` (the refresh token as bearer) → new
  tokens; an expired refresh token is a 400 ``ExpiredToken``.
- ``GET /xrpc/app.bsky.feed.searchPosts``: ``q`` matched over a pool of post views
  (words, "phrases", ``#tag``, ``from:``, ``mentions:``, ``lang:``, ``domain:``, ``-``
  negation; every term must match), ``sort`` latest (by ``sortAt``, the earlier of
  ``createdAt`` and ``indexedAt``, newest first) or top (likes), ``since`` (inclusive)
  and ``until`` (exclusive) on sortAt, ``lang``, ``author``, ``tag``, ``limit`` 1–100
  (default 25), ``cursor``. The cursor is an offset and ends at ``cursor_limit`` posts
  (10,000, as the real search): past it a client must walk back with ``until``. A
  missing, unknown or expired access token is a 401 / 400 ``ExpiredToken``.
- ``GET /xrpc/app.bsky.feed.getPosts``: ``uris`` (1–25) → the views the pool holds (a
  deleted post is left out, as Bluesky does); ``POST /_admin/delete {"uris": [...]}``
  deletes posts. Login, limits and faults as for searchPosts.
- Every answer carries ``RateLimit-Limit``/``-Remaining``/``-Reset``/``-Policy``; past
  the limit (3000 per 5 minutes by default), 429.
- Faults by the number of the searchPosts request: ``429`` (with reset), ``500``,
  ``502`` (``UpstreamFailure``), ``503``, ``expired`` (every access token issued so far
  expires now), ``401`` (the session is revoked: ``InvalidToken``), ``malformed`` (a cut
  JSON body), ``reset`` (connection reset mid-answer), ``400`` (``400:message``), a
  cursor that goes round (``repeat-cursor``: the first page with the same cursor each
  time; ``dup-pages``: the first page, a fresh cursor each time; ``empty-pages``: no
  posts, a fresh cursor each time); a number, a range ``3-5`` or ``4+``.
- The pool: generated posts (``generated:N[:SEED[:TOPIC[:QUERY]]]``, dnflow.
  generate_bluesky), or recorded answers (a file of any Bluesky format dnflow reads, e.g.
  the corpus's searchPosts page); ``POST /_admin/add`` adds posts between windows,
  ``GET /_admin/log`` is the request log (never a token or a password).

``dnflow fakebsky --port 0 --pool generated:5000:7`` prints its URL, then serves.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from dnflow import loopback
from dnflow.fakeapi import echo_text
from dnflow.loopback import Fault, JSONHandler, Limit, LoopbackServer, add_common_args, serve
from dnflow.sources.archive import read_json_lines

View = dict[str, Any]

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
GET_POSTS_MAX = 25
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH_PARAMS = {"q", "limit", "cursor", "sort", "since", "until", "lang", "author", "tag",
                 "mentions", "domain", "url"}
FAULTS = ("429", "500", "502", "503", "expired", "401", "malformed", "reset", "400",
          "repeat-cursor", "dup-pages", "empty-pages", "echo-400", "echo-500")
# a cursor that goes round (issue 15): the first page again with the same cursor, the
# first page again with a fresh cursor, empty pages with fresh cursors
LOOPS = ("repeat-cursor", "dup-pages", "empty-pages")
CURSOR_LIMIT = 10_000  # where the real search's cursor stops
RATE_LIMIT, RATE_WINDOW = 3000, 300.0  # bsky.social's RateLimit-Policy: 3000;w=300
LOGIN_LIMIT, LOGIN_WINDOW = 30, 300.0  # createSession: 30 per 5 minutes per account


# --------------------------------------------------------------------------- time


def parse_time(value: Any) -> float | None:
    from dnflow.formats.bluesky import epoch

    return epoch(value)


def sort_at(view: Mapping[str, Any]) -> float:
    """The AppView's sortAt (dnflow.formats.bluesky.sort_at); 0 when it has none."""
    from dnflow.formats.bluesky import sort_at as view_sort_at

    t = view_sort_at(view)
    return 0.0 if t is None else t


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _env_now() -> float:
    from dnflow.windows import now  # DNFLOW_NOW moves the fake's clock with the project's

    return now().timestamp()


# --------------------------------------------------------------------------- pool


@dataclass(slots=True)
class _Doc:
    words: set[str]
    text: str
    tags: set[str]
    author: str
    mentions: set[str]
    langs: set[str]
    domains: set[str]


def _doc(view: View) -> _Doc:
    from dnflow.formats.bluesky import normalize_view

    r = normalize_view(view)
    text = r.text.casefold()
    langs = (view.get("record") or {}).get("langs") or []
    return _Doc(set(re.findall(r"\w+", text)), text, {h.casefold() for h in r.hashtags},
                (r.author.handle or "").casefold(), {m.casefold() for m in r.mentions},
                {str(x).casefold() for x in langs}, {u["domain"] or "" for u in r.links})


@dataclass(slots=True)
class _Entry:
    uri: str
    time: float
    likes: int
    view: View
    doc: _Doc


class Pool:
    """Post views newest first (sortAt, then uri), each indexed for matching."""

    def __init__(self, views: Iterable[View] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self.version = 0
        self.add(views)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, views: Iterable[View]) -> int:
        new = []
        for v in views:
            if isinstance(v, dict) and isinstance(v.get("uri"), str):
                likes = v.get("likeCount") if isinstance(v.get("likeCount"), int) else 0
                new.append(_Entry(v["uri"], sort_at(v), likes, v, _doc(v)))
        with self._lock:
            known = {e.uri for e in self._entries}
            fresh = []
            for e in new:  # a post already in the pool is not added twice
                if e.uri not in known:
                    known.add(e.uri)
                    fresh.append(e)
            self._entries = sorted(self._entries + fresh, key=lambda e: (-e.time, e.uri))
            self.version += 1
        return len(fresh)

    def remove(self, uris: Iterable[str]) -> int:
        """Delete posts (getPosts and searchPosts no longer find them)."""
        gone = set(uris)
        with self._lock:
            before = len(self._entries)
            self._entries = [e for e in self._entries if e.uri not in gone]
            self.version += 1
            return before - len(self._entries)

    def snapshot(self) -> tuple[list[_Entry], int]:
        with self._lock:
            return self._entries, self.version

    def newest(self) -> _Entry | None:
        with self._lock:
            return self._entries[0] if self._entries else None


def generated_pool(n: int, seed: int = 1, *, topic: str = "climate", query: str | None = None,
                   start: str | None = None, days: float = 7.0) -> Iterator[View]:
    """Generated post views (dnflow.generate_bluesky), by default over the ``days`` before
    now (``DNFLOW_NOW`` or the clock, to the hour)."""
    from dnflow.generate_bluesky import iter_posts

    if start is None:
        hour = int(_env_now() // 3600 * 3600)
        start = datetime.fromtimestamp(hour - days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return iter_posts(n, seed, topic=topic, query=query, start=start, days=days)


def views_of(value: Any) -> list[View]:
    """The post views of a recorded answer in any of dnflow's Bluesky formats (a feed
    item's post; a thread's posts)."""
    from dnflow.formats.bluesky import thread_posts

    if isinstance(value, dict) and isinstance(value.get("body"), dict) and "_request" in value:
        value = value["body"]  # the corpus's decoded cassettes
    if isinstance(value, dict):
        if isinstance(value.get("posts"), list):
            return [v for v in value["posts"] if isinstance(v, dict)]
        if isinstance(value.get("feed"), list):
            value = value["feed"]
        elif isinstance(value.get("thread"), dict):
            return thread_posts(value["thread"])
        elif "uri" in value and "record" in value:
            return [value]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                post = item.get("post") if isinstance(item.get("post"), dict) else item
                if "uri" in post and "record" in post:
                    out.append(post)
        return out
    return []


def recorded_pool(paths: Iterable[str | Path]) -> Iterator[View]:
    for path in paths:
        for item in read_json_lines(path):
            if isinstance(item, tuple):
                yield from views_of(item[1])


def pool_from_spec(spec: str, query: str | None = None) -> Iterator[View]:
    """``generated:N[:SEED[:TOPIC[:QUERY]]]`` or the path of a recorded answer file."""
    if spec.startswith("generated:"):
        parts = spec.split(":", 4)
        seed = int(parts[2]) if len(parts) > 2 and parts[2] else 1
        topic = parts[3] if len(parts) > 3 and parts[3] else "climate"
        return generated_pool(int(parts[1]), seed, topic=topic,
                              query=parts[4] if len(parts) > 4 else query)
    return recorded_pool([spec[5:] if spec.startswith("file:") else spec])


# --------------------------------------------------------------------------- query


class QueryError(ValueError):
    pass


_TERM = re.compile(r'\s*(-?)(?:"([^"]*)"|(\S+))')
Matcher = Callable[[_Doc], bool]


def _term(tok: str) -> Matcher:
    low = tok.casefold()
    if low.startswith(("#", "＃")) and len(low) > 1:
        return lambda d: low[1:] in d.tags
    op, sep, arg = low.partition(":")
    if sep and arg and op in ("from", "mentions", "lang", "domain"):
        arg = arg.lstrip("@")
        if op == "from":
            return lambda d: d.author == arg
        if op == "mentions":
            return lambda d: arg in d.mentions
        if op == "lang":
            return lambda d: arg in d.langs
        return lambda d: arg in d.domains or any(x.endswith("." + arg) for x in d.domains)
    words = re.findall(r"\w+", low)
    if len(words) == 1 and words[0] == low:
        return lambda d: low in d.words
    return lambda d: low in d.text


def compile_query(q: str) -> Matcher:
    """Every term must match (Bluesky's search ANDs them); ``-term`` must not."""
    terms: list[tuple[bool, Matcher]] = []
    for m in _TERM.finditer(q or ""):
        neg, phrase, word = m.group(1) == "-", m.group(2), m.group(3)
        if phrase is not None:
            low = phrase.casefold()
            terms.append((neg, lambda d, low=low: low in d.text))
        elif word:
            terms.append((neg, _term(word)))
    if not terms:
        raise QueryError("q must not be empty")
    return lambda d: all(m(d) != neg for neg, m in terms)


# --------------------------------------------------------------------------- faults


def parse_faults(specs: Iterable[str] | Mapping[str, str] | None
                 ) -> list[tuple[int, int, Fault]]:
    """dnflow.loopback.parse_faults, of this fake's kinds (FAULTS)."""
    return loopback.parse_faults(specs, FAULTS)


# --------------------------------------------------------------------------- sessions


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_JWT_HEADER = _b64(b'{"typ":"JWT","alg":"ES256K"}')


@dataclass
class FakeState:
    pool: Pool
    handle: str = "dnflow-test.bsky.social"
    password: str | None = None  # the app password accepted; None: any non-empty one
    faults: list[tuple[int, int, Fault]] = field(default_factory=list)
    rate_limit: int = RATE_LIMIT
    rate_window: float = RATE_WINDOW
    login_limit: int = LOGIN_LIMIT
    login_window: float = LOGIN_WINDOW
    reset_in: float = 1.0  # seconds until the reset a fault-429 announces
    delay: float = 0.0  # seconds before each searchPosts answer (a test kills a run)
    cursor_limit: int = CURSOR_LIMIT
    access_ttl: float = 7200.0  # seconds an access token lives (bsky.social: ~2 hours)
    refresh_ttl: float = 60 * 86400.0
    clock: Callable[[], float] = time.time
    searches: int = 0  # searchPosts requests so far (faults are by this number)
    log: list[dict] = field(default_factory=list)
    limits: dict[str, Limit] = field(default_factory=dict)
    # token → (kind, expiry); every token ever issued stays here (tests grep for leaks)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    match_cache: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    @property
    def did(self) -> str:
        digest = hashlib.sha256(self.handle.encode()).digest()
        return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]

    def issue(self, kind: str, ttl: float) -> str:
        now = self.clock()
        scope = "com.atproto.access" if kind == "access" else "com.atproto.refresh"
        body = orjson.dumps({"scope": scope, "sub": self.did, "iat": int(now),
                             "exp": int(now + ttl), "jti": secrets.token_hex(8)})
        token = f"{_JWT_HEADER}.{_b64(body)}.{_b64(secrets.token_bytes(32))}"
        self.tokens[token] = (kind, now + ttl)
        return token

    def check(self, token: str, kind: str) -> str:
        """"ok", "expired", "revoked" or "unknown"."""
        known = self.tokens.get(token)
        if known is None or known[0] != kind:
            return "unknown"
        if token in self.revoked:
            return "revoked"
        return "ok" if self.clock() < known[1] else "expired"

    def fault_for(self, n: int) -> Fault | None:
        for lo, hi, f in self.faults:
            if lo <= n <= hi:
                return f
        return None


# --------------------------------------------------------------------------- server


def _xrpc_error(error: str, message: str) -> dict:
    return {"error": error, "message": message}


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Handler(JSONHandler):

    def pool_newest(self, newest: Any) -> dict[str, Any]:
        return {"newest": _iso(newest.time) if newest else None}

    def _bearer(self) -> str:
        auth = self.headers.get("authorization") or ""
        return auth[7:].strip() if auth.startswith("Bearer ") else ""

    def _rate(self, key: str, limit: int, window: float) -> tuple[bool, dict[str, str]]:
        st = self.server.state
        now = st.clock()
        with st.lock:
            lim = st.limits.get(key)
            if lim is None or now >= lim.start + lim.window:
                lim = st.limits[key] = Limit(limit, window, now, 0)
            lim.used += 1
            ok = lim.used <= lim.limit
            remaining = max(lim.limit - lim.used, 0)
            reset = lim.start + lim.window
        return ok, {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining),
                    "RateLimit-Reset": str(int(reset) + (reset % 1 > 0)),
                    "RateLimit-Policy": f"{limit};w={int(window)}"}

    def _log(self, path: str, params: dict, **kw: Any) -> dict:
        st = self.server.state
        entry = {"path": path, "params": params, "time": st.clock(), "status": None, **kw}
        with st.lock:
            entry["n"] = len(st.log) + 1
            st.log.append(entry)
        return entry

    # -- admin

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        st = self.server.state
        if url.path == "/_admin/delete":
            body = orjson.loads(raw) if raw else {}
            return self._send(200, {"deleted": st.pool.remove(body.get("uris") or [])})
        if url.path == "/_admin/add":
            body = orjson.loads(raw) if raw else {}
            return self._send(200, {"added": self.server.fake.add(body), "pool": len(st.pool)})
        if url.path == "/_admin/faults":
            body = orjson.loads(raw) if raw else {}
            self.server.fake.set_faults(body.get("faults"))
            return self._send(200, {"faults": len(st.faults)})
        if url.path == CREATE:
            return self._create(raw)
        if url.path == REFRESH:
            return self._refresh()
        return self._send(404, _xrpc_error("MethodNotImplemented", f"no route {url.path}"))

    def _create(self, raw: bytes) -> None:
        st = self.server.state
        entry = self._log(CREATE, {})  # never the identifier's password
        ok, headers = self._rate("createSession", st.login_limit, st.login_window)
        if not ok:
            entry["status"] = 429
            return self._send(429, _xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"),
                              headers)
        try:
            body = orjson.loads(raw)
            ident, password = body["identifier"], body["password"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            entry["status"] = 400
            return self._send(400, _xrpc_error("InvalidRequest", "Input must have the "
                                               "properties identifier and password"), headers)
        good = ident in (st.handle, st.did) and password and (
            st.password is None or password == st.password)
        if not good:
            entry["status"] = 401
            return self._send(401, _xrpc_error("AuthenticationRequired",
                                               "Invalid identifier or password"), headers)
        with st.lock:
            access = st.issue("access", st.access_ttl)
            refresh = st.issue("refresh", st.refresh_ttl)
        entry["status"] = 200
        self._send(200, {"did": st.did, "handle": st.handle, "accessJwt": access,
                         "refreshJwt": refresh, "active": True}, headers)

    def _refresh(self) -> None:
        st = self.server.state
        entry = self._log(REFRESH, {})
        token = self._bearer()
        with st.lock:
            state = st.check(token, "refresh")
        entry["auth"] = state
        if state != "ok":
            entry["status"] = 400 if state == "expired" else 401
            return self._send(entry["status"], _xrpc_error(
                "ExpiredToken" if state == "expired" else "InvalidToken",
                "Token has expired" if state == "expired" else "Token could not be verified"))
        with st.lock:
            st.revoked.add(token)  # a refresh token is used once
            access = st.issue("access", st.access_ttl)
            refresh = st.issue("refresh", st.refresh_ttl)
        entry["status"] = 200
        self._send(200, {"did": st.did, "handle": st.handle, "accessJwt": access,
                         "refreshJwt": refresh, "active": True})

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        st = self.server.state
        if self._admin_get(url.path):
            return None
        if url.path not in (SEARCH, GET_POSTS):
            return self._send(404, _xrpc_error("MethodNotImplemented",
                                               f"Method Not Implemented: {url.path}"))
        qs = parse_qs(url.query, keep_blank_values=True)
        params = {k: (v if k in ("tag", "uris") else v[-1]) for k, v in qs.items()}
        with st.lock:
            st.searches += 1
            n = st.searches
        entry = self._log(url.path, params, search=n)
        entry["status"] = self._search(n, params, entry, lookup=url.path == GET_POSTS)

    # -- searchPosts

    def _search(self, n: int, params: dict, entry: dict, lookup: bool = False) -> int:
        """searchPosts, or getPosts (``lookup``): the same login, limits and faults."""
        st = self.server.state
        if st.delay:
            time.sleep(st.delay)
        fault = st.fault_for(n)
        entry["fault"] = fault.kind if fault else None
        if fault and fault.kind == "expired":
            with st.lock:  # the tokens issued so far expire now
                for tok, (kind, _exp) in list(st.tokens.items()):
                    if kind == "access":
                        st.tokens[tok] = (kind, st.clock() - 1)
        if fault and fault.kind == "401":
            with st.lock:
                st.revoked.update(t for t, (k, _e) in st.tokens.items() if k == "access")
        token = self._bearer()
        with st.lock:
            auth = st.check(token, "access") if token else "missing"
        entry["auth"] = auth
        if auth != "ok":
            error, message, status = {
                "missing": ("AuthMissing", "Authentication Required", 401),
                "expired": ("ExpiredToken", "Token has expired", 400),
            }.get(auth, ("InvalidToken", "Token could not be verified", 401))
            self._send(status, _xrpc_error(error, message))
            return status
        ok, headers = self._rate("searchPosts", st.rate_limit, st.rate_window)
        entry["rate"] = {"window_start": st.limits["searchPosts"].start,
                         "remaining": headers["RateLimit-Remaining"]}
        if fault and fault.kind == "429":
            headers["RateLimit-Remaining"] = "0"
            headers["RateLimit-Reset"] = str(int(st.clock() + st.reset_in) + 1)
            self._send(429, _xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"), headers)
            return 429
        if not ok:
            self._send(429, _xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"), headers)
            return 429
        if fault and fault.kind in ("500", "502", "503"):
            status = int(fault.kind)
            error = {500: "InternalServerError", 502: "UpstreamFailure",
                     503: "NotEnoughResources"}[status]
            self._send(status, _xrpc_error(error, fault.message or error), headers)
            return status
        if fault and fault.kind == "400":
            self._send(400, _xrpc_error("InvalidRequest", fault.message or "Bad request"),
                       headers)
            return 400
        if fault and fault.kind in ("echo-400", "echo-500"):
            code = int(fault.kind[-3:])
            with st.lock:
                refresh = next((t for t, (k, _e) in st.tokens.items() if k == "refresh"), "")
            self._send(code, _xrpc_error(
                "InvalidRequest" if code == 400 else "InternalServerError",
                echo_text(self.headers, f"password {st.password}",
                          f'{{"refreshJwt": "{refresh}"}}')), headers)
            return code
        try:
            if lookup:
                body = self._get_posts(params)
            elif fault and fault.kind in LOOPS:
                body = _looping(fault.kind, self._answer(
                    {k: v for k, v in params.items() if k != "cursor"}), n)
            else:
                body = self._answer(params)
        except (_BadRequest, QueryError) as e:
            self._send(400, _xrpc_error("InvalidRequest", str(e)), headers)
            return 400
        data = orjson.dumps(body)
        if fault and fault.kind == "malformed":
            self._send(200, None, headers, raw=data[: len(data) // 2])
            return 200
        if fault and fault.kind == "reset":
            self._reset_mid_answer(data, headers)
            return 0
        self._send(200, None, headers, raw=data)
        return 200

    def _get_posts(self, params: dict) -> dict:
        """getPosts: the views of the ``uris`` the pool holds (a deleted one is missing)."""
        uris = params.get("uris") or []
        if set(params) - {"uris"}:
            raise _BadRequest(f"unknown parameter {sorted(set(params) - {'uris'})[0]}")
        if not 1 <= len(uris) <= GET_POSTS_MAX:
            raise _BadRequest(f"uris must have 1 to {GET_POSTS_MAX} items")
        entries, _v = self.server.state.pool.snapshot()
        have = {e.uri: e.view for e in entries}
        return {"posts": [have[u] for u in uris if u in have]}

    def _answer(self, params: dict) -> dict:
        unknown = set(params) - SEARCH_PARAMS
        if unknown:
            raise _BadRequest(f"unknown parameter {sorted(unknown)[0]}")
        q = params.get("q") or ""
        if not q.strip():
            raise _BadRequest('Error: Params must have the property "q"')
        try:
            limit = int(params.get("limit", 25))
            offset = int(params.get("cursor") or 0)
        except ValueError:
            raise _BadRequest("limit and cursor must be integers") from None
        if not 1 <= limit <= 100:
            raise _BadRequest("limit must be between 1 and 100")
        if offset < 0 or offset >= self.server.state.cursor_limit:
            raise _BadRequest("cursor is past the end of the results")
        since, until = params.get("since"), params.get("until")
        lo = parse_time(since) if since else None
        hi = parse_time(until) if until else None
        if (since and lo is None) or (until and hi is None):
            raise _BadRequest("since and until must be datetimes or dates")
        sort = params.get("sort", "latest")
        if sort not in ("latest", "top"):
            raise _BadRequest("sort must be latest or top")
        entries = self._matching(q, sort, params)
        picked = [e for e in entries if (lo is None or e.time >= lo)
                  and (hi is None or e.time < hi)]
        # no more than cursor_limit posts are reachable by cursor, as on the real search
        page = picked[offset:min(offset + limit, self.server.state.cursor_limit)]
        end = offset + len(page)
        out: dict[str, Any] = {"posts": [e.view for e in page]}
        if end < len(picked) and end < self.server.state.cursor_limit:
            out["cursor"] = str(end)
        out["hitsTotal"] = len(picked)
        return out

    def _matching(self, q: str, sort: str, params: dict) -> list[_Entry]:
        st = self.server.state
        entries, version = st.pool.snapshot()
        key = (q, version)
        with st.lock:
            hit = st.match_cache.get(key)
        if hit is None:
            m = compile_query(q)
            hit = [i for i, e in enumerate(entries) if m(e.doc)]
            with st.lock:
                st.match_cache = {k: v for k, v in st.match_cache.items() if k[1] == version}
                st.match_cache[key] = hit
        out = [entries[i] for i in hit]
        lang = (params.get("lang") or "").casefold()
        author = (params.get("author") or "").casefold().lstrip("@")
        tags = {t.casefold().lstrip("#") for t in params.get("tag") or ()}
        if lang:
            out = [e for e in out if lang in e.doc.langs]
        if author:
            out = [e for e in out if e.doc.author == author]
        if tags:
            out = [e for e in out if tags <= e.doc.tags]
        if sort == "top":
            out = sorted(out, key=lambda e: (-e.likes, -e.time, e.uri))
        return out




class FakeBluesky(LoopbackServer):
    """The fake in a background thread: ``with FakeBluesky(pool) as api: api.url``."""

    thread_name = "dnflow-fakebsky"
    fault_kinds = FAULTS

    def __init__(self, pool: Pool | Iterable[View] | None = None, *,
                 handle: str = "dnflow-test.bsky.social", password: str | None = None,
                 faults: Iterable[str] | Mapping[str, str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        if pool is None:
            pool = Pool(generated_pool(1000, 1))
        elif not isinstance(pool, Pool):
            pool = Pool(pool)
        self.state = FakeState(pool=pool, handle=handle, password=password,
                               faults=parse_faults(faults), **settings)
        self.bind(host, port, _Handler, self.state)

    @property
    def pool(self) -> Pool:
        return self.state.pool

    def matching(self, q: str, since: str | None = None, until: str | None = None,
                 lang: str | None = None) -> list[str]:
        """The at-URIs (newest first) a search matches in the pool now: a test's truth."""
        m = compile_query(q)
        lo, hi = parse_time(since) if since else None, parse_time(until) if until else None
        entries, _v = self.state.pool.snapshot()
        return [e.uri for e in entries if m(e.doc) and (lo is None or e.time >= lo)
                and (hi is None or e.time < hi)
                and (not lang or lang.casefold() in e.doc.langs)]

    def searches(self) -> list[dict]:
        return [e for e in self.requests if e["path"] == SEARCH]

    def logins(self) -> int:
        return sum(1 for e in self.requests if e["path"] == CREATE and e["status"] == 200)

    def refreshes(self) -> int:
        return sum(1 for e in self.requests if e["path"] == REFRESH and e["status"] == 200)

    def secrets(self) -> list[str]:
        """Every token issued so far, and the app password (for a test's leak search)."""
        with self.state.lock:
            return list(self.state.tokens) + ([self.state.password]
                                              if self.state.password else [])

    def expire_sessions(self) -> None:
        """Every access token issued so far expires now (refresh tokens stay valid)."""
        with self.state.lock:
            for tok, (kind, _exp) in list(self.state.tokens.items()):
                if kind == "access":
                    self.state.tokens[tok] = (kind, self.state.clock() - 1)

    def add(self, what: Mapping[str, Any] | Iterable[View]) -> int:
        """Add post views, ``{"posts": [...]}`` or ``{"generated": n, "seed", "topic",
        "query", "days"}`` (newer than everything in the pool)."""
        if not isinstance(what, Mapping):
            return self.state.pool.add(what)
        views: list[View] = list(what.get("posts") or [])
        if what.get("generated"):
            newest = self.state.pool.newest()
            start = (datetime.fromtimestamp(newest.time, UTC) + timedelta(minutes=1)
                     if newest else datetime.now(UTC) - timedelta(days=1))
            views += generated_pool(int(what["generated"]), int(what.get("seed", 1)),
                                    topic=what.get("topic", "climate"),
                                    query=what.get("query"),
                                    start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    days=float(what.get("days", 0.25)))
        return self.state.pool.add(views)



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="dnflow fakebsky",
        description="Serve a fake Bluesky API (createSession, refreshSession, searchPosts) "
                    "on loopback; prints its URL. Point dnflow at it with "
                    "DNFLOW_BLUESKY_API_URL=<url>.")
    add_common_args(ap)
    ap.add_argument("--pool", action="append", default=[], metavar="SPEC",
                    help="generated:N[:SEED[:TOPIC[:QUERY]]] or a recorded answer file "
                         "(repeatable; default generated:1000:1)")
    ap.add_argument("--query", help="what generated posts should match (default by topic)")
    ap.add_argument("--handle", default="dnflow-test.bsky.social")
    ap.add_argument("--password", help="the only app password accepted (default: any)")
    ap.add_argument("--fault", action="append", default=[], metavar="N=KIND",
                    help=f"a fault at searchPosts request N (N, N-M or N+); KIND: "
                         f"{', '.join(FAULTS)}")
    ap.add_argument("--rate-limit", type=int, default=RATE_LIMIT)
    ap.add_argument("--rate-window", type=float, default=RATE_WINDOW)
    ap.add_argument("--cursor-limit", type=int, default=CURSOR_LIMIT)
    a = ap.parse_args(argv)
    pool = Pool()
    for spec in a.pool or ["generated:1000:1"]:
        pool.add(pool_from_spec(spec, a.query))
    api = FakeBluesky(pool, handle=a.handle, password=a.password, faults=a.fault,
                      host=a.host, port=a.port, rate_limit=a.rate_limit,
                      rate_window=a.rate_window, cursor_limit=a.cursor_limit, delay=a.delay)
    print(api.url, flush=True)
    print(f"fake Bluesky API: {len(pool)} posts; export DNFLOW_BLUESKY_API_URL={api.url} "
          f"BLUESKY_HANDLE={a.handle} BLUESKY_APP_PASSWORD=<anything>", file=sys.stderr,
          flush=True)
    return serve(api)


if __name__ == "__main__":
    raise SystemExit(main())


def _looping(kind: str, body: dict, n: int) -> dict:
    """The first page's answer, made into one of a cursor that goes round."""
    if kind == "repeat-cursor":
        return dict(body, cursor="loop-cursor")
    if kind == "dup-pages":
        return dict(body, cursor=f"dup-{n}")
    return {"posts": [], "cursor": f"empty-{n}"}
