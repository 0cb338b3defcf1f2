"""Every searches.yaml example in the README and docs/ validates as written (issue 15,
class 6): a user copies them."""

import re

import pytest
import yaml

from dnflow import config

from .conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _examples() -> list[tuple[str, int, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            out.append((path.name, text[:m.start()].count("\n") + 2, m.group(1)))
    return out


EXAMPLES = _examples()


def test_the_docs_have_examples():
    assert len([e for e in EXAMPLES if "searches:" in e[2]]) >= 5


@pytest.mark.parametrize("name,line,block", EXAMPLES, ids=[f"{n}:{at}" for n, at, _ in EXAMPLES])
def test_each_searches_example_validates(tmp_path, name, line, block):
    doc = yaml.safe_load(block)
    if not isinstance(doc, dict) or "searches" not in doc:
        pytest.skip(f"{name}:{line} is not a searches.yaml example")
    # the files an archive example names, and its deletions files
    named = [search.get(key) or [] for search in doc["searches"].values()
             for key in ("files", "deletions")] + [doc.get("deletions") or []]
    for files in named:
        for pattern in [files] if isinstance(files, str) else files:
            target = tmp_path / pattern.replace("**/", "").replace("*", "1").replace("?", "1")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    config.validate(doc, workdir=tmp_path)


def test_unquoted_times_are_read_as_the_text_they_look_like():
    doc = yaml.safe_load("searches:\n  a: {source: x, query: q, start_time: 2026-11-01T00:00:00Z}\n"
                         "  b: {source: bluesky, query: q, until: 2026-12-01}\n")
    searches = config.validate(doc)
    assert searches["a"]["start_time"] == "2026-11-01T00:00:00Z"
    assert searches["b"]["until"] == "2026-12-01"


@pytest.mark.parametrize("slug", ["2024", "7", "0"])
def test_a_number_slug_is_its_text(slug):
    searches = config.validate(yaml.safe_load(f"searches: {{{slug}: {{source: demo, posts: 5}}}}"))
    assert list(searches) == [slug]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "true", "False", "~", "null"])
def test_a_slug_yaml_reads_as_true_false_or_null_gets_one_line(word):
    with pytest.raises(config.ConfigError, match="put it in quotes"):
        config.validate(yaml.safe_load(f"searches: {{{word}: {{source: demo, posts: 5}}}}"))
    # quoted, it is a slug like any other
    quoted = word.lower().replace("~", "tilde")
    doc = yaml.safe_load(f"searches: {{'{quoted}': {{source: demo, posts: 5}}}}")
    assert list(config.validate(doc)) == [quoted]


@pytest.mark.parametrize("value,ok", [("5.0", 5), ("12000.0", 12000), ("5.5", None),
                                      ("1e3", None), ("-5.0", None)])
def test_a_whole_number_written_with_a_point_is_that_number(value, ok):
    doc = yaml.safe_load(f"searches: {{a: {{source: demo, tweets: {value}}}}}")
    if ok is None:
        with pytest.raises(config.ConfigError, match="search 'a', key 'tweets'"):
            config.validate(doc)
    else:
        assert config.validate(doc)["a"]["tweets"] == ok


@pytest.mark.parametrize("every", ["99999999999999999999d", "1000000m", "0h", "6w"])
def test_an_impossible_window_gets_one_line(every):
    doc = yaml.safe_load(f"searches: {{a: {{source: x, query: q, every: {every}}}}}")
    with pytest.raises(config.ConfigError, match="search 'a', key 'every'"):
        config.validate(doc)
