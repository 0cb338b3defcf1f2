"""Issue 15, class 1: bad input never fails a search. Generated inputs of each kind of
damage (hypothesis draws them from real corpus records), for every source's normalizer:
each is skipped with its file, line and reason, and every good record is still counted.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnflow.record import id_problem
from dnflow.sources import archive
from dnflow.summary import summarize

from .conftest import CORPUS, V2

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def _body(path: Path):
    return orjson.loads(path.read_bytes())["body"]


def _lines(path: Path) -> list:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


# (name, archive lines of real records, key of the posts' list in a line or None for
# a line that is one post or a list of them)
SOURCES = {
    "x-pages": (_lines(V2 / "2sets.jsonl") + _lines(V2 / "kpop.jsonl"), "data"),
    "x-flat": (_lines(V2 / "flat.jsonl"), None),
    "x-v1": (_lines(CORPUS / "derived" / "v1.1" / "tweepy_v1.1_cassette_tweets.jsonl"), None),
    "bluesky-search": ([_body(CORPUS / "bluesky" / "decoded" / "f_search.0.json")], "posts"),
    "bluesky-items": (json.loads((CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json")
                                 .read_text()), None),
    "mastodon-timeline": ([_body(CORPUS / "mastodon" / "decoded"
                                 / "get_timeline_hashtag_anonymous.0.json")], None),
    "mastodon-status": ([_body(CORPUS / "mastodon" / "decoded" / f"test_entity_status.{i}.json")
                         for i in (0, 1)], None),
}

DEEP = "\x00deep\x00"  # stands for nesting deeper than any decoder recurses
WRONG = st.one_of(
    st.sampled_from([None, True, -1, 0, 1.5, 1e308, 2**63, "", [], {}, [None], {"a": [{}]},
                     DEEP, "0000-10-14T00:00:00Z", "2026-13-45T99:99:99Z", "-999999-01-01",
                     "99999999999999999999999999", "9" * 5000, "x" * 100_000,
                     "a\nb", "\u202e\x00", "at://did:plc:x/app.bsky.feed.post/ y"]),
    st.integers(), st.text(max_size=30), st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.none(),
                                                          max_size=2),
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k in sorted(value):
            yield from _paths(value[k], prefix + (k,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:3]):
            yield from _paths(item, prefix + (i,))


@st.composite
def mutation(draw, post):
    """One change somewhere in ``post``: a value swapped for one of a wrong type, size
    or range, a key deleted, or the id made null."""
    paths = [p for p in _paths(post) if p]
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["swap", "swap", "swap", "delete", "null-id"]))
    return path, how, draw(WRONG)


def _apply(post, change) -> None:
    path, how, value = change
    if how == "null-id":
        for key in ("id", "id_str", "uri"):
            if isinstance(post, dict) and key in post:
                post[key] = None
        return
    parent = post
    for k in path[:-1]:
        parent = parent[k]
    if how == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def _posts_of(line, key):
    posts = line[key] if key else line
    return posts if isinstance(posts, list) else [posts]


def _dump(line) -> bytes:
    out = json.dumps(line).encode()
    return out.replace(b'"\\u0000deep\\u0000"', b"[" * 5000 + b"1" + b"]" * 5000)


@st.composite
def damaged_archive(draw):
    name = draw(st.sampled_from(sorted(SOURCES)))
    lines, key = SOURCES[name]
    out = []
    for _ in range(draw(st.integers(1, 6))):
        line = json.loads(json.dumps(draw(st.sampled_from(lines))))
        posts = _posts_of(line, key)
        for _ in range(draw(st.integers(1, 4))):
            if posts:
                post = posts[draw(st.integers(0, len(posts) - 1))]
                _apply(post, draw(mutation(post)))
        out.append(_dump(line))
    return name, out


def _distinct(path: Path) -> int:
    s = summarize([path], path.parent / (path.name + ".alone"), {"slug": "t"}, workers=1)
    assert s["status"] == "ok" and s["tweets"] > 0
    return s["tweets"]


GOOD: dict[str, int] = {}


def _good_file(tmp: Path, name: str) -> tuple[Path, int]:
    lines, _ = SOURCES[name]
    path = tmp / f"good-{name}.jsonl"
    if not path.exists():
        path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in lines))
    if name not in GOOD:
        GOOD[name] = _distinct(path)
    return path, GOOD[name]


def _check_outputs(out: Path, s: dict) -> None:
    ids = (out / "tweet-ids.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(ids) == len(set(ids)) == s["tweets"]
    assert all(id_problem(i) is None for i in ids)
    for skip in s["skipped_sample"]:
        assert skip["file"] and skip["line"] >= 1 and skip["reason"]


@SETTINGS
@given(case=damaged_archive(), spilled=st.booleans())
def test_mutated_records_never_fail_a_search(tmp_path_factory, case, spilled):
    """Mutated copies of real records of every format, after the real file: the search
    is counted, each good record is, and the bad ones are skipped with file and line."""
    tmp = tmp_path_factory.mktemp("mut")
    name, lines = case
    good, expected = _good_file(tmp_path_factory.getbasetemp(), name)
    bad = tmp / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    extra = dict(workers=2, min_parallel_bytes=1, spill_min_bytes=1, spill_keys=7) \
        if spilled else dict(workers=1)
    s = summarize([good, bad], tmp / "out", {"slug": "t"}, **extra)
    assert s["status"] == "ok", s.get("error")
    assert s["sources"][0]["new"] == expected
    assert s["sources"][1]["lines"] + s["skipped"] >= len(lines)
    for skip in s["skipped_sample"]:
        assert skip["file"] in (str(good), str(bad))
        most = len(lines) if skip["file"] == str(bad) else len(SOURCES[name][0])
        assert 1 <= skip["line"] <= most
    _check_outputs(tmp / "out", s)


@SETTINGS
@given(ids=st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none(),
                              st.just("1" * 600), st.just("a b"), st.just("x\ny")),
                    min_size=1, max_size=8),
       source=st.sampled_from(["x-flat", "bluesky-items", "mastodon-status"]))
def test_invalid_ids_are_skipped_never_written(tmp_path_factory, ids, source):
    """Posts given generated ids: each id that cannot be one line of tweet-ids.txt (or is
    not the platform's) is skipped with a reason; the file holds only valid ids."""
    tmp = tmp_path_factory.mktemp("ids")
    lines, _ = SOURCES[source]
    out = []
    for tid in ids:
        post = json.loads(json.dumps(lines[0]))  # one real post, given each id
        post = post if isinstance(post, dict) else post[0]
        key = "uri" if source != "x-flat" else "id"
        post[key] = tid
        out.append(orjson.dumps(post))
    path = tmp / "ids.jsonl"
    path.write_bytes(b"\n".join(out) + b"\n")
    s = summarize([path], tmp / "out", {"slug": "t"}, workers=1)
    assert s["status"] == "ok"
    _check_outputs(tmp / "out", s)
    bad = sum(1 for t in ids if not isinstance(t, str) or id_problem(t) is not None)
    assert s["skipped"] >= bad
    written = set((tmp / "out" / "tweet-ids.txt").read_text().split())
    assert not written & {t for t in ids if not isinstance(t, str) or id_problem(t)}


FLAT = (V2 / "flat.jsonl").read_bytes()
FLAT_GZ = gzip.compress(FLAT, mtime=0)


def _readable_lines(data: bytes) -> int:
    """Complete lines a gzip prefix decompresses to (what a reader can count)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = d.decompress(data)
    except zlib.error:
        return 0
    return text.count(b"\n")


@SETTINGS
@given(damage=st.sampled_from(["truncate", "flip", "trailing", "random-body", "crc"]),
       where=st.integers(11, len(FLAT_GZ) - 9), junk=st.binary(min_size=1, max_size=64))
def test_damaged_gzip_counts_what_was_readable(tmp_path_factory, damage, where, junk):
    tmp = tmp_path_factory.mktemp("gz")
    gz = FLAT_GZ
    data = {
        "truncate": gz[:where],
        "flip": gz[:where] + bytes([gz[where] ^ 0xFF]) + gz[where + 1:],
        "trailing": gz + b"x" + junk,  # (zero bytes after a member are padding, not damage)
        "random-body": gz[:10] + junk * (where // len(junk) + 1),
        "crc": gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:],
    }[damage]
    path = tmp / "damaged.jsonl.gz"
    path.write_bytes(data)
    s = summarize([path], tmp / "out", {"slug": "t"}, workers=1)
    assert s["status"] == "ok"
    _check_outputs(tmp / "out", s)
    if damage == "truncate":
        assert s["tweets"] == _readable_lines(data)
    if damage in ("trailing", "crc"):
        assert s["tweets"] == 100  # every line was there before the damage
    if s["tweets"] < 100 or damage in ("trailing", "crc", "truncate"):
        assert s["skipped"] >= 1
        last = s["skipped_sample"][-1]
        assert last["file"] == str(path) and last["reason"]


@pytest.mark.parametrize("name", ["2sets.jsonl", "flat.jsonl", "kpop.jsonl.gz", "twitwi",
                                  "mastodon"])
def test_a_byte_order_mark_loses_nothing(tmp_path, name):
    """A UTF-8 BOM before the first line (plain, gzip, a whole pretty-printed document)."""
    if name == "twitwi":
        data = (CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json").read_bytes()
    elif name == "mastodon":
        data = json.dumps(_body(CORPUS / "mastodon" / "decoded" /
                                "get_timeline_hashtag_anonymous.0.json"), indent=2).encode()
    else:
        data = (V2 / name.removesuffix(".gz")).read_bytes()
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    if name.endswith(".gz"):
        plain.write_bytes(gzip.compress(data))
        marked.write_bytes(gzip.compress(archive.BOM + data))
    else:
        plain.write_bytes(data)
        marked.write_bytes(archive.BOM + data)
    a = summarize([plain], tmp_path / "a", {"slug": "t"}, workers=1)
    b = summarize([marked], tmp_path / "b", {"slug": "t"}, workers=2, min_parallel_bytes=1)
    assert a["tweets"] > 0 and b["tweets"] == a["tweets"] and b["skipped"] == a["skipped"]


@SETTINGS
@given(sizes=st.lists(st.integers(0, 3 * 4096), min_size=1, max_size=6),
       gz=st.booleans())
def test_lines_over_the_cap_are_skipped(tmp_path_factory, monkeypatch, sizes, gz):
    """Lines longer than the line cap, anywhere in a file, plain or gzip: each is skipped
    with its line number, and the real lines around them are counted."""
    monkeypatch.setenv("DNFLOW_MAX_LINE_BYTES", "4096")
    tmp = tmp_path_factory.mktemp("cap")
    flat = FLAT.splitlines(keepends=True)
    small = [ln for ln in flat if len(ln) <= 4096]
    body, long_at = [], []
    for i, size in enumerate(sizes):
        body.append(small[i % len(small)])
        body.append(b" " * size + b"{}\n")
        if size + 3 > 4096:
            long_at.append(len(body))
    data = b"".join(body)
    path = tmp / "long.jsonl"
    path.write_bytes(gzip.compress(data) if gz else data)
    s = summarize([path], tmp / "out", {"slug": "t"}, workers=1)
    assert s["status"] == "ok"
    assert s["tweets"] == len({ln for ln in body if ln in small})
    capped = [k["line"] for k in s["skipped_sample"] if "longer than the cap" in k["reason"]]
    assert capped == long_at


def test_a_gzip_bomb_is_read_in_bounded_memory(tmp_path, monkeypatch):
    """A small gzip file that inflates to 256 MiB without a newline, between real lines:
    the long line is skipped, the rest counted, and memory stays near the line cap."""
    monkeypatch.setenv("DNFLOW_MAX_LINE_BYTES", str(1 << 20))
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as g:
        g.write(FLAT)
        block = b"x" * (1 << 22)
        for _ in range(64):
            g.write(block)
        g.write(b"\n" + (V2 / "kpop.jsonl").read_bytes())
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        s = summarize([path], tmp_path / "out", {"slug": "t"}, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert s["status"] == "ok" and s["tweets"] == 200
    assert [k["line"] for k in s["skipped_sample"]] == [101]
    assert peak < 40 << 20, peak


def test_a_stream_past_its_cap_is_cut_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("DNFLOW_MAX_STREAM_BYTES", str(len(FLAT) // 2))
    path = tmp_path / "long.jsonl.gz"
    path.write_bytes(gzip.compress(FLAT + (V2 / "kpop.jsonl").read_bytes()))
    s = summarize([path], tmp_path / "out", {"slug": "t"}, workers=1)
    assert s["status"] == "ok" and 0 < s["tweets"] < 100
    assert "past the cap" in s["skipped_sample"][-1]["reason"]
