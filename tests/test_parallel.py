"""A summary shared out between worker processes is byte for byte the one-process summary.

Byte ranges of one plain file, whole gzip files, duplicates across the cut, skipped lines
on both sides of it; and the hand-formatted CSV rows agree with the csv module.
"""

import csv
import gzip
import io
import json

import pytest

from dnflow import outputs
from dnflow.formats import records
from dnflow.generate import write_archive
from dnflow.rows import csv_row, tweet_row
from dnflow.sources import archive
from dnflow.summary import passes, plan, summarize

from .conftest import CORPUS, V2

OUTPUTS = outputs.names()


def outputs(d):
    return {name: (d / name).read_bytes() for name in OUTPUTS}


def same_as_one_process(tmp_path, files, workers=(2, 3)):
    one = tmp_path / "one"
    s1 = summarize(files, one, {"slug": "t"}, workers=1)
    for w in workers:
        many = tmp_path / f"w{w}"
        s = summarize(files, many, {"slug": "t"}, workers=w, min_parallel_bytes=0)
        assert s == s1
        got, want = outputs(many), outputs(one)
        for name in OUTPUTS:
            assert got[name] == want[name], (w, name)
        assert not list(many.glob(".*")), "worker part files left behind"
    return s1


@pytest.fixture(scope="module")
def big_plain(tmp_path_factory):
    """A plain archive with bad lines and tweets repeated across its middle."""
    d = tmp_path_factory.mktemp("arch")
    gen = d / "gen.jsonl"
    write_archive(gen, 3000, 5, page_size=50)
    lines = gen.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    path = d / "mixed.jsonl"
    path.write_bytes(b"".join(
        lines[:5] + [b"not json\n", b"\n"] + lines[5:half] + [b'{"errors": [{"title": "x"}]}\n']
        + lines[half:] + lines[1:3]  # page 2-3 again, after the cut
        + [b"[1, 2]\n"] + lines[half:half + 2]  # pages of the second half again
    ))
    return path


def test_byte_ranges_with_duplicates_and_skips(tmp_path, big_plain):
    runs = plan([big_plain], 2, 0)
    assert len(runs) == 2 and runs[0][0][2:] == (0, runs[1][0][2])  # really cut in two
    s = same_as_one_process(tmp_path, [big_plain])
    assert s["tweets"] == 3000 and s["skipped"] == 3
    assert [k["line"] for k in s["skipped_sample"]] == [6, 33, 66]


def test_no_duplicates_merge_without_recount(tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    write_archive(path, 2000, 9, page_size=40)
    recounted = []
    real_run = passes.Pass.run

    def run(self, segments):
        recounted.append(len(segments))
        return real_run(self, segments)

    monkeypatch.setattr(passes.Pass, "run", run)
    same_as_one_process(tmp_path, [path], workers=(2,))
    # one-process run + the parent's own run: the worker's result was merged, not redone
    assert len(recounted) == 2


def test_whole_gzip_files_and_overlaps(tmp_path):
    gz = tmp_path / "g.jsonl.gz"
    write_archive(gz, 800, 3)
    files = [gz, V2 / "media_policy_violation_on.jsonl", V2 / "media_policy_violation_off.jsonl",
             V2 / "2sets.jsonl", gz, V2 / "streaming_output_with_error.jsonl",
             CORPUS / "derived" / "v1.1" / "tweepy_v1.1_cassette_tweets.jsonl"]
    s = same_as_one_process(tmp_path, files, workers=(2, 3, 5))
    assert s["sources"][4]["new"] == 0  # the same gzip file twice


def test_small_inputs_stay_in_one_process():
    assert len(plan([V2 / "2sets.jsonl"], 2)) == 1


WEIRD = {
    "data": [
        {"id": "1", "text": 'say "hi",\r\nthere\x00', "author_id": "7",
         "created_at": "2026-11-01T10:00:00.000Z", "source": 'We"b',
         "public_metrics": {"retweet_count": 1, "reply_count": None, "like_count": 2.5,
                            "quote_count": True},
         "entities": {"hashtags": [{"tag": 'a"b'}], "mentions": [{"username": "x,y"}]}},
        {"id": "2", "text": "plain", "author_id": "8", "lang": "en",
         "created_at": "2026-11-01T10:01:00.000Z",
         "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": 2,
                            "quote_count": 3},
         "geo": {"place_id": "p1"}},
        {"id": "3", "text": "nul\x00in name", "author_id": "9",
         "created_at": "2026-11-01T10:02:00.000Z"},
        {"id": "4", "text": "no profile", "author_id": "10",
         "created_at": "2026-11-01T10:03:00.000Z"},
    ],
    "includes": {
        "users": [{"id": "7", "username": "A,b", "name": 'Q "uote"',
                   "public_metrics": {"followers_count": 3, "following_count": None}},
                  {"id": "8", "username": "bob", "name": "Bob\nNewline",
                   "public_metrics": {"followers_count": "12", "following_count": 1}},
                  {"id": "9", "username": "nul", "name": "N\x00L"}],
        "places": [{"id": "p1", "full_name": 'Town, "Here"'}],
    },
}


def test_rows_match_the_csv_module():
    for rec in records(WEIRD):
        want = csv_row(rec).encode()
        assert tweet_row(rec) == want, rec.id


def test_users_rows_match_the_csv_module(tmp_path):
    src = tmp_path / "w.jsonl"
    src.write_text(json.dumps(WEIRD) + "\n")
    summarize([src], tmp_path / "out", {"slug": "t"})
    text = (tmp_path / "out" / "users.csv").read_bytes().decode()
    want = io.StringIO()
    w = csv.writer(want)
    w.writerow(("username", "name", "tweets", "followers", "following"))
    # one tweet each: by username, case-folded (no username sorts first)
    w.writerows([("", "", 1, "", ""), ("A,b", 'Q "uote"', 1, 3, ""),
                 ("bob", "Bob\nNewline", 1, "", 1), ("nul", "N\x00L", 1, "", "")])
    assert text == want.getvalue()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2] == ["A,b", 'Q "uote"', "1", "3", ""]


def test_gzip_sizes_are_estimated(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"{}\n" * 1000)
    assert archive.uncompressed_size(path) == 3000
    assert not archive.splittable(path)


def test_id_spans_decide_when_ids_need_looking_up():
    assert passes.int_span([5, 3, 9]) == (3, 9)
    assert passes.int_span([3, "012"]) is None  # a non-canonical id: no span, always looked up
    assert passes.int_span(["a", "b"]) is None
    empty = passes.int_span([])
    assert not passes.overlap(empty, (1, 9)) and passes.union(empty, (3, 4)) == (3, 4)
    assert passes.union((1, 4), (6, 9)) == (1, 9) and passes.union(None, (1, 2)) is None
    assert not passes.overlap((1, 4), (5, 9)) and not passes.overlap((5, 9), (1, 4))
    assert passes.overlap((1, 5), (5, 9)) and passes.overlap((1, 9), (3, 4))
    assert passes.overlap(None, (1, 2)) and passes.overlap((1, 2), None)
