"""Every tweet-bearing file of the recorded corpus parses with the right count."""

import csv
import json

import pytest

from dnflow.summary import summarize

from .conftest import CORPUS, V2

EXPECTED = [
    (V2 / "2sets.jsonl", 200),
    (V2 / "entities_test.jsonl", 474),
    (V2 / "kpop.jsonl", 100),
    (V2 / "brexit.jsonl", 100),
    (V2 / "noflat.jsonl", 100),
    (V2 / "flat.jsonl", 100),
    (V2 / "media_policy_violation_on.jsonl", 100),
    (V2 / "media_policy_violation_off.jsonl", 100),
    (V2 / "streaming_output_with_error.jsonl", 7),
    (V2 / "geo_tweets.jsonl", 2),
    (V2 / "many_urls.jsonl", 1),
    (V2 / "two_tweets.jsonl", 1),  # the other tweet is context (includes)
    (CORPUS / "twarc-hashtags" / "test-data" / "tweets1.jsonl", 300),
    (CORPUS / "twarc-hashtags" / "test-data" / "tweets3.jsonl", 2),
    (CORPUS / "derived" / "v1.1" / "tweepy_v1.1_cassette_tweets.jsonl", 112),
    (CORPUS / "twarc-csv" / "test-data-historical" / "small_sample.json", 3),
]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("path,tweets", EXPECTED, ids=[p.name for p, _ in EXPECTED])
def test_tweet_counts(tmp_path, path, tweets):
    s = summarize([path], tmp_path, {"slug": "t"})
    assert s["tweets"] == tweets
    ids = (tmp_path / "tweet-ids.txt").read_text().split()
    assert len(ids) == len(set(ids)) == tweets
    assert len(read_csv(tmp_path / "tweets.csv")) == tweets
    assert s["originals"] + s["retweets"] + s["quotes"] <= tweets
    assert s["tweets"] == 0 or s["first"] <= s["last"]


def test_every_edge_case_file_parses(tmp_path):
    """Single-case files (edits, cotweet, cashtags, media, mentions…) each give tweets."""
    names = ["edited.jsonl", "edited_before.jsonl", "edited_after.jsonl", "quoted_edit.jsonl",
             "cotweet.jsonl", "cashtags.jsonl", "media_tweet.jsonl", "mentions_tweet.jsonl",
             "verified_type.jsonl"]
    for name in names:
        s = summarize([V2 / name], tmp_path / name, {"slug": "t"})
        assert s["tweets"] >= 1 and s["skipped"] == 0, name


def test_truncated_last_line_is_reported(tmp_path):
    s = summarize([V2 / "streaming_output_with_error.jsonl"], tmp_path, {"slug": "t"})
    assert s["tweets"] == 7 and s["skipped"] == 1
    (skip,) = s["skipped_sample"]
    assert skip["file"].endswith("streaming_output_with_error.jsonl")
    assert skip["line"] == 8 and "truncated" in skip["reason"]
    assert read_csv(tmp_path / "skipped.csv")[0]["line"] == "8"


def test_flat_and_noflat_give_identical_counts(tmp_path):
    a = summarize([V2 / "noflat.jsonl"], tmp_path / "a", {"slug": "t"})
    b = summarize([V2 / "flat.jsonl"], tmp_path / "b", {"slug": "t"})
    for key in ("tweets", "retweets", "quotes", "replies", "users", "first", "last", "counts"):
        assert a[key] == b[key], key
    for name in ("hashtags.csv", "mentions.csv", "urls.csv", "domains.csv", "media.csv",
                 "users.csv", "retweets.csv", "languages.csv", "timeline.csv", "tweets.csv",
                 "tweet-ids.txt", "cards.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a["counts"]["hashtags"] > 0 and a["counts"]["media"] > 0


def test_overlapping_files_are_deduplicated(tmp_path):
    s = summarize([V2 / "media_policy_violation_on.jsonl",
                   V2 / "media_policy_violation_off.jsonl"], tmp_path, {"slug": "t"})
    assert s["tweets"] == 101
    on, off = s["sources"]
    assert (on["tweets"], on["new"]) == (100, 100)
    assert (off["tweets"], off["new"]) == (100, 1)  # 99 shared with the first file
    # media keys referenced without an includes entry are still counted by key
    assert s["counts"]["media"] > 0


def test_empty_file_gives_an_empty_search(tmp_path):
    s = summarize([V2 / "empty.json"], tmp_path, {"slug": "t"})
    assert (s["tweets"], s["skipped"], s["first"]) == (0, 0, None)
    assert read_csv(tmp_path / "hashtags.csv") == []
    assert (tmp_path / "tweet-ids.txt").read_text() == ""


@pytest.mark.parametrize("name,reason", [
    ("users.jsonl", "users answer"),
    ("lists.jsonl", "lists answer"),
    ("counts.jsonl", "counts answer"),
    ("tweets_compliance.jsonl", "compliance"),
    ("users_compliance.jsonl", "compliance"),
])
def test_answers_that_are_not_tweets_are_reported(tmp_path, name, reason):
    s = summarize([V2 / name], tmp_path, {"slug": "t"})
    assert s["tweets"] == 0 and s["skipped"] >= 1
    assert all(reason in k["reason"] for k in s["skipped_sample"])
    assert all(k["file"].endswith(name) and k["line"] >= 1 for k in s["skipped_sample"])


def test_error_only_stream_line_is_reported(tmp_path):
    s = summarize([CORPUS / "twarc-csv" / "test-data-historical" / "streaming_output.jsonl"],
                  tmp_path, {"slug": "t"})
    assert s["tweets"] == 7  # 8 stream lines, one id twice
    assert s["skipped"] == 1 and "error-only" in s["skipped_sample"][0]["reason"]


def test_api_errors_are_counted_not_skipped(tmp_path):
    s = summarize([V2 / "entities_test.jsonl"], tmp_path, {"slug": "t"})
    assert s["api_errors"] == 11 and s["skipped"] == 0


def test_user_files_are_never_modified(tmp_path):
    path = V2 / "2sets.jsonl"
    before = (path.stat().st_mtime_ns, path.read_bytes())
    summarize([path], tmp_path, {"slug": "t"})
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_summary_json_fields(tmp_path):
    s = summarize([V2 / "2sets.jsonl"], tmp_path, {"slug": "t", "title": "T"})
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == s
    for key in ("tweets", "retweets", "quotes", "replies", "users", "first", "last",
                "skipped", "sources", "generated"):
        assert key in s
    assert s["first"].endswith("Z") and s["generated"].endswith("Z")
    assert s["retweets"] == 145
