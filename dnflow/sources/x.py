"""Collect an X (Twitter) API v2 search into immutable, resumable raw chunks.

One call of :func:`collect_window` fetches what is new for one search and one refresh
window (see :mod:`dnflow.windows`) and leaves, under ``data/<slug>/``::

    raw/<window>.jsonl                 every API page verbatim + "__dnflow" provenance
                                       (twarc2-compatible page JSONL); only if tweets came
    raw/.<window>.partial.jsonl        pages so far, while running or after a failure
    raw/.<window>.checkpoint.json      next_token, params, pages and bytes done: the resume point
    runs/<window>[~<attempt>].json     the run record: status ok|failed, counts, waits, errors

Why it is shaped like this:

- A chunk appears only complete (temp file + rename), so a summary never reads half a run.
- After each page the partial file is flushed and the checkpoint rewritten atomically with
  the byte length it covers. A crash at any instant resumes from the checkpoint: the
  partial is cut back to that length (a page written after the last checkpoint is dropped
  and fetched again), so no tweet is lost or doubled.
- ``since_id`` is the newest id already archived (first page of each chunk: pages are
  newest first), so a new window only fetches new tweets and never one twice.
- Expected failures (no token, 400/401/403, retries exhausted) are *results*: a failed
  run record with one clear line, not an exception, so the other searches and the site
  still build. The window is tried again on the next run (a new attempt, ``~2``).
- tweepy stays the client (``Client(return_type=dict)`` + ``Paginator`` over pages). It
  does not retry 5xx or broken connections and, with ``wait_on_rate_limit``, waits for
  429s without any bound; so it is wrapped in a bounded, logged tenacity retry instead.
- ``DNFLOW_X_API_URL`` points every request at another base URL (the loopback fake API of
  :mod:`dnflow.fakeapi`): tweepy's host is hard-coded, so a rewriting ``requests``
  adapter is mounted on the client's session.
- The bearer token is read from ``X_BEARER_TOKEN`` inside the job only; it is never in
  Snakemake params, a file, a record or a log line.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson
import requests
import tweepy
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception

from dnflow import __version__
from dnflow import windows as dnwindows
from dnflow.redact import check_secret, redact, register
from dnflow.sources import SourceError, runs
from dnflow.sources.pager import PageGuard
from dnflow.sources.runs import (
    Backoff,
    Log,
    _read_json,
    _split_stamp,
    attempt_stamp,
    checked_checkpoint,
    chunk_files,
    run_records,
    start_window,
)
from dnflow.sources.runs import WindowPaths as _Paths
from dnflow.sources.runs import dump_json as _dump
from dnflow.sources.runs import now_iso as _now_iso
from dnflow.sources.runs import write_atomic as _write_atomic

API_HOST = "https://api.twitter.com"
TOKEN_ENV = "X_BEARER_TOKEN"
# or the path of a file holding it: then only a path is in the environment, which cluster
# schedulers copy into every job (docs/scaling.md)
TOKEN_FILE_ENV = "X_BEARER_TOKEN_FILE"
API_URL_ENV = "DNFLOW_X_API_URL"

# Everything a bearer (app-only) token may read, so the archive is as complete as the API
# allows. Metrics that need user context (non_public, organic, promoted) are left out:
# with an app token they only produce per-tweet errors.
TWEET_FIELDS = [
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at",
    "edit_controls", "edit_history_tweet_ids", "entities", "geo", "id",
    "in_reply_to_user_id", "lang", "note_tweet", "possibly_sensitive", "public_metrics",
    "referenced_tweets", "reply_settings", "source", "text", "withheld",
]
USER_FIELDS = [
    "created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id",
    "profile_image_url", "protected", "public_metrics", "url", "username", "verified",
    "verified_type", "withheld",
]
MEDIA_FIELDS = [
    "alt_text", "duration_ms", "height", "media_key", "preview_image_url", "public_metrics",
    "type", "url", "variants", "width",
]
PLACE_FIELDS = [
    "contained_within", "country", "country_code", "full_name", "geo", "id", "name",
    "place_type",
]
POLL_FIELDS = ["duration_minutes", "end_datetime", "id", "options", "voting_status"]
EXPANSIONS = [
    "attachments.media_keys", "attachments.poll_ids", "author_id",
    "entities.mentions.username", "geo.place_id", "in_reply_to_user_id",
    "referenced_tweets.id", "referenced_tweets.id.author_id",
]
# largest page each endpoint allows (and the smallest: 10 for both)
PAGE_MAX = {"recent": 100, "all": 500}
PAGE_MIN = 10
ROUTES = {"recent": "/2/tweets/search/recent", "all": "/2/tweets/search/all"}
COUNT_ROUTES = {"recent": "/2/tweets/counts/recent", "all": "/2/tweets/counts/all"}
# <datadir>/.x-rate-limit.json: the last rate-limit answer of each endpoint (Transport)
RATE_LIMIT_FILE = ".x-rate-limit.json"

class CollectError(SourceError):
    """An expected failure: ``str()`` is the one line shown in the run record and page."""

    def __init__(self, message: str, *, status: int | None = None, api_message: str = ""):
        super().__init__(message)
        self.status = status
        self.api_message = redact(api_message)


# --------------------------------------------------------------------------- transport


class _Adapter(HTTPAdapter):
    """Default timeout for every request (tweepy sets none: a silent server would hang the
    job forever) and, when ``base_url`` is set, the host rewrite to the fake API."""

    def __init__(self, timeout: float, base_url: str | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.base_url = base_url.rstrip("/") if base_url else None

    def send(self, request, timeout=None, **kw):  # type: ignore[override]
        if self.base_url and request.url.startswith(API_HOST):
            request.url = self.base_url + request.url[len(API_HOST):]
        return super().send(request, timeout=timeout or self.timeout, **kw)


class _Malformed(Exception):
    """A 200 answer that is not a JSON object (a broken proxy or a cut connection)."""


_RETRYABLE = (
    tweepy.TooManyRequests,
    tweepy.TwitterServerError,
    requests.exceptions.ConnectionError,  # refused, reset, remote closed
    requests.exceptions.ChunkedEncodingError,  # connection cut mid-body
    requests.exceptions.ContentDecodingError,
    requests.exceptions.Timeout,
    requests.exceptions.JSONDecodeError,  # malformed body (tweepy calls response.json())
    _Malformed,
)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, tweepy.HTTPException):
        return str(exc).replace("\n", ": ")
    if isinstance(exc, requests.exceptions.JSONDecodeError | _Malformed):
        return "malformed response body (not JSON)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.RequestException):
        return f"connection error ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def explain_http_error(exc: tweepy.HTTPException, endpoint: str = "recent") -> CollectError:
    """The one line a researcher needs for a refused request (400/401/403/404…)."""
    status = getattr(exc.response, "status_code", None)
    msg = "; ".join(m for m in exc.api_messages if m) or str(exc).split("\n", 1)[-1]
    if status == 401:
        text = f"{TOKEN_ENV} was rejected by the X API (401 Unauthorized: {msg})"
    elif status == 403:
        text = f"the X API refused access (403 Forbidden: {msg})"
        if endpoint == "all":
            text += "; full-archive search (endpoint: all) needs a Pro or Academic access level"
    elif status == 400:
        text = f"the X API refused the request (400 Bad Request: {msg})"
    else:
        text = f"the X API answered {status} ({msg})"
    return CollectError(text, status=status, api_message=msg)


@dataclass
class Stats(runs.Stats):
    last_headers: dict[str, str] = field(default_factory=dict)


def _rate_limited(exc: BaseException) -> bool:
    return isinstance(exc, tweepy.TooManyRequests)


class Transport(runs.ResetWaits):
    """A tweepy client with bounded retries, request counting and rate-limit awareness."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        log: Log = lambda line: None,
        timeout: float = 60.0,
        rng: random.Random | None = None,
        adapter: HTTPAdapter | None = None,
        shared_limits: Path | None = None,
    ) -> None:
        self.client = tweepy.Client(bearer_token=token, return_type=dict,
                                     wait_on_rate_limit=False)
        session = self.client.session
        if api_url:
            # no proxy from the environment may catch the loopback requests
            session.trust_env = False
        # `adapter` replaces the network (tests replay recorded answers through it)
        session.mount(API_HOST, adapter or _Adapter(timeout, api_url))
        session.hooks["response"].append(self._on_response)
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.clock = clock
        self.log = log
        self.stats = Stats()
        self.rng = rng or random.Random()
        self.api_url = api_url
        # the last rate-limit answer per endpoint, shared by the collection jobs of one
        # data directory (see pace_shared)
        self.shared_limits = shared_limits

    def _on_response(self, response: requests.Response, *args: Any, **kw: Any) -> None:
        self.stats.requests += 1
        self.stats.last_headers = {k.lower(): v for k, v in response.headers.items()
                                   if k.lower().startswith("x-rate-limit")}
        if self.shared_limits is not None and "x-rate-limit-remaining" in self.stats.last_headers:
            self._share_limit(response.url, self.stats.last_headers)

    # -- the rate limit across jobs
    #
    # Each collection job is its own process, and x_api=1 only makes them take turns: a
    # job's pacing knew nothing of the answers the previous job got, so a search starting
    # right after another one used up the window provoked a 429 with its first request.
    # The last x-rate-limit-* answer of each endpoint is therefore kept in a small file of
    # the data directory (advisory: a missing or broken file only means no wait).

    @staticmethod
    def _limit_key(url: str) -> str:
        u = urlsplit(url)
        return f"{u.scheme}://{u.netloc}{u.path}"

    def _share_limit(self, url: str, headers: Mapping[str, str]) -> None:
        path = self.shared_limits
        assert path is not None
        state = _read_json(path)
        state = state if isinstance(state, dict) else {}
        state[self._limit_key(url)] = {
            "limit": headers.get("x-rate-limit-limit"),
            "remaining": headers.get("x-rate-limit-remaining"),
            "reset": headers.get("x-rate-limit-reset"), "at": round(self.clock(), 3)}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_bytes(_dump(state))
            os.replace(tmp, path)

    def pace_shared(self, endpoint: str) -> None:
        """Before a run's first request: when the last answer any job got from this
        endpoint said no request is left and its reset is still ahead, wait for it (the
        same wait as :meth:`pace`, counted against the same budget)."""
        if self.shared_limits is None:
            return
        state = _read_json(self.shared_limits)
        url = (self.api_url or API_HOST).rstrip("/") + ROUTES[endpoint]
        last = state.get(self._limit_key(url)) if isinstance(state, dict) else None
        if not isinstance(last, dict) or str(last.get("remaining")) != "0":
            return
        try:
            reset = float(last["reset"])
        except (KeyError, TypeError, ValueError):
            return
        if reset <= self.clock():
            return
        self.log("rate limit: an earlier collection left 0 requests in this window")
        self.stats.last_headers = {"x-rate-limit-remaining": "0",
                                   "x-rate-limit-reset": str(last["reset"])}
        self.pace(more=True)

    # -- waiting

    def reset_of(self, exc: BaseException) -> float | None:
        return exc.reset_time if isinstance(exc, tweepy.TooManyRequests) else None

    def _before_sleep(self, state: RetryCallState) -> None:
        exc, wait = self.stats.slept(state, _rate_limited)
        if isinstance(exc, tweepy.TooManyRequests):
            why = ("rate limit (429), waiting for the reset" if exc.reset_time is not None
                   else "rate limit (429) without a reset time, backing off")
        else:
            why = f"{_describe(exc)}, backing off" if exc else "retrying"
        self.log(f"{why}: sleeping {wait:.1f}s (retry {state.attempt_number}, "
                 f"{self.stats.waits:.0f}s of {self.backoff.max_wait:.0f}s wait budget used)")

    def _sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def retrying(self, fn: Callable[..., Any], endpoint: str = "recent") -> Callable[..., Any]:
        """``fn`` with bounded retries. ``functools.wraps`` keeps ``__name__``: tweepy's
        Paginator picks ``next_token`` vs ``pagination_token`` by the method's name."""

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            retry = Retrying(
                retry=retry_if_exception(lambda e: isinstance(e, _RETRYABLE)),
                wait=self._wait, stop=self._stop, sleep=self._sleep,
                before_sleep=self._before_sleep, reraise=True,
            )
            try:
                for attempt in retry:
                    with attempt:
                        result = fn(*args, **kwargs)
                        if not isinstance(result, dict):
                            raise _Malformed(type(result).__name__)
                        return result
            except tweepy.HTTPException as e:
                if isinstance(e, tweepy.TooManyRequests | tweepy.TwitterServerError):
                    raise self._gave_up(e) from e
                raise explain_http_error(e, endpoint) from e
            except _RETRYABLE as e:
                raise self._gave_up(e) from e
            raise AssertionError("unreachable")  # pragma: no cover

        return call

    def _gave_up(self, exc: BaseException) -> CollectError:
        return CollectError(
            f"gave up after {self.stats.retries} retries and {self.stats.waits:.0f}s of "
            f"waiting: {_describe(exc)} (the window is tried again on the next run)",
            status=getattr(getattr(exc, "response", None), "status_code", None))

    def pace(self, more: bool) -> None:
        """Before the next page: if the last answer said no request is left in this
        rate-limit window, wait for its reset instead of provoking a 429."""
        h = self.stats.last_headers
        if not more or h.get("x-rate-limit-remaining") != "0" or "x-rate-limit-reset" not in h:
            return
        wait = self._until(float(h["x-rate-limit-reset"]))
        if self.stats.waits + wait > self.backoff.max_wait:
            raise CollectError(f"rate limit exhausted and the reset is {wait:.0f}s away, more "
                               f"than the wait budget left (the window is tried again on the "
                               f"next run)")
        self.stats.waits += wait
        self.stats.rate_limit_waits += 1
        self.log(f"rate limit: 0 requests left in this window, sleeping {wait:.1f}s "
                 f"for the reset")
        self.sleep(wait)

    def search_pages(self, endpoint: str, params: dict[str, Any],
                     next_token: str | None = None) -> Iterator[dict]:
        """Pages of a search, newest first, from ``next_token`` when resuming."""
        method = (self.client.search_all_tweets if endpoint == "all"
                  else self.client.search_recent_tweets)
        paginator = tweepy.Paginator(self.retrying(method, endpoint),
                                     pagination_token=next_token, **params)
        return iter(paginator)

    def counts(self, endpoint: str, query: str, **params: Any) -> Iterator[dict]:
        """Pages of the counts endpoint (recent: one page; all: paginated)."""
        if endpoint == "all":
            method = self.retrying(self.client.get_all_tweets_count, endpoint)
            yield from tweepy.Paginator(method, query, **params)
        else:
            yield self.retrying(self.client.get_recent_tweets_count, endpoint)(query, **params)


