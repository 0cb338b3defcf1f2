"""A loopback fake of Mastodon's hashtag timeline on several instances, with faults.

Tests, the benchmark and demos point dnflow at it with ``DNFLOW_MASTODON_API_URL`` (an
instance named by host, ``mastodon.social``, is then served at ``<url>/mastodon.social``)
or by giving a search the base URLs (``http://127.0.0.1:8766/mastodon.social``). No test
touches a real server. It has the semantics collection depends on:

- ``GET /<instance>/api/v1/timelines/tag/<tag>``: ``limit`` (default 20, at most 40),
  ``max_id`` / ``since_id`` / ``min_id`` (``min_id``: the statuses just above it, the
  oldest first chosen, sent newest first, as Mastodon does), ``any[]``, ``all[]``,
  ``none[]``; a ``Link`` header (rel=next with ``max_id``, rel=prev with ``min_id``) on
  every answer that holds statuses, so an empty answer ends a walk, as on Mastodon.
- **Several instances that know different posts.** A post lives on its author's home
  server; another instance knows it with a given probability (its coverage, fixed per
  post by a hash), under its own local id (ids are per server) and with ``acct``\\s
  written as that server writes them. ``uri`` is the same everywhere.
- ``GET /<instance>/api/v1/statuses/<id>``: the status by the instance's id, or 404
  ``{"error": "Record not found"}`` once deleted (``POST /_admin/delete {"uris": [...]}``
  deletes statuses everywhere, as a deletion federates); 502 on an instance it does not
  serve (a server that is away).
- ``X-RateLimit-Limit/Remaining/Reset`` (the reset an ISO time) per instance, 300
  requests per 5 minutes by default; past the limit, 429.
- **Login.** An instance listed in ``login`` answers 401 ``{"error": "This method
  requires an authenticated user"}`` without a valid bearer token (any token, or the
  instance's in ``tokens``).
- **Faults** by request number, across instances (dnflow.fakeapi's syntax: ``3=503``,
  ``4-5=429``, ``6+=malformed``): ``429`` (with reset headers), ``429-noreset``, ``500``,
  ``503``, ``reset`` (connection cut mid-answer), ``malformed`` (a cut JSON body),
  ``401``, ``403``, ``400``.
- The pool: generated statuses (dnflow.generate_mastodon), the real recorded statuses
  of the corpus (``corpus:<dir>``: its ``mastodon/decoded`` answers), or JSONL files of
  statuses or timeline answers. ``POST /_admin/add`` adds statuses between windows;
  ``GET /_admin/log`` is the request log (never a token); ``POST /_admin/faults``.

``python -m dnflow.fakemastodon --port 0`` (or ``dnflow fakemastodon``) prints its URL.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import orjson

from dnflow.fakeapi import FAULTS, LOOPS, Fault, echo_text, parse_faults
from dnflow.generate_mastodon import _unit, iter_statuses, mastodon_id
from dnflow.loopback import JSONHandler, LoopbackServer, add_common_args, serve
from dnflow.sources.archive import read_json_lines

Status = dict[str, Any]
DEFAULT_INSTANCES = ("mastodon.social", "fosstodon.org")
LOGIN_ERROR = "This method requires an authenticated user"
MAX_LIMIT = 40


# --------------------------------------------------------------------------- pools


def _now() -> float:
    from dnflow.windows import now  # DNFLOW_NOW moves the fake's clock with the project's

    return now().timestamp()


def generated_pool(n: int, seed: int = 1, *, topic: str = "climate", tag: str | None = None,
                   start: str | None = None, days: float = 7.0) -> Iterator[Status]:
    """Generated statuses, newest first, over the ``days`` before now (``DNFLOW_NOW``) by
    default, so windows collect them as they would on a live server."""
    if start is None:
        hour = int(_now() // 3600 * 3600)
        start = datetime.fromtimestamp(hour - days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return iter_statuses(n, seed, topic=topic, tag=tag, start=start, days=days)


def statuses_in(value: Any) -> Iterator[Status]:
    """The statuses a JSON value holds: a status, a timeline answer (array), a
    ``source: mastodon`` chunk line, a context answer or a recorded exchange's ``body``."""
    if isinstance(value, dict) and "body" in value and "_request" in value:
        value = value["body"]  # the corpus's decoded cassettes
    if isinstance(value, list):
        for v in value:
            yield from statuses_in(v)
    elif isinstance(value, dict):
        if "uri" in value and "account" in value and isinstance(value.get("content"), str):
            yield value
        elif isinstance(value.get("statuses"), list):
            yield from statuses_in(value["statuses"])
        elif isinstance(value.get("descendants"), list):
            yield from statuses_in(value.get("ancestors") or [])
            yield from statuses_in(value["descendants"])


