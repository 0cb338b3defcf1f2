"""Replay the recorded tweepy cassettes (real X API answers, decoded bodies in
../shared/corpus/tweepy-cassettes/decoded) through the collection code: tweepy, the retry
wrapper, the pager, the archive writer and the counts estimate all see the recorded bytes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import requests
from requests.adapters import HTTPAdapter

from dnflow.sources.x import collect_window, estimate
from dnflow.summary import summarize

from .conftest import CORPUS
from .xutil import FAST, archived_ids

DECODED = CORPUS / "tweepy-cassettes" / "decoded"


class Replay(HTTPAdapter):
    """Answers each request with the next recorded response for its path, in order."""

    def __init__(self, recorded: list[dict]) -> None:
        super().__init__()
        self.queue: dict[str, list[dict]] = {}
        for r in recorded:
            self.queue.setdefault(urlsplit(r["uri"]).path, []).append(r)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kw):  # type: ignore[override]
        self.sent.append(request)
        path = urlsplit(request.url).path
        if not self.queue.get(path):
            raise AssertionError(f"no recorded answer left for {path}")
        rec = self.queue[path].pop(0)
        resp = requests.Response()
        resp.status_code = rec["status"]
        resp._content = orjson.dumps(rec["body"])
        resp.headers["content-type"] = "application/json"
        resp.url = request.url
        resp.request = request
        resp.reason = "OK" if rec["status"] == 200 else "Error"
        return resp


def recorded(name: str) -> list[dict]:
    lines = (DECODED / f"{name}.responses.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line]


@pytest.mark.parametrize("name,endpoint", [
    ("test_client_search_recent_tweets", "recent"),
    ("test_client_search_all_tweets", "all"),
])
def test_recorded_search_lands_in_the_archive(tmp_path: Path, name: str, endpoint: str):
    answers = recorded(name)
    body = answers[0]["body"]
    replay = Replay(answers)
    # the recording is one page with a next_token: max_tweets stops the pager there,
    # as it would stop a real search
    search = {"source": "x", "query": "Tweepy", "endpoint": endpoint, "max_tweets": 10}
    rec = collect_window("t", search, "once", tmp_path, env={"X_BEARER_TOKEN": "t"},
                         backoff=FAST, adapter=replay)
    assert rec["status"] == "ok" and rec["stopped"] == "max_tweets"
    assert archived_ids(tmp_path, "t") == [t["id"] for t in body["data"]]
    assert len(replay.sent) == 1
    sent = urlsplit(replay.sent[0].url)
    assert sent.path == urlsplit(answers[0]["uri"]).path
    assert "query=Tweepy" in sent.query and "expansions=" in sent.query
    assert replay.sent[0].headers["Authorization"] == "Bearer t"
    chunk = tmp_path / "t" / "raw" / "once.jsonl"
    page = orjson.loads(chunk.read_bytes())
    assert {k: v for k, v in page.items() if k != "__dnflow"} == body  # verbatim
    assert page["__dnflow"]["endpoint"] == endpoint
    s = summarize([chunk], tmp_path / "summary", {"slug": "t"})
    assert s["tweets"] == 10 and s["skipped"] == 0


def test_recorded_search_with_an_error_first_is_retried(tmp_path: Path):
    answers = recorded("test_client_search_recent_tweets")
    busy = {"uri": answers[0]["uri"], "status": 503,
            "body": {"title": "Service Unavailable", "detail": "Service Unavailable"}}
    replay = Replay([busy, *answers])
    search = {"source": "x", "query": "Tweepy", "max_tweets": 10}
    rec = collect_window("t", search, "once", tmp_path, env={"X_BEARER_TOKEN": "t"},
                         backoff=FAST, adapter=replay)
    assert rec["status"] == "ok" and rec["retries"] == 1 and rec["requests"] == 2
    assert len(archived_ids(tmp_path, "t")) == 10


@pytest.mark.parametrize("name,endpoint", [
    ("test_client_get_recent_tweets_count", "recent"),
    ("test_client_get_all_tweets_count", "all"),
])
def test_recorded_counts_give_the_estimate(name: str, endpoint: str):
    answers = recorded(name)
    body = answers[0]["body"]
    e = estimate("t", {"source": "x", "query": "Tweepy", "endpoint": endpoint, "every": "6h"},
                 env={"X_BEARER_TOKEN": "t"}, adapter=Replay(answers))
    assert e["tweets"] == body["meta"]["total_tweet_count"] == sum(
        b["tweet_count"] for b in body["data"])
    span = (datetime.fromisoformat(body["data"][-1]["end"].replace("Z", "+00:00"))
            - datetime.fromisoformat(body["data"][0]["start"].replace("Z", "+00:00")))
    assert e["days"] == pytest.approx(span.total_seconds() / 86400, abs=0.01)  # hourly buckets
    assert e["per_day"] == pytest.approx(e["tweets"] / e["days"], rel=0.01)
    assert e["per_window"] == pytest.approx(e["per_day"] / 4, rel=0.01)
