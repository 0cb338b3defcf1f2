"""The two ways into X's v2 pages give the same records and counts: typed structs
(dnflow.formats.x_struct, the fast path of every big summary) and parsed JSON
(dnflow.formats.x_json), page by page, on every v2 line of the corpus, on generated
archives, and on pages mutated into the edge cases real pages have (a place, a quote in
a value, a missing count, an original or author the page lacks...).
"""

import copy
import gzip
import random

import orjson

from dnflow import formats
from dnflow.counting import Tally
from dnflow.formats import x_struct
from dnflow.generate import write_archive
from dnflow.rows import tweet_row
from dnflow.summary import summarize
from dnflow.summary.passes import new_posts

from .conftest import CORPUS


def _pages(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for line in f:
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict) and x_struct.loads(line).__class__ is x_struct.Page:
                yield value


def _state(tally: Tally) -> dict:
    state = tally.to_state()
    # the sample heap's order depends on arrival; its content does not
    state["parts"]["cards"] = sorted(state["parts"]["cards"], key=lambda s: s[:2])
    return state


def _count_both(values: list[dict]) -> int:
    """Count the pages both ways, comparing each page's records, ids, rows and skips,
    then every count; returns how many posts were counted."""
    fast, slow = Tally(), Tally()
    for value in values:
        line = orjson.dumps(value)
        fbad: list = []
        sbad: list = []
        got = new_posts(formats.split(x_struct.loads(line)), fast.seen, fbad)
        want = new_posts(formats.split(orjson.loads(line)), slow.seen, sbad)
        assert got == want, line[:200]
        assert fbad == sbad, line[:200]
        assert [tweet_row(r) for r in got[0]] == [tweet_row(r) for r in want[0]]
        fast.take(got[0])
        slow.take(want[0])
    assert fast.seen == slow.seen
    assert _state(fast) == _state(slow)
    return fast.posts


def test_corpus_pages_count_the_same():
    files = sorted(p for p in CORPUS.rglob("*.json*") if p.is_file())
    values = [v for path in files for v in _pages(path)]
    # the corpus' files overlap (dedup across pages) and have places, media, errors
    assert len(values) >= 40
    assert _count_both(values) > 1000


def test_generated_pages_count_the_same(tmp_path):
    path = tmp_path / "a.jsonl"
    write_archive(path, 4000, 11, topic="climate")
    assert _count_both(list(_pages(path))) == 4000


def _mutate(page: dict, rng: random.Random) -> dict:
    """One of the odd things real pages have, at random, to one tweet (or its page)."""
    page = copy.deepcopy(page)
    data = page["data"] if isinstance(page["data"], list) else [page["data"]]
    t = rng.choice(data)
    inc = page.setdefault("includes", {})
    kind = rng.randrange(16)
    if kind == 0:
        t["text"] = rng.choice(['say "hi"', "a &amp; b &lt;3", "", 'RT "x"'])
    elif kind == 1:
        pm = t.setdefault("public_metrics", {})
        k = rng.choice(["retweet_count", "reply_count", "like_count", "quote_count"])
        if rng.random() < 0.5:
            pm.pop(k, None)
        else:
            pm[k] = rng.choice(["5", None, 1.5])
    elif kind == 2:
        t.pop("public_metrics", None)
    elif kind == 3 and inc.get("tweets"):
        inc["tweets"].pop(rng.randrange(len(inc["tweets"])))  # an original the page lacks
    elif kind == 4 and inc.get("users"):
        u = rng.choice(inc["users"])
        if rng.random() < 0.5:
            u.pop("username", None)
        else:
            u.setdefault("public_metrics", {})["followers_count"] = None
    elif kind == 5:
        t["lang"] = None
        for o in inc.get("tweets") or []:
            o["lang"] = rng.choice([None, "fr"])
    elif kind == 6:
        t["created_at"] = rng.choice([None, "Wed Oct 10 20:19:24 +0000 2018", "soon", ""])
    elif kind == 7:
        t["geo"] = {"place_id": "p1"}
        inc["places"] = [{"id": "p1", "full_name": 'Paris, "FR"', "country_code": "FR"}]
    elif kind == 8:
        t["id"] = rng.choice([data[0]["id"], "012", "x1"])  # a duplicate, non-canonical ids
    elif kind == 9:
        t.setdefault("attachments", {})["media_keys"] = ["3_missing", "3_missing"]
    elif kind == 10:
        ent = t.setdefault("entities", {})
        ent["hashtags"] = [{"tag": "Tag"}, {"tag": "tAG"}, {"tag": "other"}]
        ent["urls"] = [{"url": "https://t.co/a", "expanded_url": "https://ex.org/a?utm_x=1"},
                       {"url": "https://t.co/b", "expanded_url": "https://ex.org/a"},
                       {"url": "http://t.co/c"}]
    elif kind == 11:
        t["source"] = rng.choice([None, 'Say "x"'])
    elif kind == 12:
        t["referenced_tweets"] = [{"type": "retweeted", "id": ""},
                                  {"type": "quoted", "id": data[-1]["id"]}]
    elif kind == 13:
        t["author_id"] = rng.choice([None, "404"])
    elif kind == 14 and inc.get("tweets"):
        # an original whose author the page lacks, and an escaped text
        o = rng.choice(inc["tweets"])
        o["author_id"], o["text"] = "404", "x &gt; y"
    else:
        t.pop("entities", None)
        t.pop("referenced_tweets", None)
    return page


def test_mutated_pages_count_the_same(tmp_path):
    path = tmp_path / "a.jsonl"
    write_archive(path, 2000, 5, topic="climate")
    base = list(_pages(path))
    base += [v for p in sorted((CORPUS / "twarc-csv" / "test-data").glob("*.jsonl"))
             for v in _pages(p)][:20]
    rng = random.Random(3)
    for _ in range(4):
        values = []
        for page in base:
            for _ in range(rng.randrange(1, 6)):
                page = _mutate(page, rng)
            values.append(page)
        _count_both(values)


def test_summaries_are_the_same_without_the_fast_path(tmp_path, monkeypatch):
    files = sorted((CORPUS / "twarc-csv" / "test-data").glob("*.jsonl"))
    gen = tmp_path / "gen.jsonl"
    write_archive(gen, 3000, 2, topic="climate")
    files.append(gen)
    summarize(files, tmp_path / "fast", {"slug": "s"}, workers=2, min_parallel_bytes=1)
    # every line as a plain dict
    monkeypatch.setattr(formats.FORMATS["v2-page"], "loads", orjson.loads)
    summarize(files, tmp_path / "slow", {"slug": "s"}, workers=2, min_parallel_bytes=1)
    names = sorted(p.name for p in (tmp_path / "fast").iterdir())
    assert "tweets.csv" in names and "users.csv" in names
    assert names == sorted(p.name for p in (tmp_path / "slow").iterdir())
    for name in names:
        assert (tmp_path / "fast" / name).read_bytes() == (
            tmp_path / "slow" / name).read_bytes(), name