def corpus_pool(corpus: str | Path) -> Iterator[Status]:
    """The real recorded statuses of the corpus (``<corpus>/mastodon/decoded``), boosts
    and deleted statuses left out (a hashtag timeline shows neither)."""
    folder = Path(corpus)
    if (folder / "mastodon" / "decoded").is_dir():
        folder = folder / "mastodon" / "decoded"
    for path in sorted(folder.glob("*.json")):
        for s in statuses_in(orjson.loads(path.read_bytes())):
            if not s.get("reblog"):
                yield s


def file_pool(paths: Iterable[str | Path]) -> Iterator[Status]:
    for path in paths:
        for item in read_json_lines(path):
            if isinstance(item, tuple):
                yield from statuses_in(item[1])


def pool_from_spec(spec: str) -> Iterator[Status]:
    """``generated:N[:SEED[:TOPIC[:TAG]]]``, ``corpus:DIR`` or a JSONL file."""
    if spec.startswith("generated:"):
        parts = spec.split(":", 4)
        return generated_pool(int(parts[1]), int(parts[2]) if len(parts) > 2 and parts[2]
                              else 1, topic=parts[3] if len(parts) > 3 and parts[3]
                              else "climate", tag=parts[4] if len(parts) > 4 else None)
    if spec.startswith("corpus:"):
        return corpus_pool(spec[7:])
    return file_pool([spec[5:] if spec.startswith("file:") else spec])


# --------------------------------------------------------------------------- the network


def _host(url: Any) -> str:
    try:
        return (urlsplit(url).hostname or "") if isinstance(url, str) else ""
    except ValueError:
        return ""


def _int_id(sid: str) -> int:
    return int(sid) if sid.isdigit() else int.from_bytes(sid.encode()[:8], "big")


@dataclass(slots=True)
class _Entry:
    id: int
    status: Status  # as this instance shows it
    tags: frozenset[str]


