"""A loopback fake of the X API v2 search and counts endpoints, with injectable faults.

Tests and demos point dnflow at it with ``DNFLOW_X_API_URL``; no test touches the real
API. It has the semantics collection depends on, not just canned answers:

- ``/2/tweets/search/recent`` and ``/2/tweets/search/all``: the query is matched over a
  pool of tweets (terms, "phrases", #hashtags, @mentions, OR, -negation, parentheses,
  ``is:retweet|reply|quote``, ``has:media|links|hashtags|mentions|geo``, ``lang:``,
  ``from:``, ``to:``); newest first; ``since_id``, ``until_id``, ``start_time``,
  ``end_time``, ``max_results`` (10–100 recent, 10–500 all), ``next_token``;
  ``expansions`` fill ``includes``; ``*.fields`` select fields as the API does (only
  ``id``, ``text``, ``edit_history_tweet_ids`` by default); ``meta`` has newest_id,
  oldest_id, result_count, next_token.
- ``/2/tweets/counts/recent`` and ``/2/tweets/counts/all``: buckets by minute, hour or day.
- ``/2/tweets?ids=…`` (tweet lookup, 1–100 ids): the pool's tweets in ``data``, one
  ``Not Found Error`` in ``errors`` per id it does not hold (deleted: ``POST
  /_admin/delete {"ids": [...]}`` takes tweets out of the pool, as a deletion does).
- A bearer token is required (401 otherwise; a given expected token must match), and
  every answer carries ``x-rate-limit-limit/remaining/reset``; past the limit, 429.
- Faults by request number: ``429`` (with reset), ``429-noreset``, ``500``, ``503``,
  ``reset`` (connection reset mid-response), ``malformed`` (a cut JSON body), ``401``,
  ``403``, ``400`` (``400:message``); a pager that goes round: ``repeat-token`` (the
  first page again, with the same next_token each time), ``dup-pages`` (the first page
  again, a fresh token each time), ``empty-pages`` (no data, a fresh token each time),
  ``data-object`` (``data`` an object, not a list); a number, a range ``3-5`` or ``4+``
  (from the 4th on).
- The pool: the seeded generator (``generated:N:SEED[:TOPIC[:QUERY]]``) or recorded page
  files (twarc2 JSONL). ``POST /_admin/add`` adds tweets between windows;
  ``GET /_admin/log`` is the request log (never the token); ``POST /_admin/faults``.

``python -m dnflow.fakeapi --port 0 --pool generated:5000:7`` prints its URL, then serves.
"""

from __future__ import annotations

import argparse
import base64
import re
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
from dnflow.loopback import Fault, JSONHandler, Limit, LoopbackServer, add_common_args, serve
from dnflow.sources.archive import read_json_lines

Tweet = dict[str, Any]
Includes = dict[str, list[dict]]

DEFAULT_TWEET_FIELDS = {"id", "text", "edit_history_tweet_ids"}
DEFAULT_USER_FIELDS = {"id", "name", "username"}
DEFAULT_MEDIA_FIELDS = {"media_key", "type"}
DEFAULT_PLACE_FIELDS = {"id", "full_name"}
DEFAULT_POLL_FIELDS = {"id", "options"}
# a requested expansion makes the id it expands appear in the tweet, as on the real API
EXPANSION_FIELDS = {
    "author_id": "author_id", "referenced_tweets.id": "referenced_tweets",
    "referenced_tweets.id.author_id": "referenced_tweets", "in_reply_to_user_id":
    "in_reply_to_user_id", "attachments.media_keys": "attachments", "attachments.poll_ids":
    "attachments", "geo.place_id": "geo", "entities.mentions.username": "entities",
}
SEARCH_PARAMS = {"query", "max_results", "next_token", "pagination_token", "since_id",
                 "until_id", "start_time", "end_time", "expansions", "tweet.fields",
                 "user.fields", "media.fields", "place.fields", "poll.fields", "sort_order"}
COUNT_PARAMS = {"query", "granularity", "since_id", "until_id", "start_time", "end_time",
                "next_token", "pagination_token", "search_count.fields"}
PAGE_LIMITS = {"recent": (10, 100), "all": (10, 500)}
RATE_LIMITS = {"search/recent": 450, "search/all": 300, "counts/recent": 300,
               "counts/all": 300, "lookup/tweets": 300}
LOOKUP_MAX_IDS = 100
FAULTS = ("429", "429-noreset", "500", "503", "reset", "malformed", "401", "403", "400",
          "repeat-token", "dup-pages", "empty-pages", "data-object", "echo-400", "echo-500")
# faults of a pager that goes round (issue 15): the first page again with the same
# next_token, the first page again with a fresh token, empty pages with fresh tokens,
# a page whose data is an object
LOOPS = ("repeat-token", "dup-pages", "empty-pages", "data-object")


# --------------------------------------------------------------------------- pool