# --------------------------------------------------------------------------- files


def newest_archived_id(raw_dir: str | Path) -> str | None:
    """Newest tweet id in the completed chunks: each chunk is written newest page first,
    so its first page's ``meta.newest_id`` (or largest data id) is its newest."""
    best: int | None = None
    for path in chunk_files(raw_dir):
        with open(path, "rb") as f:
            for line in f:
                try:
                    page = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(page, dict):
                    continue
                ids = [t.get("id") for t in page.get("data") or [] if isinstance(t, dict)]
                newest = (page.get("meta") or {}).get("newest_id")
                ids.append(newest)
                ids = [int(i) for i in ids if isinstance(i, str | int) and str(i).isdigit()]
                if ids:
                    best = max(best or 0, max(ids))
                    break
    return str(best) if best is not None else None


def budget_used(search_dir: str | Path, month: str) -> int:
    """Tweets archived by this search's successful runs in ``month`` (YYYY-MM, the month
    of the window clock, so ``DNFLOW_NOW`` moves budgets along with windows)."""
    used = 0
    for path in run_records(search_dir):
        rec = _read_json(Path(path))
        if rec and rec.get("status") == "ok" and rec.get("month") == month:
            used += int(rec.get("new_tweets") or 0)
    return used


def search_params(search: Mapping[str, Any], since_id: str | None,
                  page_size: int) -> dict[str, Any]:
    """The request parameters of a search (everything but the token and next_token)."""
    p: dict[str, Any] = {
        "query": search["query"],
        "max_results": page_size,
        "tweet_fields": TWEET_FIELDS,
        "user_fields": USER_FIELDS,
        "media_fields": MEDIA_FIELDS,
        "place_fields": PLACE_FIELDS,
        "poll_fields": POLL_FIELDS,
        "expansions": EXPANSIONS,
    }
    if since_id:
        # since_id is the precise lower bound; start_time would only repeat it (or, for an
        # old since_id, cut into the window), so it is used for the first run only
        p["since_id"] = since_id
    elif search.get("start_time"):
        p["start_time"] = search["start_time"]
    if search.get("end_time"):
        p["end_time"] = search["end_time"]
    return p