class Network:
    """The statuses of a few instances: each knows its own and some of the others'."""

    def __init__(self, instances: Sequence[str], coverage: Mapping[str, float] | None = None
                 ) -> None:
        self.instances = list(instances)
        # share of other servers' posts an instance knows (the first, a big server, more)
        self.coverage = {name: 0.8 if i == 0 else 0.6 for i, name in enumerate(instances)}
        self.coverage.update(coverage or {})
        self.lock = threading.Lock()
        self.entries: dict[str, list[_Entry]] = {name: [] for name in instances}
        self.known: dict[str, dict[str, str]] = {name: {} for name in instances}  # uri → id
        self.ids: dict[str, set[int]] = {name: set() for name in instances}
        self.version = 0

    def knows(self, instance: str, status: Status) -> bool:
        home = _host((status.get("account") or {}).get("url") or status.get("uri"))
        if home == instance:
            return True
        return _unit("coverage", status["uri"], instance) < self.coverage.get(instance, 0.0)

    def view(self, instance: str, status: Status, local_id: str) -> Status:
        """A status as ``instance`` shows it: its own id, accts relative to it, tag
        pages on it."""
        out = copy.deepcopy(status)
        out["id"] = local_id
        acc = out.get("account") or {}
        home = _host(acc.get("url"))
        if acc.get("acct") and "@" not in acc["acct"] and home and home != instance:
            acc["acct"] = f"{acc['acct']}@{home}"
        elif acc.get("acct", "").endswith("@" + instance):
            acc["acct"] = acc["acct"].split("@")[0]
        for m in out.get("mentions") or ():
            server = _host(m.get("url"))
            user = (m.get("acct") or "").split("@")[0]
            m["acct"] = user if server == instance else f"{user}@{server}"
        for t in out.get("tags") or ():
            t["url"] = f"https://{instance}/tags/{t.get('name')}"
        return out

    def _local_id(self, instance: str, status: Status) -> str:
        sid = str(status.get("id") or "")
        home = _host((status.get("account") or {}).get("url") or status.get("uri"))
        if home == instance or not sid.isdigit():
            return sid
        # a remote post gets a local id when it arrives: a little after it was written
        delay = 1 + int(_unit("arrival", status["uri"], instance) * 90_000)
        return mastodon_id((int(sid) >> 16) + delay, int(sid) & 0xFFFF)

    def add(self, statuses: Iterable[Status]) -> int:
        """Add statuses (each known by the instances its coverage says); returns how
        many were new to some instance."""
        fresh = 0
        with self.lock:
            for s in statuses:
                if not isinstance(s, dict) or not isinstance(s.get("uri"), str):
                    continue
                tags = frozenset((t.get("name") or "").casefold()
                                 for t in s.get("tags") or () if isinstance(t, dict))
                added = False
                for inst in self.instances:
                    if s["uri"] in self.known[inst] or not self.knows(inst, s):
                        continue
                    sid = self._local_id(inst, s)
                    ids = self.ids[inst]
                    while _int_id(sid) in ids:
                        sid = str(int(sid) + 1)  # ids are unique on a server
                    ids.add(_int_id(sid))
                    self.known[inst][s["uri"]] = sid
                    self.entries[inst].append(_Entry(_int_id(sid), self.view(inst, s, sid),
                                                     tags))
                    added = True
                fresh += added
            for inst in self.instances:
                self.entries[inst].sort(key=lambda e: -e.id)
            self.version += 1
        return fresh

    def remove(self, uris: Iterable[str]) -> int:
        """Delete statuses on every instance; returns how many were known somewhere."""
        gone = set(uris)
        with self.lock:
            found = {e.status["uri"] for es in self.entries.values() for e in es} & gone
            for inst in self.instances:
                self.entries[inst] = [e for e in self.entries[inst]
                                      if e.status["uri"] not in gone]
            self.version += 1
        return len(found)

    def status(self, instance: str, sid: str) -> Status | None:
        """The status ``instance`` knows by its local id ``sid``, if any."""
        with self.lock:
            entries = list(self.entries.get(instance, ()))
        return next((e.status for e in entries if e.status.get("id") == sid), None)

    def timeline(self, instance: str, tag: str, any_: Sequence[str] = (),
                 all_: Sequence[str] = (), none: Sequence[str] = ()) -> list[_Entry]:
        """The entries a tag timeline holds on ``instance``, newest first."""
        wanted = {tag.casefold(), *(t.casefold() for t in any_)}
        need = {t.casefold() for t in all_}
        refuse = {t.casefold() for t in none}
        with self.lock:
            entries = list(self.entries.get(instance, ()))
        return [e for e in entries if e.tags & wanted and need <= e.tags
                and not e.tags & refuse]


# --------------------------------------------------------------------------- server


@dataclass
class _Limit:
    start: float
    used: int = 0


