"""A bad post never fails a search: it is skipped with its file, line and reason, and
every other post is counted (issue 15's first failure class, built into the pass)."""

import json
import random

import orjson

from dnflow.summary import summarize

from .conftest import V2

WRONG = [1, -5, 1.5, True, None, "", "x" * 5000, [], [1, 2], {}, {"a": {"b": [None]}},
         [[[[[[[[]]]]]]]]]


def _pages(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _mutate(tweet: dict, rng: random.Random) -> None:
    """Put a value of the wrong type somewhere in one tweet (its own fields or nested)."""
    key = rng.choice(sorted(tweet))
    value = tweet[key]
    if isinstance(value, dict) and value and rng.random() < 0.6:
        inner = rng.choice(sorted(value))
        if isinstance(value[inner], list) and value[inner] and rng.random() < 0.5:
            value[inner][0] = rng.choice(WRONG)
        else:
            value[inner] = rng.choice(WRONG)
    elif isinstance(value, list) and value and rng.random() < 0.6:
        value[rng.randrange(len(value))] = rng.choice(WRONG)
    else:
        tweet[key] = rng.choice(WRONG)


def test_the_issue_example_is_skipped_not_fatal(tmp_path):
    good = V2 / "kpop.jsonl"
    src = tmp_path / "a.jsonl"
    src.write_bytes(b'{"data":[{"id":1,"text":"x"}]}\n' + good.read_bytes())
    s = summarize([src], tmp_path / "out", {"slug": "t"}, workers=1)
    assert s["status"] == "ok" and s["tweets"] == 100
    assert s["skipped_sample"][0]["line"] == 1
    assert s["skipped_sample"][0]["reason"] == (
        "post 1 of the line: id 1 is not an X id (decimal digits)")
    ids = (tmp_path / "out" / "tweet-ids.txt").read_text().split()
    assert len(ids) == 100 and "1" not in ids


def test_mutated_corpus_posts_never_fail_a_search(tmp_path):
    """Many mutated copies of real posts, each beside the real page they came from: the
    search is counted, and every post whose mutation made it unreadable is skipped with
    its line (the others are counted, with what they still hold)."""
    rng = random.Random(15)
    pages = _pages(V2 / "2sets.jsonl") + _pages(V2 / "kpop.jsonl")
    lines = []
    for i in range(300):
        page = json.loads(json.dumps(rng.choice(pages)))
        page["data"] = page["data"][:5]
        for t in page["data"]:
            t["id"] = f"9{i:05d}{t['id'][-6:]}"  # not the real ones: those come after
        for _ in range(rng.randrange(1, 4)):
            _mutate(rng.choice(page["data"]), rng)
        lines.append(orjson.dumps(page))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    s = summarize([bad, V2 / "2sets.jsonl", V2 / "kpop.jsonl"], tmp_path / "out",
                  {"slug": "t"}, workers=1)
    assert s["status"] == "ok"
    real = s["sources"][1]["new"] + s["sources"][2]["new"]
    assert real == len({t["id"] for p in pages for t in p["data"]})  # every real post
    mutated = s["sources"][0]
    assert mutated["skipped"] > 0 and mutated["new"] + mutated["skipped"] <= 1500
    for skip in s["skipped_sample"]:
        assert skip["file"].endswith("bad.jsonl") and 1 <= skip["line"] <= 300
    ids = (tmp_path / "out" / "tweet-ids.txt").read_text().split()
    assert all(i.isdigit() for i in ids) and len(ids) == len(set(ids)) == s["tweets"]
    # and the same in two processes
    two = summarize([bad, V2 / "2sets.jsonl", V2 / "kpop.jsonl"], tmp_path / "two",
                    {"slug": "t"}, workers=2, min_parallel_bytes=1)
    assert two["tweets"] == s["tweets"] and two["skipped"] == s["skipped"]