def _epoch(iso: str | None) -> float:
    if not iso:
        return 0.0
    text = iso[:-1] + "+00:00" if iso.endswith("Z") else iso
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def _env_now() -> float:
    # DNFLOW_NOW moves the demo clock for the whole project, the fake API included
    from dnflow.windows import now

    return now().timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(slots=True)
class _Entry:
    id: int
    time: float
    tweet: Tweet
    includes: Includes


class Pool:
    """Tweets newest first, each with the includes it references. Thread-safe."""

    def __init__(self, items: Iterable[tuple[Tweet, Includes]] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []  # sorted by id, descending
        self._neg_ids: list[int] = []  # -id, ascending, for bisect
        self.version = 0
        self.add(items)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, items: Iterable[tuple[Tweet, Includes]]) -> int:
        new = [_Entry(int(t["id"]), _epoch(t.get("created_at")), t, inc) for t, inc in items]
        with self._lock:
            known = {e.id for e in self._entries}
            fresh = []
            for e in new:  # a tweet already in the pool (same id) is not added twice
                if e.id not in known:
                    known.add(e.id)
                    fresh.append(e)
            new = fresh
            self._entries = sorted(self._entries + new, key=lambda e: -e.id)
            self._neg_ids = [-e.id for e in self._entries]
            self.version += 1
        return len(new)

    def remove(self, ids: Iterable[str | int]) -> int:
        """Take tweets out (deleted on the platform); returns how many were there."""
        gone = {int(i) for i in ids}
        with self._lock:
            before = len(self._entries)
            self._entries = [e for e in self._entries if e.id not in gone]
            self._neg_ids = [-e.id for e in self._entries]
            self.version += 1
            return before - len(self._entries)

    def snapshot(self) -> tuple[list[_Entry], list[int], int]:
        with self._lock:
            return self._entries, self._neg_ids, self.version

    def newest(self) -> _Entry | None:
        with self._lock:
            return self._entries[0] if self._entries else None