@dataclass
class FakeState:
    network: Network
    login: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)  # instance → the token it takes
    faults: list[tuple[int, int, Fault]] = field(default_factory=list)
    rate_limit: int = 300
    rate_window: float = 300.0
    reset_in: float = 1.0  # seconds until the reset a fault 429 announces
    delay: float = 0.0
    clock: Callable[[], float] = time.time
    count: int = 0
    log: list[dict] = field(default_factory=list)
    limits: dict[str, _Limit] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, n: int) -> Fault | None:
        for lo, hi, f in self.faults:
            if lo <= n <= hi:
                return f
        return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Handler(JSONHandler):

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        body = self._json_body()
        st = self.server.state
        if url.path == "/_admin/add":
            added = self.server.fake.add(body)
            return self._send(200, {"added": added})
        if url.path == "/_admin/delete":
            return self._send(200, {"deleted": self.server.fake.network.remove(
                body.get("uris") or [])})
        if url.path == "/_admin/faults":
            self.server.fake.set_faults(body.get("faults") or {},
                                        reset_count=bool(body.get("reset_count")))
            return self._send(200, {"faults": len(st.faults)})
        self._send(404, {"error": "Record not found"})

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        st = self.server.state
        if self._admin_get(url.path):
            return
        parts = url.path.split("/")
        if len(parts) == 6 and parts[2:5] == ["api", "v1", "statuses"]:
            if parts[1] not in st.network.instances:  # a server that is not there
                return self._send(502, {"error": f"no instance {parts[1]} in this fake"})
            return self._status(parts[1], unquote(parts[5]))
        # /<instance>/api/v1/timelines/tag/<tag>
        if (len(parts) != 7 or parts[2:6] != ["api", "v1", "timelines", "tag"]
                or parts[1] not in st.network.instances):
            self._send(404, {"error": "Record not found"})
            return
        instance, tag = parts[1], unquote(parts[6])
        params = parse_qs(url.query, keep_blank_values=True)
        with st.lock:
            st.count += 1
            n = st.count
            entry = {"n": n, "instance": instance, "tag": tag, "params": {
                k: v if k.endswith("[]") else v[-1] for k, v in params.items()},
                "time": st.clock(), "status": None}
            st.log.append(entry)
        entry["status"] = self._answer(n, instance, tag, params, entry)

    def _status(self, instance: str, sid: str) -> None:
        """One status by id (logged; login and the rate limit as for timelines)."""
        st = self.server.state
        with st.lock:
            st.count += 1
            entry = {"n": st.count, "instance": instance, "status_id": sid,
                     "time": st.clock(), "status": None}
            st.log.append(entry)
        fault = st.fault_for(entry["n"])
        entry["fault"] = fault.kind if fault else None
        if not self._auth(instance, entry):
            entry["status"] = 401
            return self._send(401, {"error": LOGIN_ERROR})
        ok, headers = self._rate(instance, entry)
        if not ok or fault and fault.kind == "429":
            entry["status"] = 429
            return self._send(429, {"error": "Too many requests"}, headers)
        if fault and fault.kind in ("500", "503"):
            entry["status"] = int(fault.kind)
            return self._send(int(fault.kind), {"error": "Service unavailable"}, headers)
        status = st.network.status(instance, sid)
        entry["status"] = 200 if status is not None else 404
        if status is None:
            return self._send(404, {"error": "Record not found"}, headers)
        return self._send(200, status, headers)

    def _auth(self, instance: str, entry: dict) -> bool:
        st = self.server.state
        auth = self.headers.get("authorization") or ""
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        entry["auth"] = "token" if token else "none"
        if instance not in st.login:
            return True
        want = st.tokens.get(instance)
        return bool(token) and (want is None or token == want)

    def _rate(self, instance: str, entry: dict) -> tuple[bool, dict[str, str]]:
        st = self.server.state
        now = st.clock()
        with st.lock:
            lim = st.limits.get(instance)
            if lim is None or now >= lim.start + st.rate_window:
                lim = st.limits[instance] = _Limit(now)
            ok = lim.used < st.rate_limit
            if ok:
                lim.used += 1
            entry["rate"] = {"instance": instance, "window_start": lim.start,
                             "limit": st.rate_limit}
            headers = {"X-RateLimit-Limit": str(st.rate_limit),
                       "X-RateLimit-Remaining": str(st.rate_limit - lim.used),
                       "X-RateLimit-Reset": _iso(lim.start + st.rate_window)}
        return ok, headers

    def _answer(self, n: int, instance: str, tag: str, params: dict[str, list[str]],
                entry: dict) -> int:
        st = self.server.state
        if st.delay:
            time.sleep(st.delay)
        fault = st.fault_for(n)
        entry["fault"] = fault.kind if fault else None
        allowed = self._auth(instance, entry)
        if fault and fault.kind == "401" or not allowed:
            sent = entry["auth"] == "token"
            return self._send(401, {"error": "The access token is invalid" if sent
                                    else LOGIN_ERROR})
        ok, headers = self._rate(instance, entry)
        if fault:
            kind = fault.kind
            if kind == "429":
                h = dict(headers, **{"X-RateLimit-Remaining": "0",
                                     "X-RateLimit-Reset": _iso(st.clock() + st.reset_in)})
                return self._send(429, {"error": "Too many requests"}, h)
            if kind == "429-noreset":
                return self._send(429, {"error": "Too many requests"})
            if kind in ("500", "503"):
                return self._send(int(kind), {"error": "Service unavailable"}, headers)
            if kind == "403":
                return self._send(403, {"error": fault.message or "This action is not allowed"},
                                  headers)
            if kind == "400":
                return self._send(400, {"error": fault.message or "Bad request"}, headers)
            if kind in ("echo-400", "echo-500"):
                return self._send(int(kind[-3:]), {"error": echo_text(self.headers)},
                                  headers)
        if not ok:
            return self._send(429, {"error": "Too many requests"}, headers)
        if fault and fault.kind in LOOPS:
            statuses, link = self._page(instance, tag, {
                k: v for k, v in params.items() if k not in ("max_id", "min_id", "since_id")})
            link = _looping(fault.kind, link, n)
        else:
            statuses, link = self._page(instance, tag, params)
        if link:
            headers["Link"] = link
        data = orjson.dumps([e.status for e in statuses])
        if fault and fault.kind == "data-object":
            data = orjson.dumps({"statuses": [e.status for e in statuses]})
        if fault and fault.kind == "reset":
            return self._reset_mid_answer(data, headers)
        if fault and fault.kind == "malformed":
            return self._send(200, None, headers, raw=data[: max(1, len(data) // 2)])
        entry["returned"] = len(statuses)
        return self._send(200, None, headers, raw=data)

    def _page(self, instance: str, tag: str, params: dict[str, list[str]]
              ) -> tuple[list[_Entry], str | None]:
        def one(key: str) -> str | None:
            v = params.get(key)
            return v[-1] if v and v[-1] else None

        try:
            limit = min(max(int(one("limit") or 20), 1), MAX_LIMIT)
        except ValueError:
            limit = 20
        entries = self.server.state.network.timeline(
            instance, tag, params.get("any[]", ()), params.get("all[]", ()),
            params.get("none[]", ()))
        max_id, since_id, min_id = (one(k) for k in ("max_id", "since_id", "min_id"))
        if max_id:
            entries = [e for e in entries if e.id < _int_id(max_id)]
        if since_id:
            entries = [e for e in entries if e.id > _int_id(since_id)]
        if min_id:
            above = [e for e in entries if e.id > _int_id(min_id)]
            picked = above[-limit:]  # the oldest ones above it, still newest first
        else:
            picked = entries[:limit]
        if not picked:
            return [], None
        keep = {k: v for k, v in params.items() if k in ("limit", "any[]", "all[]", "none[]",
                                                           "local", "only_media")}
        base = (f"http://{self.headers.get('host') or 'localhost'}/{instance}/api/v1/"
                f"timelines/tag/{quote(tag, safe='')}")

        def url(**cursor: str) -> str:
            return base + "?" + urlencode({**keep, **{k: [v] for k, v in cursor.items()}},
                                          doseq=True)
        link = (f'<{url(max_id=picked[-1].status["id"])}>; rel="next", '
                f'<{url(min_id=picked[0].status["id"])}>; rel="prev"')
        return picked, link


def _looping(kind: str, link: str | None, n: int) -> str | None:
    """The newest page's Link header, made into one of a pager that goes round: its next
    page the same cursor each time (``repeat-token``) or a fresh one (``dup-pages``)."""
    if link is None or kind not in ("repeat-token", "dup-pages"):
        return link
    cursor = "999999999999999999" if kind == "repeat-token" else str(10**18 - n)
    return re.sub(r"max_id=[^&>]*", f"max_id={cursor}", link)


class FakeMastodon(LoopbackServer):
    """The fake in a background thread: ``with FakeMastodon(statuses) as api: api.url``."""

    thread_name = "dnflow-fakemastodon"
    fault_kinds = FAULTS

    def __init__(self, statuses: Iterable[Status] | None = None, *,
                 instances: Sequence[str] = DEFAULT_INSTANCES,
                 coverage: Mapping[str, float] | None = None, login: Iterable[str] = (),
                 tokens: Mapping[str, str] | None = None,
                 faults: Iterable[str] | Mapping[str, str] | None = None,
                 rate_limit: int = 300, rate_window: float = 300.0, reset_in: float = 1.0,
                 delay: float = 0.0, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        network = Network(instances, coverage)
        network.add(generated_pool(500, 1) if statuses is None else statuses)
        self.state = FakeState(network=network, login=set(login), tokens=dict(tokens or {}),
                               faults=parse_faults(faults), rate_limit=rate_limit,
                               rate_window=rate_window, reset_in=reset_in, delay=delay,
                               clock=clock)
        self.bind(host, port, _Handler, self.state)

    def instance_url(self, instance: str) -> str:
        return f"{self.url}/{instance}"

    @property
    def network(self) -> Network:
        return self.state.network

    def known(self, instance: str, tag: str, any_: Sequence[str] = (),
              all_: Sequence[str] = (), none: Sequence[str] = ()) -> list[str]:
        """The uris the instance's tag timeline holds now, newest first (ground truth)."""
        return [e.status["uri"] for e in self.network.timeline(instance, tag, any_, all_, none)]

    def statuses(self, instance: str, tag: str) -> list[Status]:
        return [e.status for e in self.network.timeline(instance, tag)]

    def add(self, what: Mapping[str, Any] | Iterable[Status]) -> int:
        """Add statuses, or ``{"statuses": [...]}``, or ``{"generated": n, "seed": s,
        "topic", "tag", "days"}`` (newer than everything served)."""
        if not isinstance(what, Mapping):
            return self.network.add(what)
        items = list(statuses_in(what.get("statuses") or []))
        if what.get("generated"):
            newest = max((int(e.status["id"]) >> 16 for es in self.network.entries.values()
                          for e in es[:1] if e.status["id"].isdigit()), default=None)
            start = (datetime.fromtimestamp(newest / 1000, UTC) + timedelta(minutes=5)
                     if newest else datetime.now(UTC) - timedelta(days=1))
            items += iter_statuses(int(what["generated"]), int(what.get("seed", 1)),
                                   topic=what.get("topic", "climate"), tag=what.get("tag"),
                                   start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   days=float(what.get("days", 0.25)))
        return self.network.add(items)



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m dnflow.fakemastodon",
        description="Serve a fake Mastodon hashtag timeline on several instances, on "
                    "loopback; prints its URL. Point dnflow at it with "
                    "DNFLOW_MASTODON_API_URL=<url>.")
    add_common_args(ap)
    ap.add_argument("--instance", action="append", default=[], metavar="HOST",
                    help=f"an instance to serve (repeatable; default "
                         f"{' '.join(DEFAULT_INSTANCES)})")
    ap.add_argument("--coverage", action="append", default=[], metavar="HOST=SHARE",
                    help="share of other servers' posts HOST knows (default: the first "
                         "instance 0.8, the others 0.6)")
    ap.add_argument("--pool", action="append", default=[], metavar="SPEC",
                    help="generated:N[:SEED[:TOPIC[:TAG]]], corpus:DIR or a JSONL file "
                         "(repeatable; default generated:500:1)")
    ap.add_argument("--login", action="append", default=[], metavar="HOST",
                    help="an instance that requires a bearer token (401 without one)")
    ap.add_argument("--fault", action="append", default=[], metavar="N=KIND",
                    help="inject a fault at request N (N, N-M or N+): 429, 429-noreset, 500, "
                         "503, reset, malformed, 401, 403, 400")
    ap.add_argument("--rate-limit", type=int, default=300, help="requests per instance "
                                                                "and window (default 300)")
    ap.add_argument("--rate-window", type=float, default=300.0, help="seconds (default 300)")
    a = ap.parse_args(argv)
    instances = a.instance or list(DEFAULT_INSTANCES)
    coverage = {k: float(v) for k, _, v in (c.partition("=") for c in a.coverage)}
    statuses: list[Status] = []
    for spec in a.pool or ["generated:500:1"]:
        statuses += pool_from_spec(spec)
    api = FakeMastodon(statuses, instances=instances, coverage=coverage, login=a.login,
                       faults=a.fault, rate_limit=a.rate_limit, rate_window=a.rate_window,
                       delay=a.delay, host=a.host, port=a.port)
    print(api.url, flush=True)
    sizes = ", ".join(f"{i}: {len(api.network.entries[i])}" for i in instances)
    print(f"fake Mastodon ({sizes} statuses); export DNFLOW_MASTODON_API_URL={api.url}",
          file=sys.stderr, flush=True)
    return serve(api)


if __name__ == "__main__":
    raise SystemExit(main())