def _public_params(params: Mapping[str, Any]) -> dict[str, Any]:
    # the request as the API saw it (comma lists), for provenance; never holds a secret
    return {k.replace("_fields", ".fields"): (",".join(v) if isinstance(v, list) else v)
            for k, v in params.items()}


def _count_chunk(path: Path) -> tuple[int, int, str | None, str | None]:
    pages = tweets = 0
    newest = oldest = None
    with open(path, "rb") as f:
        for line in f:
            page = orjson.loads(line)
            pages += 1
            data = page.get("data") or []
            tweets += len(data)
            if data:
                newest = newest or data[0]["id"]
                oldest = data[-1]["id"]
    return pages, tweets, newest, oldest


# --------------------------------------------------------------------------- collection


class _Run:
    """One window of one search: resume or start, page, checkpoint, finish."""

    def __init__(self, slug: str, search: Mapping[str, Any], paths: _Paths, *,
                 transport_factory: Callable[[], Transport], log: Log,
                 limit: int | None, budget_note: str | None) -> None:
        self.slug = slug
        self.search = search
        self.paths = paths
        self.endpoint = search.get("endpoint", "recent")
        self.transport_factory = transport_factory
        self.log = log
        self.limit = limit
        self.budget_note = budget_note

    def run(self, record: dict[str, Any]) -> dict[str, Any]:
        p = self.paths
        p.raw.mkdir(parents=True, exist_ok=True)
        cp = _read_json(p.checkpoint)
        if cp is not None and (cp.get("query") != self.search["query"]
                               or cp.get("endpoint") != self.endpoint):
            self.log("the search's query or endpoint changed since the checkpoint: "
                     "starting the window afresh")
            cp = None
        cp = checked_checkpoint(cp, p, self.log)
        if cp is not None:
            # cut off whatever was written after the last checkpoint (a page whose
            # checkpoint never landed is fetched again): this is what prevents doubles
            with open(p.partial, "r+b") as f:
                f.truncate(cp["bytes"])
            params = dict(cp["params"])
            next_token = cp["next_token"]
            pages, tweets = cp["pages"], cp["tweets"]
            newest, oldest = cp.get("newest_id"), cp.get("oldest_id")
            record["resumed"] = {"pages": pages, "tweets": tweets}
            self.log(f"resuming from checkpoint: {pages} pages, {tweets} tweets already "
                     f"fetched")
        else:
            with contextlib.suppress(FileNotFoundError):
                p.partial.unlink()
            since_id = newest_archived_id(p.raw)
            size = PAGE_MAX[self.endpoint]
            if self.limit is not None:
                size = max(PAGE_MIN, min(size, self.limit))
            params = search_params(self.search, since_id, size)
            next_token, pages, tweets, newest, oldest = None, 0, 0, None, None
        record["since_id"] = params.get("since_id")
        t = self.transport_factory()
        self.log(f"{self.endpoint} search {self.search['query']!r}"
                 + (f", since_id {params['since_id']}" if params.get("since_id") else "")
                 + (f", at most {self.limit} tweets" if self.limit is not None else ""))
        stopped = "end"
        loop: str | None = None
        guard = PageGuard("next_token", next_token)
        # a checkpoint without next_token was written after the last page: the run died
        # between that page and the rename, and there is nothing left to fetch
        complete = record.get("resumed") is not None and not next_token
        try:
            with open(p.partial, "ab") as out:
                if not complete:
                    t.pace_shared(self.endpoint)
                it = t.search_pages(self.endpoint, params, next_token)
                first = True
                while not complete:
                    if self.limit is not None and tweets >= self.limit:
                        stopped = "max_tweets" if not self.budget_note else "budget"
                        break
                    if self.limit is not None:
                        # ask only for what is still allowed (never under the API's 10)
                        want = max(PAGE_MIN, min(params["max_results"], self.limit - tweets))
                        # PaginationIterator keeps the call's kwargs here; change the size
                        # of the next request only (harmless if tweepy renames it)
                        with contextlib.suppress(AttributeError):
                            it.kwargs["max_results"] = want
                    try:
                        page = next(it)
                    except StopIteration:
                        break
                    except CollectError as e:
                        if first and next_token and e.status == 400 and oldest:
                            # the saved next_token expired: continue below what we have
                            self.log(f"the saved next_token was refused ({e.api_message}); "
                                     f"continuing with until_id {oldest}")
                            params["until_id"] = str(int(oldest))
                            next_token = None
                            it = t.search_pages(self.endpoint, params, None)
                            first = False
                            continue
                        if (first and pages == 0 and e.status == 400 and params.get("since_id")
                                and "since_id" in e.api_message):
                            # recent search only reaches 7 days back: an older since_id is
                            # refused. Take the whole 7 days and say there may be a gap.
                            self.log(f"since_id refused ({e.api_message}); collecting what "
                                     f"the endpoint still has, coverage may have a gap")
                            record["note"] = ("since_id was older than the endpoint allows: "
                                              "tweets before the oldest collected may be "
                                              "missing")
                            params.pop("since_id")
                            record["since_id"] = None
                            it = t.search_pages(self.endpoint, params, None)
                            first = False
                            continue
                        raise
                    first = False
                    data = (page.get("data") or []) if isinstance(page, dict) else page
                    meta = page.get("meta") if isinstance(page, dict) else None
                    meta = meta if isinstance(meta, dict) else {}
                    loop = PageGuard.not_a_list("data", data)
                    if loop is not None:
                        stopped = "loop"
                        break
                    ids = [d["id"] for d in data
                           if isinstance(d, dict) and isinstance(d.get("id"), str)]
                    line = dict(page)
                    line["__dnflow"] = {
                        "url": API_HOST + ROUTES[self.endpoint],
                        "query": self.search["query"],
                        "endpoint": self.endpoint,
                        "params": _public_params(params) | (
                            {"next_token": next_token} if next_token else {}),
                        "window": p.window,
                        "page": pages + 1,
                        "retrieved_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "version": f"dnflow/{__version__}",
                    }
                    if data:
                        out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
                        out.flush()
                        os.fsync(out.fileno())
                        pages += 1
                        tweets += len(data)
                        if ids:
                            newest = newest or ids[0]
                            oldest = ids[-1]
                    next_token = meta.get("next_token")
                    _write_atomic(p.checkpoint, _dump({
                        "window": p.window, "query": self.search["query"],
                        "endpoint": self.endpoint, "params": params,
                        "next_token": next_token, "pages": pages, "tweets": tweets,
                        "bytes": out.tell(), "newest_id": newest, "oldest_id": oldest,
                        "updated": _now_iso(),
                    }))
                    rl = t.stats.last_headers
                    left = (f", rate limit {rl['x-rate-limit-remaining']}/"
                            f"{rl.get('x-rate-limit-limit', '?')} left"
                            if "x-rate-limit-remaining" in rl else "")
                    self.log(f"page {pages}: {len(data)} tweets ({tweets} so far){left}")
                    if not next_token:
                        break
                    loop = guard.after(ids, next_token)
                    if loop is not None:
                        stopped = "loop"
                        break
                    t.pace(more=True)
        except CollectError as e:
            self._stats(record, t, pages, tweets, newest, oldest)
            record.update(status="failed", error=str(e))
            self.log(f"FAILED: {e}")
            if pages:
                self.log(f"kept {pages} pages ({tweets} tweets) in the checkpoint; the next "
                         f"run resumes from there")
            return record
        # complete: the chunk appears whole, then the resume point goes
        if tweets:
            os.replace(p.partial, p.chunk)
        else:
            p.partial.unlink()
        with contextlib.suppress(FileNotFoundError):
            p.checkpoint.unlink()
        self._stats(record, t, pages, tweets, newest, oldest)
        record.update(status="ok", stopped=stopped)
        if stopped == "loop":
            record["note"] = (f"stopped after {pages} pages: {loop}; older tweets of this "
                              "window were not collected, what was archived is kept")
            self.log(f"stopped: {loop}")
        elif stopped != "end":
            why = self.budget_note if stopped == "budget" else "max_tweets"
            record["note"] = (f"stopped at {tweets} tweets ({why}); older tweets of this "
                              f"window were not collected")
        self.log(f"done: {tweets} tweets in {pages} pages, {t.stats.requests} requests, "
                 f"{t.stats.retries} retries, {t.stats.waits:.1f}s waited"
                 + (f" → {p.chunk}" if tweets else " (nothing new, no chunk written)"))
        return record

    @staticmethod
    def _stats(record: dict, t: Transport, pages: int, tweets: int, newest: str | None,
               oldest: str | None) -> None:
        record.update(new_tweets=tweets, pages=pages, requests=t.stats.requests,
                      retries=t.stats.retries, waits=round(t.stats.waits, 3),
                      rate_limit_waits=t.stats.rate_limit_waits, newest_id=newest,
                      oldest_id=oldest)


