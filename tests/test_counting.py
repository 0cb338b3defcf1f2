"""Counting rules on small hand-checked inputs (see README "How counting works")."""

import csv
import gzip
import json

from dnflow.counting.timeline import bucket_for, timeline
from dnflow.formats import records
from dnflow.summary import summarize


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [tuple(r) for r in list(csv.reader(f))[1:]]


def user(uid, name):
    return {"id": uid, "username": name, "name": name.title(),
            "public_metrics": {"followers_count": int(uid) * 10, "following_count": 5}}


ORIGINAL = {
    "id": "100", "author_id": "1", "created_at": "2026-11-01T10:00:00.000Z", "lang": "en",
    "text": "Full text with #Climate #climate and @Greta https://t.co/a https://t.co/q",
    "entities": {
        "hashtags": [{"tag": "Climate"}, {"tag": "climate"}],
        "mentions": [{"username": "Greta"}],
        "urls": [
            {"url": "https://t.co/a", "expanded_url": "https://www.Example.org/report",
             "unwound_url": "https://www.example.org/report?full=1"},
            {"url": "https://t.co/q", "expanded_url": "https://twitter.com/x/status/9"},
        ],
    },
    "attachments": {"media_keys": ["3_55"]},
}
# the retweet's own text and entities are cut off, as the API sends them
RETWEET = {
    "id": "200", "author_id": "2", "created_at": "2026-11-01T11:30:00.000Z", "lang": "en",
    "text": "RT @alice: Full text with #Clim…",
    "entities": {"hashtags": [{"tag": "Clim"}], "mentions": [{"username": "alice"}]},
    "referenced_tweets": [{"type": "retweeted", "id": "100"}],
}
REPLY = {
    "id": "300", "author_id": "2", "created_at": "2026-11-01T12:00:00.000Z", "lang": "fr",
    "text": "@alice oui #CLIMATE", "entities": {"hashtags": [{"tag": "CLIMATE"}]},
    "referenced_tweets": [{"type": "replied_to", "id": "100"}],
    "source": "Twitter Web App",
}
PAGE = {
    "data": [RETWEET, REPLY],
    "includes": {
        "users": [user("1", "alice"), user("2", "bob")],
        "tweets": [ORIGINAL],
        "media": [{"media_key": "3_55", "type": "photo", "url": "https://pbs.twimg.com/m.jpg",
                   "alt_text": "a sign"}],
    },
    "meta": {"result_count": 2},
}


