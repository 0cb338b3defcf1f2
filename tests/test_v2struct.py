"""The typed fast path (dnflow.formats.x_struct) gives the generic path's records, or defers
to it."""

import gzip

import orjson
import pytest

from dnflow import formats
from dnflow.formats import x_struct
from dnflow.generate import write_archive

from .conftest import CORPUS


def _lines(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        yield from (line for line in f if line.strip())


def _generic(value):
    b = formats.split(value)
    assert not b.typed
    return [b.normalize(raw, b.context) for raw in b.raws], b.format


def _typed(page):
    b = formats.split(page)
    assert b.typed
    return [b.normalize(raw, b.context) for raw in b.raws], b.format


def _compare(path) -> tuple[int, int]:
    """(lines the fast path took, lines it left to the generic path) for one file."""
    typed = generic = 0
    for line in _lines(path):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            with pytest.raises(orjson.JSONDecodeError):
                x_struct.loads(line)
            continue
        got = x_struct.loads(line)
        if got.__class__ is x_struct.Page:
            typed += 1
            assert _typed(got) == _generic(value), f"{path}: {line[:80]!r}"
        else:
            generic += 1
            assert got == value
            try:
                fmt = formats.split(value).format
            except formats.NotPosts:
                continue
            # every v2 answer with tweets in the corpus is as the API sends it
            assert fmt not in ("v2-page", "v2-stream") or not value["data"], path
    return typed, generic


V2_FILES = sorted(p for p in CORPUS.rglob("*.json*") if p.is_file())


def test_every_corpus_line_gives_the_generic_records():
    typed = generic = 0
    for path in V2_FILES:
        t, g = _compare(path)
        typed += t
        generic += g
    # v2 pages and stream lines beside flat, v1.1 and non-tweet lines
    assert typed >= 40 and generic >= 500, (typed, generic)


def test_generated_pages_take_the_fast_path(tmp_path):
    path = tmp_path / "a.jsonl"
    write_archive(path, 3000, 7, topic="climate")
    typed, generic = _compare(path)
    assert typed == 30 and generic == 0


PAGE = {
    "data": [{"id": "1", "text": "hi &amp; #A", "author_id": "9",
              "entities": {"hashtags": [{"tag": "A"}]}}],
    "includes": {"users": [{"id": "9", "username": "u"}]},
}


@pytest.mark.parametrize("change", [
    # a field of another type than the API's: the generic path keeps what it can
    lambda p: p["data"][0].update(id=1),
    lambda p: p["data"][0]["entities"].update(hashtags=[{"start": 0}]),
    lambda p: p["includes"]["users"][0].update(public_metrics={"followers_count": "12"}),
    lambda p: p["includes"]["users"].append({"username": "no id"}),
    # not a tweets answer at all
    lambda p: p.update(data=[{"id": "9", "username": "u", "name": "U"}]),
    lambda p: p.update(data=[]),
])
def test_anything_unexpected_goes_to_the_generic_path(change):
    page = orjson.loads(orjson.dumps(PAGE))
    change(page)
    line = orjson.dumps(page)
    got = x_struct.loads(line)
    assert got.__class__ is not x_struct.Page
    assert got == page


def test_a_clean_page_is_typed_and_unescaped():
    page = x_struct.loads(orjson.dumps(PAGE))
    assert page.__class__ is x_struct.Page
    (rec,), fmt = _typed(page)
    assert fmt == "v2-page"
    assert rec.text == "hi & #A" and rec.hashtags == ["A"]
    assert rec.author.handle == "u"
