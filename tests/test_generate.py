"""The seeded generator of v2 search pages: determinism, shape, consistency, speed."""

import gzip
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest

import dnflow.generate as gen
from dnflow.generate import (
    TOPICS,
    TWITTER_EPOCH_MS,
    iter_pages,
    iter_tweet_pool,
    main,
    write_archive,
)

from .conftest import ROOT, V2

N = 3000
QUERY = "#climatestrike OR #fridaysforfuture"


@pytest.fixture(scope="module")
def pages():
    return list(iter_pages(N, 7, query=QUERY, page_size=100))


@pytest.fixture(scope="module")
def data(pages):
    return [t for p in pages for t in p["data"]]


def kind(t):
    refs = t.get("referenced_tweets")
    return refs[0]["type"] if refs else "original"


def counted(page):
    """(tweet whose entities count, data tweet) pairs: a retweet counts its original."""
    inc = {t["id"]: t for t in page["includes"].get("tweets", [])}
    for t in page["data"]:
        if kind(t) == "retweeted":
            yield inc[t["referenced_tweets"][0]["id"]], t
        else:
            yield t, t


def as_dt(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert write_archive(a, 700, 5, topic="music") == 700
    write_archive(b, 700, 5, topic="music")
    write_archive(c, 700, 6, topic="music")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    # the written bytes are exactly the pages iter_pages yields
    expected = b"".join(
        orjson.dumps(p, option=orjson.OPT_APPEND_NEWLINE)
        for p in iter_pages(700, 5, topic="music")
    )
    assert a.read_bytes() == expected


def test_gz_round_trip_and_reproducible_header(tmp_path):
    plain, gz1 = tmp_path / "x.jsonl", tmp_path / "x.jsonl.gz"
    gz2 = tmp_path / "other-name.jsonl.gz"
    assert write_archive(plain, 1500, 2, topic="news") == 1500
    assert write_archive(gz1, 1500, 2, topic="news") == 1500
    write_archive(gz2, 1500, 2, topic="news")
    raw = gz1.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert raw == gz2.read_bytes()  # no file name in the header either
    assert gzip.decompress(raw) == plain.read_bytes()
    with gzip.open(gz1, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert sum(p["meta"]["result_count"] for p in lines) == 1500


def test_page_size_only_groups_the_same_tweets():
    a = [t["id"] for p in iter_pages(450, 3, page_size=100) for t in p["data"]]
    b = [t["id"] for p in iter_pages(450, 3, page_size=37) for t in p["data"]]
    assert a == b


def test_caches_only_save_time(monkeypatch):
    """Users, originals and links are derived, not remembered: no cache, same tweets."""
    cached = list(iter_pages(1500, 8, topic="news"))
    monkeypatch.setattr(gen, "_USER_CACHE", 0)
    monkeypatch.setattr(gen, "_POOL_CACHE", 0)
    assert list(iter_pages(1500, 8, topic="news")) == cached


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"

    def broken(*args, **kw):
        yield {"meta": {"result_count": 0}}
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gen, "_pages", broken)
    with pytest.raises(RuntimeError):
        write_archive(target, 100, 1)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temp file


# ---------------------------------------------------------------- pages and ids


def test_counts_and_meta(pages, data):
    assert len(pages) == N // 100
    assert len(data) == N
    ids = [t["id"] for t in data]
    assert len(set(ids)) == N
    for i, p in enumerate(pages):
        assert set(p) == {"data", "includes", "meta", "__twarc"}
        assert 1 <= len(p["data"]) <= 100
        m = p["meta"]
        assert m["result_count"] == len(p["data"])
        assert m["newest_id"] == p["data"][0]["id"]
        assert m["oldest_id"] == p["data"][-1]["id"]
        if i < len(pages) - 1:
            assert isinstance(m["next_token"], str) and len(m["next_token"]) > 20
        else:
            assert "next_token" not in m
        tw = p["__twarc"]
        assert tw["url"].startswith("https://api.twitter.com/2/tweets/search/recent?")
        assert "query=%23climatestrike+OR+%23fridaysforfuture" in tw["url"]
        assert (i == 0) == ("next_token=" not in tw["url"])
        assert tw["retrieved_at"].endswith("+00:00")
    tokens = [p["meta"].get("next_token") for p in pages[:-1]]
    assert len(set(tokens)) == len(tokens)


def test_uneven_last_page():
    ps = list(iter_pages(250, 1, page_size=100))
    assert [p["meta"]["result_count"] for p in ps] == [100, 100, 50]
    assert "next_token" not in ps[-1]["meta"]


def test_ids_decrease_and_times_agree(data):
    ids = [int(t["id"]) for t in data]
    assert all(a > b for a, b in zip(ids, ids[1:], strict=False))
    times = [as_dt(t["created_at"]) for t in data]
    assert all(a >= b for a, b in zip(times, times[1:], strict=False))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert start <= times[-1] and times[0] <= start + timedelta(days=7)
    for t, when in zip(data, times, strict=True):
        # a snowflake id carries its time: the same second as created_at
        ms = (int(t["id"]) >> 22) + TWITTER_EPOCH_MS
        assert ms // 1000 == int(when.timestamp())


def test_start_and_days_are_honoured():
    ps = iter_pages(500, 4, start="2027-02-10T06:00:00Z", days=0.5)
    data = [t for p in ps for t in p["data"]]
    lo = datetime(2027, 2, 10, 6, tzinfo=UTC)
    for t in data:
        assert lo <= as_dt(t["created_at"]) <= lo + timedelta(hours=12)


def test_first_id():
    first = 2_000_000_000_000_000_000
    data = [t for p in iter_pages(300, 1, first_id=first) for t in p["data"]]
    assert data[0]["id"] == str(first)
    ids = [int(t["id"]) for t in data]
    assert all(a > b > 0 for a, b in zip(ids, ids[1:], strict=False))
    with pytest.raises(ValueError):
        list(iter_pages(10, 1, first_id=12345))


def test_zero_tweets_is_an_empty_search(tmp_path):
    (page,) = list(iter_pages(0, 1))
    assert page["meta"] == {"result_count": 0}
    assert "data" not in page
    assert write_archive(tmp_path / "empty.jsonl", 0) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown topic"):
        iter_pages(10, topic="gardening")
    with pytest.raises(TypeError):
        iter_tweet_pool(10, colour="red")
    with pytest.raises(ValueError):
        iter_pages(10, page_size=0)


# ---------------------------------------------------------------- shape and references


def test_every_reference_resolves_in_its_page(pages):
    for p in pages:
        inc = p["includes"]
        users = {u["id"]: u for u in inc["users"]}
        tweets = {t["id"]: t for t in inc.get("tweets", [])}
        media = {m["media_key"] for m in inc.get("media", [])}
        places = {pl["id"] for pl in inc.get("places", [])}
        assert len(users) == len(inc["users"])  # no duplicates
        for t in p["data"]:
            assert t["author_id"] in users
            assert t["edit_history_tweet_ids"] == [t["id"]]
            for m in t.get("entities", {}).get("mentions", []):
                assert users[m["id"]]["username"] == m["username"]
            for ref in t.get("referenced_tweets", []):
                orig = tweets[ref["id"]]
                assert orig["author_id"] in users
                assert int(orig["id"]) < int(t["id"])
                assert orig["created_at"] <= t["created_at"]
            if "in_reply_to_user_id" in t:
                assert t["in_reply_to_user_id"] in users
                assert kind(t) == "replied_to"
            if "geo" in t:
                assert t["geo"]["place_id"] in places
        for t in p["data"] + inc.get("tweets", []):
            for key in t.get("attachments", {}).get("media_keys", []):
                assert key in media


def test_retweets_quotes_and_replies(pages, data):
    kinds = Counter(kind(t) for t in data)
    assert 0.50 <= kinds["retweeted"] / N <= 0.60
    assert 0.07 <= kinds["quoted"] / N <= 0.13
    assert 0.12 <= kinds["replied_to"] / N <= 0.18
    assert kinds["original"] > 0.12 * N
    for p in pages:
        users = {u["id"]: u for u in p["includes"]["users"]}
        tweets = {t["id"]: t for t in p["includes"].get("tweets", [])}
        for t in p["data"]:
            k = kind(t)
            if k == "original":
                continue
            orig = tweets[t["referenced_tweets"][0]["id"]]
            author = users[orig["author_id"]]["username"]
            if k == "retweeted":
                assert t["text"].startswith(f"RT @{author}: ")
                assert len(t["text"]) <= 140
                full = f"RT @{author}: " + orig["text"]
                assert t["text"] == full or (
                    t["text"].endswith("…") and full.startswith(t["text"][:-1])
                )
                assert t["lang"] == orig["lang"]
                assert t.get("attachments") == orig.get("attachments")
            elif k == "quoted":
                link = f"https://twitter.com/{author}/status/{orig['id']}"
                assert link in [u["expanded_url"] for u in t["entities"]["urls"]]
            else:
                assert t["in_reply_to_user_id"] == orig["author_id"]
                assert t["text"].startswith(f"@{author} ")
                assert t["conversation_id"] == orig["conversation_id"]


def test_entity_offsets_point_into_the_text(pages):
    for p in pages:
        for t in p["data"] + p["includes"].get("tweets", []):
            text = t["text"]
            ent = t.get("entities", {})
            for h in ent.get("hashtags", []):
                assert text[h["start"]:h["end"]] == "#" + h["tag"]
            for m in ent.get("mentions", []):
                assert text[m["start"]:m["end"]] == "@" + m["username"]
            for u in ent.get("urls", []):
                assert text[u["start"]:u["end"]] == u["url"]
                assert u["url"].startswith("https://t.co/") and len(u["url"]) == 23


def test_keys_are_the_real_apis(pages):
    """Every field generated is one the recorded corpus has (bookmark_count is newer)."""
    real = {"tweet": set(), "pm": {"bookmark_count"}, "user": set(), "upm": set(),
            "media": set(), "place": set(), "url": set()}
    for path in sorted(V2.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if not isinstance(d, dict) or not isinstance(d.get("data"), list):
                continue
            inc = d.get("includes", {})
            for t in d["data"] + inc.get("tweets", []):
                real["tweet"] |= set(t)
                real["pm"] |= set(t.get("public_metrics", {}))
                for u in t.get("entities", {}).get("urls", []):
                    real["url"] |= set(u)
            for u in inc.get("users", []):
                real["user"] |= set(u)
                real["upm"] |= set(u.get("public_metrics", {}))
            for m in inc.get("media", []):
                real["media"] |= set(m)
            for pl in inc.get("places", []):
                real["place"] |= set(pl)
    p = pages[0]
    for t in p["data"] + p["includes"]["tweets"]:
        assert set(t) <= real["tweet"]
        assert set(t["public_metrics"]) <= real["pm"]
        for u in t.get("entities", {}).get("urls", []):
            assert set(u) <= real["url"]
    for u in p["includes"]["users"]:
        assert set(u) <= real["user"]
        assert set(u["public_metrics"]) == real["upm"]
        assert {"id", "name", "username", "created_at", "verified", "description",
                "profile_image_url"} <= set(u)
    for m in p["includes"]["media"]:
        assert set(m) <= real["media"]
        assert m["media_key"].split("_")[0] == {"photo": "3", "video": "7",
                                                "animated_gif": "16"}[m["type"]]
        assert (m.get("url") or m["preview_image_url"]).startswith("https://pbs.twimg.com/")
    for pl in (pl for q in pages for pl in q["includes"].get("places", [])):
        assert set(pl) <= real["place"]


def test_media_languages_and_places(pages, data):
    with_media = [t for t in data if "attachments" in t]
    assert 0.08 <= len(with_media) / N <= 0.25
    # retweets of one original share its media key: some pictures recur many times
    keys = Counter(k for t in with_media for k in t["attachments"]["media_keys"])
    assert keys.most_common(1)[0][1] >= 20
    types = {m["type"] for p in pages for m in p["includes"].get("media", [])}
    assert {"photo", "video"} <= types
    assert any("alt_text" in m for p in pages for m in p["includes"].get("media", []))
    langs = Counter(t["lang"] for t in data)
    assert len(langs) >= 6 and langs.most_common(1)[0][0] == "en"
    assert sum(1 for p in pages if p["includes"].get("places")) >= 5
    assert any("unwound_url" in u for t in data for u in t.get("entities", {}).get("urls", []))


def test_query_terms_appear(pages):
    hits = total = 0
    for p in pages:
        for src, _t in counted(p):
            total += 1
            tags = {h["tag"].lower() for h in src.get("entities", {}).get("hashtags", [])}
            hits += bool(tags & {"climatestrike", "fridaysforfuture"})
    assert hits / total > 0.7
    # a keyword term is written into the text
    news = [t for p in iter_pages(600, 3, topic="news", query="breaking OR #news")
            for t in p["data"] if kind(t) == "original"]
    found = [("breaking" in t["text"].lower() or "#news" in t["text"].lower()) for t in news]
    assert len(news) > 50 and sum(found) / len(found) > 0.8


# ---------------------------------------------------------------- distributions


def test_zipf_vocabularies(pages, data):
    tags, authors, originals, domains = Counter(), Counter(), Counter(), Counter()
    for p in pages:
        for src, t in counted(p):
            for h in src.get("entities", {}).get("hashtags", []):
                tag = h["tag"].lower()
                if tag not in ("climatestrike", "fridaysforfuture"):  # the query's own
                    tags[tag] += 1
            for u in src.get("entities", {}).get("urls", []):
                url = u.get("unwound_url") or u["expanded_url"]
                if "twitter.com/" not in url:
                    domains[url.split("/")[2]] += 1
            if kind(t) == "retweeted":
                originals[t["referenced_tweets"][0]["id"]] += 1
        for t in p["data"]:
            authors[t["author_id"]] += 1
    top = tags.most_common(10)
    assert top[0][1] > 3 * top[9][1]
    rt = originals.most_common(10)
    assert rt[0][1] > 3 * rt[9][1]
    assert domains.most_common(1)[0][1] > 3 * domains.most_common(10)[9][1]
    # some very active authors, and a long tail seen once
    assert authors.most_common(1)[0][1] >= 15
    assert sum(1 for c in authors.values() if c == 1) > 0.45 * len(authors)
    # case variants of one hashtag exist (counting must case-fold)
    variants = Counter()
    for p in pages:
        for src, _t in counted(p):
            for h in src.get("entities", {}).get("hashtags", []):
                variants[h["tag"]] += 1
    assert {"ClimateStrike", "climatestrike"} <= set(variants)


def test_topics_differ():
    tops = {}
    for topic in TOPICS:
        tags = Counter()
        for p in iter_pages(600, 2, topic=topic, query=""):
            for src, _t in counted(p):
                tags.update(h["tag"].lower() for h in src.get("entities", {}).get("hashtags", []))
        tops[topic] = {t for t, _ in tags.most_common(5)}
    assert {"climate", "music", "news"} <= set(TOPICS)
    assert not tops["climate"] & tops["music"]
    assert not tops["music"] & tops["news"]


# ---------------------------------------------------------------- pool


def test_pool_matches_pages_and_is_self_contained():
    pool = list(iter_tweet_pool(400, 9, topic="music"))
    paged = [t for p in iter_pages(400, 9, topic="music") for t in p["data"]]
    assert [t for t, _ in pool] == paged
    for t, inc in pool:
        assert set(inc) == {"users", "tweets", "media", "places"}
        users = {u["id"] for u in inc["users"]}
        assert t["author_id"] in users
        refs = t.get("referenced_tweets", [])
        assert [r["id"] for r in refs] == [x["id"] for x in inc["tweets"]]
        assert all(x["author_id"] in users for x in inc["tweets"])
        keys = {m["media_key"] for m in inc["media"]}
        for x in [t, *inc["tweets"]]:
            assert set(x.get("attachments", {}).get("media_keys", [])) <= keys
        assert [pl["id"] for pl in inc["places"]] == (
            [t["geo"]["place_id"]] if "geo" in t else []
        )


# ---------------------------------------------------------------- cli


def test_main(tmp_path, capsys):
    out = tmp_path / "cli.jsonl.gz"
    assert main([str(out), "--tweets", "250", "--seed", "3", "--topic", "news",
                 "--query", "#x"]) == 0
    with gzip.open(out) as f:
        got = [orjson.loads(line) for line in f]
    assert sum(p["meta"]["result_count"] for p in got) == 250
    assert "250 tweets" in capsys.readouterr().err


def test_module_entry_point(tmp_path):
    out = tmp_path / "m.jsonl"
    subprocess.run([sys.executable, "-m", "dnflow.generate", str(out), "--tweets", "120"],
                   cwd=ROOT, check=True, capture_output=True)
    assert len(out.read_text().splitlines()) == 2


# ---------------------------------------------------------------- streaming and speed


def test_streaming_memory_stays_flat():
    n = 20_000
    tracemalloc.start()
    try:
        seen = size = 0
        for page in iter_pages(n, 1):
            seen += len(page["data"])
            size += len(orjson.dumps(page))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == n
    # holding 20k tweets would take more than their JSON (~37 MB); the caches are bounded
    assert peak < 16_000_000, peak
    assert peak < size / 3, (peak, size)