def generated_pool(n: int, seed: int = 1, *, topic: str = "climate", query: str | None = None,
                   start: str | None = None, days: float = 7.0
                   ) -> Iterator[tuple[Tweet, Includes]]:
    """Tweets from the seeded generator (dnflow.generate), newest first. By default
    they span the ``days`` before now (``DNFLOW_NOW`` or the clock, to the hour), so a
    recent search and the counts endpoint see them as the real API would."""
    from dnflow.generate import iter_tweet_pool

    if start is None:
        hour = int(_env_now() // 3600 * 3600)
        start = datetime.fromtimestamp(hour - days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    query = query or {"climate": "#climatestrike", "music": "#kpop",
                      "news": "breaking"}.get(topic, "#demo")
    return iter_tweet_pool(n, seed, query=query, topic=topic, start=start, days=days)


def _page_items(page: Mapping[str, Any]) -> Iterator[tuple[Tweet, Includes]]:
    """Split one API page into (tweet, the includes that tweet references)."""
    data = page.get("data")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return
    inc = page.get("includes") or {}
    users = {u["id"]: u for u in inc.get("users") or [] if "id" in u}
    by_name = {u.get("username", "").casefold(): u for u in users.values()}
    tweets = {t["id"]: t for t in inc.get("tweets") or [] if "id" in t}
    media = {m["media_key"]: m for m in inc.get("media") or [] if "media_key" in m}
    places = {p["id"]: p for p in inc.get("places") or [] if "id" in p}
    polls = {p["id"]: p for p in inc.get("polls") or [] if "id" in p}
    for t in data:
        if not isinstance(t, dict) or "id" not in t or "text" not in t:
            continue
        out: Includes = {"users": [], "tweets": [], "media": [], "places": [], "polls": []}
        refs = [tweets[r["id"]] for r in t.get("referenced_tweets") or []
                if r.get("id") in tweets]
        out["tweets"] = refs
        uids = [t.get("author_id"), t.get("in_reply_to_user_id")]
        uids += [r.get("author_id") for r in refs]
        mentioned = [m.get("username", "").casefold()
                     for m in (t.get("entities") or {}).get("mentions") or []]
        seen: set[str] = set()
        for u in [users.get(i) for i in uids if i] + [by_name.get(m) for m in mentioned]:
            if u and u["id"] not in seen:
                seen.add(u["id"])
                out["users"].append(u)
        keys = list((t.get("attachments") or {}).get("media_keys") or [])
        for r in refs:
            keys += (r.get("attachments") or {}).get("media_keys") or []
        out["media"] = [media[k] for k in dict.fromkeys(keys) if k in media]
        pid = (t.get("geo") or {}).get("place_id")
        out["places"] = [places[pid]] if pid in places else []
        out["polls"] = [polls[p] for p in (t.get("attachments") or {}).get("poll_ids") or []
                        if p in polls]
        yield t, out


def recorded_pool(paths: Iterable[str | Path]) -> Iterator[tuple[Tweet, Includes]]:
    """Tweets of recorded page files (twarc2 JSONL, plain or .gz)."""
    for path in paths:
        for item in read_json_lines(path):
            if isinstance(item, tuple) and isinstance(item[1], dict):
                yield from _page_items(item[1])


def pool_from_spec(spec: str, query: str | None = None) -> Iterator[tuple[Tweet, Includes]]:
    """``generated:N[:SEED[:TOPIC[:QUERY]]]`` or a path to recorded pages
    (``file:PATH`` or just ``PATH``)."""
    if spec.startswith("generated:"):
        parts = spec.split(":", 4)
        n = int(parts[1])
        seed = int(parts[2]) if len(parts) > 2 and parts[2] else 1
        topic = parts[3] if len(parts) > 3 and parts[3] else "climate"
        q = parts[4] if len(parts) > 4 else query
        return generated_pool(n, seed, topic=topic, query=q)
    path = spec[5:] if spec.startswith("file:") else spec
    return recorded_pool([path])


# --------------------------------------------------------------------------- query


class QueryError(ValueError):
    pass


_TOKEN = re.compile(r'\s*(?:(-?)"([^"]*)"|(\()|(\))|(-?)([^\s()"]+))')


@dataclass(slots=True)
class _Doc:
    words: set[str]
    text: str
    hashtags: set[str]
    mentions: set[str]
    lang: str
    types: set[str]
    author: str
    has: set[str]
    reply_to: str


def _doc(t: Tweet, inc: Includes) -> _Doc:
    texts = [t.get("text") or ""]
    ents = [t.get("entities") or {}]
    types = {r.get("type") for r in t.get("referenced_tweets") or []}
    for r in inc.get("tweets") or []:
        if any(x.get("id") == r.get("id") and x.get("type") == "retweeted"
               for x in t.get("referenced_tweets") or []):
            # a retweet is matched on its original's full text, as the API does
            texts.append(r.get("text") or "")
            ents.append(r.get("entities") or {})
    text = "\n".join(texts).casefold()
    users = {u.get("id"): u.get("username", "") for u in inc.get("users") or []}
    hashtags = {h.get("tag", "").casefold() for e in ents for h in e.get("hashtags") or []}
    mentions = {m.get("username", "").casefold() for e in ents for m in e.get("mentions") or []}
    has = set()
    if (t.get("attachments") or {}).get("media_keys") or inc.get("media"):
        has.add("media")
    if any(e.get("urls") for e in ents):
        has.add("links")
    if hashtags:
        has.add("hashtags")
    if mentions:
        has.add("mentions")
    if t.get("geo"):
        has.add("geo")
    kinds = {"retweeted": "retweet", "quoted": "quote", "replied_to": "reply"}
    return _Doc(
        words=set(re.findall(r"\w+", text)), text=text, hashtags=hashtags,
        mentions=mentions, lang=(t.get("lang") or "").casefold(),
        types={kinds[k] for k in types if k in kinds},
        author=users.get(t.get("author_id"), "").casefold(), has=has,
        reply_to=users.get(t.get("in_reply_to_user_id"), "").casefold(),
    )


Matcher = Callable[[_Doc], bool]


def _atom(tok: str) -> Matcher:
    low = tok.casefold()
    if low.startswith("#") and len(low) > 1:
        tag = low[1:]
        return lambda d: tag in d.hashtags
    if low.startswith("@") and len(low) > 1:
        name = low[1:]
        return lambda d: name in d.mentions
    if ":" in low and not low.startswith(("http:", "https:")):
        op, _, arg = low.partition(":")
        if not arg:
            raise QueryError(f"Reference to invalid operator '{op}:'")
        if op == "is":
            if arg in ("retweet", "quote", "reply"):
                return lambda d: arg in d.types
            if arg == "verified":
                return lambda d: False
            raise QueryError(f"Reference to invalid operator 'is:{arg}'")
        if op == "has":
            if arg in ("media", "links", "hashtags", "mentions", "geo", "images"):
                key = "media" if arg == "images" else arg
                return lambda d: key in d.has
            raise QueryError(f"Reference to invalid operator 'has:{arg}'")
        if op == "lang":
            return lambda d: d.lang == arg
        if op == "from":
            return lambda d: d.author == arg.lstrip("@")
        if op == "to":
            return lambda d: d.reply_to == arg.lstrip("@")
        raise QueryError(f"Reference to invalid operator '{op}:'")
    words = re.findall(r"\w+", low)
    if len(words) == 1 and words[0] == low:
        return lambda d: low in d.words
    return lambda d: low in d.text  # punctuation inside: match it as written


def _phrase(value: str) -> Matcher:
    low = value.casefold()
    return lambda d: low in d.text


def _not(m: Matcher) -> Matcher:
    return lambda d: not m(d)


def compile_query(query: str) -> Matcher:
    """Parse an X search query; AND (juxtaposition) binds tighter than OR, as on X."""
    toks: list[tuple[str, str, bool]] = []  # (kind, value, negated)
    pos = 0
    query = query.strip()
    if not query:
        raise QueryError("The query is empty")
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            raise QueryError(f"There were errors processing your request: unexpected "
                             f"character at position {pos}")
        pos = m.end()
        if m.group(2) is not None:
            toks.append(("phrase", m.group(2), bool(m.group(1))))
        elif m.group(3):
            toks.append(("(", "(", False))
        elif m.group(4):
            toks.append((")", ")", False))
        elif m.group(6) is not None:
            if m.group(6) == "OR" and not m.group(5):
                toks.append(("OR", "OR", False))
            else:
                toks.append(("word", m.group(6), bool(m.group(5))))
    i = 0

    def expr() -> Matcher:
        nonlocal i
        alts = [conj()]
        while i < len(toks) and toks[i][0] == "OR":
            i += 1
            alts.append(conj())
        return alts[0] if len(alts) == 1 else (lambda d: any(a(d) for a in alts))

    def conj() -> Matcher:
        nonlocal i
        parts: list[Matcher] = []
        while i < len(toks) and toks[i][0] not in ("OR", ")"):
            kind, value, neg = toks[i]
            i += 1
            if kind == "(":
                inner = expr()
                if i >= len(toks) or toks[i][0] != ")":
                    raise QueryError("There were errors processing your request: "
                                     "unbalanced parentheses")
                i += 1
                m = inner
            elif kind == "phrase":
                m = _phrase(value)
            else:
                m = _atom(value)
            parts.append(_not(m) if neg else m)
        if not parts:
            raise QueryError("There were errors processing your request: empty clause")
        return parts[0] if len(parts) == 1 else (lambda d: all(p(d) for p in parts))

    matcher = expr()
    if i != len(toks):
        raise QueryError("There were errors processing your request: unbalanced parentheses")
    return matcher


# --------------------------------------------------------------------------- faults


def parse_faults(specs: Iterable[str] | Mapping[str, str] | None
                 ) -> list[tuple[int, int, Fault]]:
    """dnflow.loopback.parse_faults, of this fake's kinds (FAULTS)."""
    return loopback.parse_faults(specs, FAULTS)


# --------------------------------------------------------------------------- server


def _error(status: int, title: str, detail: str, **extra: Any) -> dict:
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    body.update(extra)
    return body


def echo_text(headers: Any, *extra: str) -> str:
    """An error text that echoes the request's credentials, as a careless server or
    proxy does (issue 15): the Authorization and Cookie headers, and the bare token."""
    auth = headers.get("authorization") or ""
    return " ".join([f"request refused. Headers: Authorization: {auth}",
                     f"Cookie: {headers.get('cookie') or 'session=abc123secret'};",
                     f"your token is {auth.partition(' ')[2]}", *extra])


def _looping(kind: str, body: dict, n: int) -> dict:
    """The first page's answer, made into one of a pager that goes round."""
    meta = dict(body.get("meta") or {})
    if kind == "repeat-token":
        meta["next_token"] = "loop-token"
    elif kind == "dup-pages":
        meta["next_token"] = f"dup-{n}"
    elif kind == "empty-pages":
        return {"meta": {"result_count": 0, "next_token": f"empty-{n}"}}
    elif kind == "data-object":
        return dict(body, data={"id": "1", "text": "not a list"}, meta=meta)
    return dict(body, meta=meta)


def _invalid(message: str, parameters: dict | None = None) -> dict:
    return {
        "errors": [{"parameters": parameters or {}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _token_for(tid: int) -> str:
    return base64.b32encode(f"dnflow-fake:{tid}".encode()).decode().lower().rstrip("=")


def _token_id(token: str) -> int:
    pad = "=" * (-len(token) % 8)
    text = base64.b32decode((token + pad).upper()).decode()
    prefix, _, tid = text.partition(":")
    if prefix != "dnflow-fake":
        raise ValueError(token)
    return int(tid)


TWITTER_EPOCH_MS = 1288834974657


def _snowflake_time(tid: int) -> float:
    return ((tid >> 22) + TWITTER_EPOCH_MS) / 1000


def _snowflake_floor(ts: float) -> int:
    return (int(ts * 1000) - TWITTER_EPOCH_MS) << 22


def _fields(obj: dict, keep: set[str]) -> dict:
    return {k: v for k, v in obj.items() if k in keep}


@dataclass
class FakeState:
    pool: Pool
    token: str | None = None  # expected token; None: any non-empty bearer token
    faults: list[tuple[int, int, Fault]] = field(default_factory=list)
    rate_limit: int | None = None  # per endpoint and window; None: the real API's numbers
    rate_window: float = 900.0
    reset_in: float = 1.0  # seconds until the reset a fault-429 announces
    delay: float = 0.0  # seconds before each answer (lets a test kill a run mid-way)
    recent_days: float | None = None  # recent search sees only this many days back
    clock: Callable[[], float] = time.time  # rate-limit windows: clients compare with theirs
    now: Callable[[], float] = time.time  # "now" of the counts endpoints' default range
    count: int = 0
    log: list[dict] = field(default_factory=list)
    limits: dict[str, Limit] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    match_cache: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def fault_for(self, n: int) -> Fault | None:
        for lo, hi, f in self.faults:
            if lo <= n <= hi:
                return f
        return None


class _Handler(JSONHandler):

    def pool_newest(self, newest: Any) -> dict[str, Any]:
        return {"newest_id": str(newest.id) if newest else None}

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        body = self._json_body()
        st = self.server.state
        if url.path == "/_admin/add":
            added = self.server.fake.add(body)
            return self._send(200, {"added": added, "pool": len(st.pool)})
        if url.path == "/_admin/faults":
            with st.lock:
                st.faults = parse_faults(body.get("faults") or {})
                if body.get("reset_count"):
                    st.count = 0
            return self._send(200, {"faults": len(st.faults)})
        if url.path == "/_admin/delete":
            return self._send(200, {"deleted": self.server.fake.delete(body.get("ids") or [])})
        if url.path == "/_admin/clear-log":
            with st.lock:
                st.log.clear()
            return self._send(200, {})
        return self._send(404, _error(404, "Not Found Error", f"no route {url.path}"))

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        st = self.server.state
        if self._admin_get(url.path):
            return None
        routes = {"/2/tweets/search/recent": ("search", "recent"),
                  "/2/tweets/search/all": ("search", "all"),
                  "/2/tweets/counts/recent": ("counts", "recent"),
                  "/2/tweets/counts/all": ("counts", "all"),
                  "/2/tweets": ("lookup", "tweets")}
        if url.path not in routes:
            return self._send(404, _error(404, "Not Found Error",
                                          f"Sorry, that page does not exist: {url.path}"))
        kind, endpoint = routes[url.path]
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with st.lock:
            st.count += 1
            n = st.count
        # logged on arrival: a request whose client died before the answer still counts
        entry = {"n": n, "path": url.path, "params": params, "time": st.clock(),
                 "status": None}
        with st.lock:
            st.log.append(entry)
        entry["status"] = self._answer(n, kind, endpoint, params, entry)

    # -- the API

    def _auth_ok(self, entry: dict) -> bool:
        auth = self.headers.get("authorization") or ""
        st = self.server.state
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            entry["auth"] = "missing"
            return False
        ok = st.token is None or auth[7:] == st.token
        entry["auth"] = "ok" if ok else "wrong"
        return ok

    def _rate(self, key: str, entry: dict | None = None) -> tuple[bool, dict[str, str]]:
        st = self.server.state
        now = st.clock()
        with st.lock:
            lim = st.limits.get(key)
            if lim is None or now >= lim.start + lim.window:
                lim = Limit(st.rate_limit or RATE_LIMITS[key], st.rate_window, now, 0)
                st.limits[key] = lim
            allowed = lim.used < lim.limit
            if allowed:
                lim.used += 1
            if entry is not None:
                # the window this request was charged to: a benchmark checks the limit
                entry["rate"] = {"key": key, "window_start": lim.start, "limit": lim.limit}
            headers = {"x-rate-limit-limit": str(lim.limit),
                       "x-rate-limit-remaining": str(lim.limit - lim.used),
                       "x-rate-limit-reset": str(int(lim.start + lim.window + 0.999))}
        return allowed, headers

    def _answer(self, n: int, kind: str, endpoint: str, params: dict[str, str],
                entry: dict) -> int:
        st = self.server.state
        if st.delay:
            time.sleep(st.delay)
        fault = st.fault_for(n)
        entry["fault"] = fault.kind if fault else None
        if fault and fault.kind == "401" or not self._auth_ok(entry):
            self._send(401, _error(401, "Unauthorized", "Unauthorized"))
            return 401
        allowed, headers = self._rate(f"{kind}/{endpoint}", entry)
        if fault:
            if fault.kind == "429":
                reset = int(st.clock() + st.reset_in + 0.999)
                h = dict(headers, **{"x-rate-limit-remaining": "0",
                                     "x-rate-limit-reset": str(reset)})
                self._send(429, _error(429, "Too Many Requests", "Too Many Requests"), h)
                return 429
            if fault.kind == "429-noreset":
                self._send(429, _error(429, "Too Many Requests", "Too Many Requests"))
                return 429
            if fault.kind in ("500", "503"):
                code = int(fault.kind)
                title = "Internal Server Error" if code == 500 else "Service Unavailable"
                self._send(code, _error(code, title, title), headers)
                return code
            if fault.kind == "400":
                self._send(400, _invalid(fault.message or "Invalid request"), headers)
                return 400
            if fault.kind in ("echo-400", "echo-500"):
                code = int(fault.kind[-3:])
                self._send(code, _invalid(echo_text(self.headers)) if code == 400
                           else _error(code, "Internal Server Error", echo_text(self.headers)),
                           headers)
                return code
            if fault.kind == "403":
                self._send(403, _error(
                    403, "Client Forbidden", fault.message or "When authenticating requests "
                    "to the Twitter API v2 endpoints, you must use keys and tokens from a "
                    "Twitter developer App that is attached to a Project.",
                    reason="client-not-enrolled",
                    type="https://api.twitter.com/2/problems/client-forbidden"), headers)
                return 403
        if not allowed:
            self._send(429, _error(429, "Too Many Requests", "Too Many Requests"), headers)
            return 429
        if fault and fault.kind in LOOPS and kind == "search":
            params = {k: v for k, v in params.items()
                      if k not in ("next_token", "pagination_token")}
        try:
            body = (self._search(endpoint, params) if kind == "search"
                    else self._lookup(params) if kind == "lookup"
                    else self._counts(endpoint, params))
            if fault and fault.kind in LOOPS and kind == "search":
                body = _looping(fault.kind, body, n)
        except QueryError as e:
            self._send(400, _invalid(str(e), {"query": [params.get("query", "")]}), headers)
            return 400
        except _BadParam as e:
            self._send(400, _invalid(e.message, {e.name: [e.value]}), headers)
            return 400
        data = orjson.dumps(body)
        if fault and fault.kind == "reset":
            self._reset_mid_answer(data, headers)
            return 200
        if fault and fault.kind == "malformed":
            self._send(200, None, headers, raw=data[: max(1, len(data) // 2)])
            return 200
        self._send(200, None, headers, raw=data)
        return 200

    def _common(self, endpoint: str, params: dict[str, str], allowed: set[str]
                ) -> tuple[Matcher, int, int, float, float]:
        for k in params:
            if k not in allowed:
                raise _BadParam(k, params[k], f"The query parameter [{k}] is not one of "
                                f"[{','.join(sorted(allowed))}]")
        if not params.get("query"):
            raise _BadParam("query", "", "The `query` query parameter can not be empty")
        matcher = compile_query(params["query"])
        since = _int_param(params, "since_id", 0)
        until = _int_param(params, "until_id", sys.maxsize)
        start = _time_param(params, "start_time", float("-inf"))
        end = _time_param(params, "end_time", float("inf"))
        return matcher, since, until, start, end

    def _matching(self, query: str, matcher: Matcher) -> tuple[list[_Entry], list[int]]:
        """Indices (into the pool snapshot) of the tweets a query matches, cached."""
        st = self.server.state
        entries, _neg, version = st.pool.snapshot()
        key = (query, version)
        with st.lock:
            hit = st.match_cache.get(key)
        if hit is None:
            hit = [i for i, e in enumerate(entries) if matcher(_doc(e.tweet, e.includes))]
            with st.lock:
                st.match_cache = {k: v for k, v in st.match_cache.items() if k[1] == version}
                st.match_cache[key] = hit
        return entries, hit

    def _search(self, endpoint: str, params: dict[str, str]) -> dict:
        matcher, since, until, start, end = self._common(endpoint, params, SEARCH_PARAMS)
        lo, hi = PAGE_LIMITS[endpoint]
        size = _int_param(params, "max_results", 10)
        if not lo <= size <= hi:
            raise _BadParam("max_results", str(size), f"The `max_results` query parameter "
                            f"value [{size}] is not between {lo} and {hi}")
        token = params.get("next_token") or params.get("pagination_token")
        if token:
            try:
                until = min(until, _token_id(token))
            except ValueError:
                raise _BadParam("next_token", token, f"The `next_token` query parameter "
                                f"value [{token}] is not valid") from None
        if endpoint == "recent" and self.server.state.recent_days is not None:
            # the real recent search reaches 7 days back and refuses bounds before that
            floor = self.server.state.now() - self.server.state.recent_days * 86400
            if since and _snowflake_time(since) < floor:
                raise _BadParam("since_id", str(since), f"Invalid 'since_id':'{since}'. "
                                f"'since_id' must be a tweet id created after {_iso(floor)}. "
                                f"Please use a 'since_id' that is larger than "
                                f"{_snowflake_floor(floor)}")
            if start != float("-inf") and start < floor:
                raise _BadParam("start_time", params["start_time"], f"Invalid 'start_time':"
                                f"'{params['start_time']}'. 'start_time' must be on or after "
                                f"{_iso(floor)}")
            start = max(start, floor)
        entries, hits = self._matching(params["query"], matcher)
        # entries are newest first: skip to the first id below `until`
        picked: list[_Entry] = []
        more = False
        for i in hits:
            e = entries[i]
            if e.id >= until:
                continue
            if e.id <= since:
                break
            if not start <= e.time < end:
                continue
            if len(picked) == size:
                more = True
                break
            picked.append(e)
        if not picked:
            return {"meta": {"result_count": 0}}
        return self._page(picked, params, more)

    def _page(self, picked: list[_Entry], params: dict[str, str], more: bool) -> dict:
        def names(key: str, default: set[str]) -> set[str]:
            return default | {x for x in params.get(key, "").split(",") if x}

        expansions = names("expansions", set())
        tweet_keep = names("tweet.fields", DEFAULT_TWEET_FIELDS) | {
            EXPANSION_FIELDS[x] for x in expansions if x in EXPANSION_FIELDS}
        user_keep = names("user.fields", DEFAULT_USER_FIELDS)
        media_keep = names("media.fields", DEFAULT_MEDIA_FIELDS)
        place_keep = names("place.fields", DEFAULT_PLACE_FIELDS)
        poll_keep = names("poll.fields", DEFAULT_POLL_FIELDS)
        want_users = bool(expansions & {"author_id", "referenced_tweets.id.author_id",
                                        "entities.mentions.username", "in_reply_to_user_id"})
        kinds = {
            "users": (want_users, "id", user_keep),
            "tweets": ("referenced_tweets.id" in expansions, "id", tweet_keep),
            "media": ("attachments.media_keys" in expansions, "media_key", media_keep),
            "places": ("geo.place_id" in expansions, "id", place_keep),
            "polls": ("attachments.poll_ids" in expansions, "id", poll_keep),
        }
        includes: dict[str, dict[str, dict]] = {k: {} for k in kinds}
        for e in picked:
            for k, (wanted, key, keep) in kinds.items():
                if wanted:
                    for obj in e.includes.get(k) or []:
                        includes[k].setdefault(obj[key], _fields(obj, keep))
        body: dict[str, Any] = {"data": [_fields(e.tweet, tweet_keep) for e in picked]}
        inc = {k: list(v.values()) for k, v in includes.items() if v}
        if inc:
            body["includes"] = inc
        meta: dict[str, Any] = {"newest_id": str(picked[0].id), "oldest_id": str(picked[-1].id),
                                "result_count": len(picked)}
        if more:
            meta["next_token"] = _token_for(picked[-1].id)
        body["meta"] = meta
        return body

    def _lookup(self, params: dict[str, str]) -> dict:
        """Tweet lookup: the tweets the pool holds, an error for each it does not."""
        for k in params:
            if k not in ("ids", "tweet.fields", "expansions", "user.fields"):
                raise _BadParam(k, params[k], f"The query parameter [{k}] is not one of "
                                "[ids,tweet.fields,expansions,user.fields]")
        ids = [i for i in (params.get("ids") or "").split(",") if i]
        if not 1 <= len(ids) <= LOOKUP_MAX_IDS or not all(i.isdigit() for i in ids):
            raise _BadParam("ids", params.get("ids", ""), "The `ids` query parameter value "
                            f"must be 1 to {LOOKUP_MAX_IDS} tweet ids, comma-separated")
        entries, _neg, _v = self.server.state.pool.snapshot()
        have = {e.id: e for e in entries}
        body: dict[str, Any] = {}
        data = [{"id": i, "text": have[int(i)].tweet.get("text", "")}
                for i in ids if int(i) in have]
        errors = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                   "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                   "resource_id": i,
                   "type": "https://api.twitter.com/2/problems/resource-not-found"}
                  for i in ids if int(i) not in have]
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return body

    def _counts(self, endpoint: str, params: dict[str, str]) -> dict:
        matcher, since, until, start, end = self._common(endpoint, params, COUNT_PARAMS)
        gran = params.get("granularity", "hour")
        step = {"minute": 60, "hour": 3600, "day": 86400}.get(gran)
        if step is None:
            raise _BadParam("granularity", gran, f"The `granularity` query parameter value "
                            f"[{gran}] is not one of [minute,hour,day]")
        now = self.server.state.now()
        if end == float("inf"):
            end = now
        if start == float("-inf"):
            start = end - (7 if endpoint == "recent" else 30) * 86400
        entries, hits = self._matching(params["query"], matcher)
        buckets: dict[int, int] = {}
        for i in hits:
            e = entries[i]
            if since < e.id < until and start <= e.time < end:
                b = int(e.time // step * step)
                buckets[b] = buckets.get(b, 0) + 1
        data = []
        t = start
        while t < end:
            nxt = min((t // step + 1) * step, end)
            data.append({"end": _iso(nxt), "start": _iso(t),
                         "tweet_count": buckets.get(int(t // step * step), 0)})
            t = nxt
        return {"data": data, "meta": {"total_tweet_count": sum(d["tweet_count"] for d in data)}}


class _BadParam(Exception):
    def __init__(self, name: str, value: str, message: str) -> None:
        super().__init__(message)
        self.name, self.value, self.message = name, value, message


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise _BadParam(name, params[name], f"The `{name}` query parameter value "
                        f"[{params[name]}] is not a number") from None


def _time_param(params: Mapping[str, str], name: str, default: float) -> float:
    if name not in params:
        return default
    try:
        return _epoch(params[name])
    except ValueError:
        raise _BadParam(name, params[name], f"Invalid '{name}':'{params[name]}'. '{name}' "
                        f"must be a valid ISO 8601 time") from None




class FakeXAPI(LoopbackServer):
    """The fake API in a background thread: ``with FakeXAPI(pool) as api: api.url``."""

    thread_name = "dnflow-fakeapi"
    fault_kinds = FAULTS

    def __init__(
        self,
        pool: Pool | Iterable[tuple[Tweet, Includes]] | None = None,
        *,
        token: str | None = None,
        faults: Iterable[str] | Mapping[str, str] | None = None,
        rate_limit: int | None = None,
        rate_window: float = 900.0,
        reset_in: float = 1.0,
        delay: float = 0.0,
        recent_days: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], float] | None = None,
    ) -> None:
        if pool is None:
            pool = Pool(generated_pool(1000, 1))
        elif not isinstance(pool, Pool):
            pool = Pool(pool)
        self.state = FakeState(pool=pool, token=token, faults=parse_faults(faults),
                               rate_limit=rate_limit, rate_window=rate_window,
                               reset_in=reset_in, delay=delay, now=now or _env_now,
                               recent_days=recent_days)
        self.bind(host, port, _Handler, self.state)

    @property
    def pool(self) -> Pool:
        return self.state.pool

    def matching(self, query: str, since_id: int = 0) -> list[str]:
        """Ids (newest first) the query matches in the pool now: a test's ground truth."""
        m = compile_query(query)
        entries, _neg, _v = self.state.pool.snapshot()
        return [str(e.id) for e in entries if e.id > since_id and m(_doc(e.tweet, e.includes))]

    def delete(self, ids: Iterable[str | int]) -> int:
        """Delete tweets (lookup and search no longer find them); returns how many."""
        return self.state.pool.remove(ids)

    def add(self, what: Mapping[str, Any] | Iterable[tuple[Tweet, Includes]]) -> int:
        """Add tweets: ``(tweet, includes)`` pairs, or ``{"pages": [...]}``,
        ``{"tweets": [{"tweet", "includes"}]}``, or ``{"generated": n, "seed": s, "topic",
        "query", "days"}`` (newer than everything in the pool)."""
        if not isinstance(what, Mapping):
            return self.state.pool.add(what)
        items: list[tuple[Tweet, Includes]] = []
        for page in what.get("pages") or []:
            items += _page_items(page)
        for t in what.get("tweets") or []:
            items.append((t["tweet"], t.get("includes") or {}))
        if what.get("generated"):
            newest = self.state.pool.newest()
            start = (datetime.fromtimestamp(newest.time, UTC) + timedelta(minutes=1)
                     if newest else datetime.now(UTC) - timedelta(days=1))
            items += generated_pool(int(what["generated"]), int(what.get("seed", 1)),
                                    topic=what.get("topic", "climate"), query=what.get("query"),
                                    start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    days=float(what.get("days", 0.25)))
        return self.state.pool.add(items)



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m dnflow.fakeapi",
        description="Serve a fake X API v2 (search + counts) on loopback; prints its URL. "
                    "Point dnflow at it with DNFLOW_X_API_URL=<url>.")
    add_common_args(ap)
    ap.add_argument("--pool", action="append", default=[], metavar="SPEC",
                    help="generated:N[:SEED[:TOPIC[:QUERY]]] or a page JSONL file "
                         "(repeatable; default generated:1000:1)")
    ap.add_argument("--query", help="what generated tweets should match (default by topic)")
    ap.add_argument("--token", help="the only bearer token accepted (default: any)")
    ap.add_argument("--fault", action="append", default=[], metavar="N=KIND",
                    help=f"inject a fault at request N (N, N-M or N+); KIND: {', '.join(FAULTS)}")
    ap.add_argument("--rate-limit", type=int, help="requests per endpoint and window")
    ap.add_argument("--rate-window", type=float, default=900.0, help="seconds (default 900)")
    ap.add_argument("--reset-in", type=float, default=1.0,
                    help="seconds until the reset a fault 429 announces")
    ap.add_argument("--recent-days", type=float,
                    help="recent search reaches only this many days back (the real API: 7)")
    a = ap.parse_args(argv)
    pool = Pool()
    for spec in a.pool or ["generated:1000:1"]:
        pool.add(pool_from_spec(spec, a.query))
    api = FakeXAPI(pool, token=a.token, faults=a.fault, rate_limit=a.rate_limit,
                   rate_window=a.rate_window, reset_in=a.reset_in, delay=a.delay,
                   recent_days=a.recent_days, host=a.host, port=a.port)
    print(api.url, flush=True)
    print(f"fake X API: {len(pool)} tweets; export DNFLOW_X_API_URL={api.url} "
          f"X_BEARER_TOKEN=<anything>{'' if a.token is None else ' (the --token value)'}",
          file=sys.stderr, flush=True)
    return serve(api)


if __name__ == "__main__":
    raise SystemExit(main())