def write_lines(path, values, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        for v in values:
            f.write((v if isinstance(v, str) else json.dumps(v)) + "\n")
    return path


def test_retweet_counts_the_originals_entities(tmp_path):
    src = write_lines(tmp_path / "a.jsonl", [PAGE])
    s = summarize([src], tmp_path / "out", {"slug": "t"})
    out = tmp_path / "out"
    # two tweets counted: the original is context only (it is in includes)
    assert (s["tweets"], s["retweets"], s["replies"], s["originals"]) == (2, 1, 1, 0)
    # retweet → the original's #Climate/#climate count once (case-folded, once per tweet),
    # never the truncated #Clim; the reply adds one more
    assert rows(out / "hashtags.csv") == [("climate", "2")]
    # the original mentions @Greta; the "RT @alice" of the truncated text is not counted
    assert rows(out / "mentions.csv") == [("greta", "1")]
    # unwound URL preferred, the link to a tweet excluded, www. dropped from the domain
    assert rows(out / "urls.csv") == [("https://www.example.org/report?full=1", "1")]
    assert rows(out / "domains.csv") == [("example.org", "1")]
    assert rows(out / "media.csv") == [
        ("3_55", "photo", "https://pbs.twimg.com/m.jpg", "1", "https://pbs.twimg.com/m.jpg",
         "a sign")]
    assert rows(out / "retweets.csv")[0][:2] == ("100", "alice")
    assert rows(out / "retweets.csv")[0][3] == "1"
    assert rows(out / "users.csv") == [("bob", "Bob", "2", "20", "5")]
    assert rows(out / "languages.csv") == [("en", "1"), ("fr", "1")]
    assert rows(out / "sources.csv") == [("Twitter Web App", "1")]
    cards = json.loads((out / "cards.json").read_text())
    assert cards["top_retweeted"][0]["id"] == "100"
    assert cards["top_retweeted"][0]["retweets_in_search"] == 1
    assert cards["top_retweeted"][0]["text"].startswith("Full text")


def test_retweet_text_is_rebuilt_from_the_original():
    (rt, _reply) = records(PAGE)
    assert rt.text == "RT @alice: " + ORIGINAL["text"]
    assert rt.reposted.hashtags == ["Climate", "climate"]


def test_retweet_without_original_falls_back_to_its_own_entities(tmp_path):
    page = {**PAGE, "includes": {"users": PAGE["includes"]["users"]}}
    src = write_lines(tmp_path / "a.jsonl", [page])
    summarize([src], tmp_path / "out", {"slug": "t"})
    assert rows(tmp_path / "out" / "hashtags.csv") == [("clim", "1"), ("climate", "1")]


def test_same_tweet_in_two_files_and_twice_in_one_counts_once(tmp_path):
    a = write_lines(tmp_path / "a.jsonl", [PAGE, PAGE])
    b = write_lines(tmp_path / "b.jsonl.gz", [PAGE], gz=True)
    s = summarize([a, b], tmp_path / "out", {"slug": "t"})
    assert s["tweets"] == 2
    assert [(x["tweets"], x["new"]) for x in s["sources"]] == [(4, 2), (2, 0)]
    assert rows(tmp_path / "out" / "hashtags.csv") == [("climate", "2")]


def test_v1_retweet_uses_retweeted_status(tmp_path):
    orig = {"id_str": "10", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
            "full_text": "Whole #Story here", "lang": "en",
            "user": {"id_str": "1", "screen_name": "Ann", "name": "Ann",
                     "followers_count": 3, "friends_count": 4},
            "entities": {"hashtags": [{"text": "Story"}], "user_mentions": [], "urls": []}}
    rt = {"id_str": "11", "created_at": "Wed Oct 10 21:19:24 +0000 2018",
          "text": "RT @Ann: Whole #St…", "lang": "en",
          "user": {"id_str": "2", "screen_name": "Bo", "name": "Bo",
                   "followers_count": 1, "friends_count": 2},
          "entities": {"hashtags": [{"text": "St"}],
                       "user_mentions": [{"screen_name": "Ann"}], "urls": []},
          "retweeted_status": orig,
          "source": '<a href="http://x" rel="nofollow">Tweetbot</a>'}
    src = write_lines(tmp_path / "v1.jsonl", [rt])
    s = summarize([src], tmp_path / "out", {"slug": "t"})
    assert (s["tweets"], s["retweets"], s["first"]) == (1, 1, "2018-10-10T21:19:24Z")
    assert rows(tmp_path / "out" / "hashtags.csv") == [("story", "1")]
    assert rows(tmp_path / "out" / "sources.csv") == [("Tweetbot", "1")]


def test_pretty_printed_single_response(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(PAGE, indent=2))
    s = summarize([path], tmp_path / "out", {"slug": "t"})
    assert (s["tweets"], s["skipped"]) == (2, 0)


def test_bad_lines_are_skipped_with_file_and_line(tmp_path):
    src = write_lines(tmp_path / "mixed.jsonl",
                      ["not json at all", PAGE, "", "[1, 2]", {"errors": [{"detail": "gone"}]}])
    s = summarize([src], tmp_path / "out", {"slug": "t"})
    assert s["tweets"] == 2 and s["skipped"] == 3
    got = [(k["line"], k["reason"]) for k in s["skipped_sample"]]
    assert [line for line, _ in got] == [1, 4, 5]
    assert got[0][1].startswith("not JSON") and got[0][1].endswith("not json at all")
    assert got[1][1] == "JSON list, not a tweet or an API response"
    assert got[2][1] == "an error-only line: gone"


def test_tweets_csv_keeps_ids_as_text(tmp_path):
    src = write_lines(tmp_path / "a.jsonl", [PAGE])
    summarize([src], tmp_path / "out", {"slug": "t"})
    first_data_line = (tmp_path / "out" / "tweets.csv").read_text().splitlines()[1]
    assert first_data_line.startswith('"200","2026-11-01T11:30:00Z","2"')


def test_timeline_buckets_adapt_to_the_span():
    assert bucket_for("2026-11-01T00:00:00Z", "2026-11-01T05:00:00Z") == "minute"
    assert bucket_for("2026-11-01T00:00:00Z", "2026-11-05T00:00:00Z") == "hour"
    assert bucket_for("2026-11-01T00:00:00Z", "2027-03-01T00:00:00Z") == "day"
    assert bucket_for("2016-11-01T00:00:00Z", "2026-03-01T00:00:00Z") == "month"
    minutes = {"2026-11-01T10:05": 2, "2026-11-01T12:59": 1}
    assert timeline(minutes, "hour") == [("2026-11-01T10:00:00Z", 2),
                                         ("2026-11-01T11:00:00Z", 0),
                                         ("2026-11-01T12:00:00Z", 1)]
    assert timeline({"2026-11-30T10:05": 1, "2027-01-02T00:00": 1}, "month") == [
        ("2026-11-01T00:00:00Z", 1), ("2026-12-01T00:00:00Z", 0), ("2027-01-01T00:00:00Z", 1)]


def test_sample_does_not_depend_on_file_order(tmp_path):
    from .conftest import V2
    a = summarize([V2 / "kpop.jsonl", V2 / "brexit.jsonl"], tmp_path / "a", {"slug": "t"})
    b = summarize([V2 / "brexit.jsonl", V2 / "kpop.jsonl"], tmp_path / "b", {"slug": "t"})
    assert a["tweets"] == b["tweets"] == 200
    ca = json.loads((tmp_path / "a" / "cards.json").read_text())["sample"]
    cb = json.loads((tmp_path / "b" / "cards.json").read_text())["sample"]
    assert len(ca) == 10 and [t["id"] for t in ca] == [t["id"] for t in cb]


def test_api_escaped_text_is_unescaped_once(tmp_path):
    """The API sends `&amp; &lt; &gt;`; the record holds the text as written (pages escape)."""
    from .conftest import V2
    s = summarize([V2 / "2sets.jsonl"], tmp_path, {"slug": "t"})
    assert s["tweets"] == 200
    text = (tmp_path / "tweets.csv").read_text(encoding="utf-8")
    assert "<COMING UP NEXT>" in text and "&lt;COMING" not in text
    tweet = dict(PAGE["data"][1], text="a &amp; b &lt;c&gt; &amp;amp;")
    (rec,) = records({"data": [tweet], "includes": PAGE["includes"]})
    assert rec.text == "a & b <c> &amp;"


def test_failed_summary_is_dated_by_its_inputs(tmp_path):
    from dnflow.summary import write_failed
    src = write_lines(tmp_path / "a.jsonl", [PAGE])
    s = write_failed(tmp_path / "out", {"slug": "t"}, "boom", [src])
    assert s["status"] == "failed" and s["error"] == "boom"
    assert s["generated"] and s["generated"].endswith("Z")
    assert (tmp_path / "out" / "hashtags.csv").read_text().startswith("hashtag,count")


def _by(uid, tid, when, profile=None):
    tweet = {"id": tid, "author_id": uid, "text": "t", "created_at": when}
    inc = {"users": [profile]} if profile else {}
    return {"data": [tweet], "includes": inc}


def test_users_keep_the_profile_of_their_newest_tweet(tmp_path):
    """Per author: every tweet counts; the profile is the newest tweet's that names them,
    whatever the order of lines and files; a tweet without a profile never replaces one."""
    old = {"id": "5", "username": "Old", "name": "Before",
           "public_metrics": {"followers_count": 1, "following_count": 1}}
    new = {"id": "5", "username": "New", "name": "After",
           "public_metrics": {"followers_count": 9, "following_count": 2}}
    lines = [
        _by("5", "1", "2026-11-01T10:00:00.000Z"),  # no profile: kept only until one comes
        _by("5", "2", "2026-11-03T10:00:00.000Z", new),
        _by("5", "3", "2026-11-02T10:00:00.000Z", old),  # older, read later: ignored
        _by("6", "4", "2026-11-02T10:00:00.000Z"),  # never named: counted without a name
    ]
    want = [("New", "After", "3", "9", "2"), ("", "", "1", "", "")]
    for order in (lines, lines[::-1]):
        a = write_lines(tmp_path / "a.jsonl", order[:2])
        b = write_lines(tmp_path / "b.jsonl", order[2:])
        summarize([a, b], tmp_path / "out", {"slug": "t"})
        assert rows(tmp_path / "out" / "users.csv") == want
        # the same from two processes, each with one file, merged
        summarize([a, b], tmp_path / "par", {"slug": "t"}, workers=2, min_parallel_bytes=0)
        assert rows(tmp_path / "par" / "users.csv") == want