def _new_record(slug: str, search: Mapping[str, Any], name: str, month: str
                ) -> dict[str, Any]:
    window, attempt = _split_stamp(name)
    return {
        "slug": slug, "window": window, "attempt": attempt, "month": month,
        "query": search.get("query"),
        "endpoint": search.get("endpoint", "recent"), "started": _now_iso(),
        "finished": None, "status": None, "error": None, "note": None, "new_tweets": 0,
        "pages": 0, "requests": 0, "retries": 0, "waits": 0.0, "rate_limit_waits": 0,
        "since_id": None, "newest_id": None, "oldest_id": None, "resumed": None,
        "stopped": None, "dnflow": __version__,
    }


def _finish(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    record["finished"] = _now_iso()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, _dump(record))
    return record


def collect_window(
    slug: str,
    search: Mapping[str, Any],
    stamp: str,
    datadir: str | Path = "data",
    *,
    env: Mapping[str, str] | None = None,
    log: TextIO | Log | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
    adapter: HTTPAdapter | None = None,
) -> dict[str, Any]:
    """Collect one window (``stamp``: ``<window>`` or ``<window>~<attempt>``) of one search.

    Writes ``<datadir>/<slug>/runs/<stamp>.json`` and returns it. Expected failures give a
    record with ``status: failed`` and a one-line ``error``; only unexpected errors raise
    (the checkpoint then still holds everything fetched).
    """
    env, paths, out = start_window(slug, stamp, datadir, env, log)
    base, window = paths.base, paths.window
    month = dnwindows.month_of(dnwindows.now(env))
    record = _new_record(slug, search, stamp, month)
    record_path = paths.record(stamp)

    if paths.chunk.exists():
        # the chunk landed but the run stopped before its record: nothing to fetch
        pages, tweets, newest, oldest = _count_chunk(paths.chunk)
        with contextlib.suppress(FileNotFoundError):
            paths.checkpoint.unlink()
        record.update(status="ok", stopped="end", new_tweets=tweets, pages=pages,
                      newest_id=newest, oldest_id=oldest,
                      note="recovered: the chunk was complete, its run record was missing")
        out(f"chunk {paths.chunk} already complete ({tweets} tweets): record recovered")
        return _finish(record_path, record)

    try:
        token = bearer_token(env)
    except CollectError as e:
        record.update(status="failed", error=str(e))
        out(f"FAILED: {record['error']}")
        return _finish(record_path, record)
    api_url = env.get(API_URL_ENV) or None
    if api_url:
        out(f"using the X API at {api_url} ({API_URL_ENV})")
    backoff = backoff or Backoff.from_env(env)
    # one file per data directory: the collection jobs of a snakemake run take turns
    # (x_api=1) on one token and so on one rate limit
    shared_limits = Path(datadir) / RATE_LIMIT_FILE

    def factory() -> Transport:
        return Transport(token, api_url=api_url, backoff=backoff, sleep=sleep, log=out,
                         adapter=adapter, shared_limits=shared_limits)

    # a window an earlier run left unfinished (it failed or crashed, and the clock has
    # moved on) is completed first, so its pages are neither lost nor fetched twice
    for cp_path in sorted(paths.raw.glob(".*.checkpoint.json")):
        old = cp_path.name[1:-len(".checkpoint.json")]
        if old == window:
            continue
        out(f"finishing window {old}, left incomplete by an earlier run")
        # its own record, as the next attempt of that window (earlier ones stay as history)
        old_name = attempt_stamp(base, old)
        old_record = _new_record(slug, search, old_name, month)
        old_record["note"] = f"completed by the run of window {window}"
        res = _Run(slug, search, _Paths(base, old), transport_factory=factory, log=out,
                   limit=search.get("max_tweets"), budget_note=None).run(old_record)
        if res["status"] != "ok":
            record.update(status="failed", error=f"window {old}: {res['error']}")
            return _finish(record_path, record)
        _finish(paths.record(old_name), res)

    limit = search.get("max_tweets")
    budget_note = None
    if search.get("monthly_budget"):
        used = budget_used(base, month)
        left = int(search["monthly_budget"]) - used
        record["budget"] = {"month": month, "limit": search["monthly_budget"], "used": used}
        if left <= 0:
            record.update(status="ok", stopped="budget", note=(
                f"monthly_budget of {search['monthly_budget']} tweets used up for {month} "
                f"({used} archived): nothing fetched"))
            out(record["note"])
            return _finish(record_path, record)
        if limit is None or left < limit:
            limit = left
            budget_note = f"monthly_budget {search['monthly_budget']}, {used} used in {month}"
    run = _Run(slug, search, paths, transport_factory=factory, log=out,
               limit=limit, budget_note=budget_note)
    return _finish(record_path, run.run(record))


def bearer_token(env: Mapping[str, str]) -> str:
    """The token from X_BEARER_TOKEN, else from the file X_BEARER_TOKEN_FILE names (its
    first line); CollectError, naming the variable or the file, when there is none."""
    token = (env.get(TOKEN_ENV) or "").strip()
    if token:
        return _checked(token, TOKEN_ENV)
    path = (env.get(TOKEN_FILE_ENV) or "").strip()
    if not path:
        raise CollectError(f"{TOKEN_ENV} is not set: export the bearer token of your X "
                           f"developer app (or {TOKEN_FILE_ENV}, the path of a file holding "
                           "it) before running snakemake")
    return _checked(runs.first_line_secret(TOKEN_FILE_ENV, path, "the bearer token",
                                           CollectError),
                    f"the first line of {TOKEN_FILE_ENV} ({path})")


def _checked(token: str, name: str) -> str:
    """The token, registered with the redactor; CollectError (never showing it) when it
    cannot be sent."""
    register(token)
    why = check_secret(token, name)
    if why is not None:
        raise CollectError(why)
    return token


# --------------------------------------------------------------------------- estimate


def estimate(slug: str, search: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
             sleep: Callable[[float], None] = time.sleep, log: Log = lambda s: None,
             adapter: HTTPAdapter | None = None) -> dict[str, Any]:
    """Ask the counts endpoint how many tweets a search matches (daily buckets).

    Returns ``{slug, endpoint, query, tweets, days, per_day, per_window, per_month,
    budget, max_tweets, requests}``; raises CollectError for a missing or refused token.
    """
    env = os.environ if env is None else env
    token = bearer_token(env)
    endpoint = search.get("endpoint", "recent")
    t = Transport(token, api_url=env.get(API_URL_ENV) or None, backoff=Backoff.from_env(env),
                  sleep=sleep, log=log, adapter=adapter)
    params: dict[str, Any] = {"granularity": "day"}
    for key in ("start_time", "end_time"):
        if search.get(key):
            params[key] = search[key]
    total = 0
    first = last = None
    for page in t.counts(endpoint, search["query"], **params):
        for b in page.get("data") or []:
            total += int(b.get("tweet_count") or 0)
            start, end = dnwindows.parse_time(b["start"]), dnwindows.parse_time(b["end"])
            first = start if first is None or start < first else first
            last = end if last is None or end > last else last
    # the span the buckets cover, whatever their size (the API may answer hourly)
    days = (last - first).total_seconds() / 86400 if first and last else 0.0
    per_day = total / days if days else 0.0
    out: dict[str, Any] = {
        "slug": slug, "endpoint": endpoint, "query": search["query"], "tweets": total,
        "days": round(days, 2), "per_day": round(per_day, 1), "per_month": round(per_day * 30),
        "per_window": None, "every": search.get("every"),
        "max_tweets": search.get("max_tweets"), "budget": search.get("monthly_budget"),
        "requests": t.stats.requests,
    }
    if search.get("every"):
        hours = dnwindows.parse_every(search["every"]).total_seconds() / 3600
        out["per_window"] = round(per_day * hours / 24, 1)
    return out
