"""searches.yaml mistakes get one line naming the search and the key."""

import pytest
import yaml

from dnflow.config import ConfigError, archive_files, validate

from .conftest import ROOT, V2


def check(text, workdir="."):
    return validate(yaml.safe_load(text), workdir=workdir)


@pytest.mark.parametrize("text,message", [
    ("searches: {Bad: {source: demo, tweets: 5}}", "bad slug 'Bad'"),
    ("searches: {-x: {source: demo, tweets: 5}}", "bad slug '-x'"),
    ("searches: {ok: {source: demo, tweets: 5, colour: red}}", "search 'ok': unknown key 'colour'"),
    ("searches: {ok: {source: archive, fils: a.jsonl}}", "search 'ok': unknown key 'fils'"),
    ("searches: {ok: {source: archive}}", "search 'ok': missing key 'files'"),
    ("searches: {ok: {source: x}}", "search 'ok': missing key 'query'"),
    ("searches: {ok: {source: ftp}}", "search 'ok', key 'source': 'ftp' is not one of"),
    ("searches: {ok: {source: x, query: a, every: 6x}}",
     "search 'ok', key 'every': '6x' is not a window like 15m, 6h or 1d"),
    ("searches: {ok: {source: x, query: a, start_time: yesterday}}",
     "search 'ok', key 'start_time': 'yesterday' should look like 2026-11-01T00:00:00Z"),
    ("searches: {ok: {source: demo, tweets: 5, files: a}}",
     "search 'ok', key 'files': not used by source 'demo'"),
    ("searches: {ok: {source: archive, files: nope/*.jsonl}}",
     "search 'ok', key 'files': no file matches 'nope/*.jsonl'"),
    ("searches: {ok: {source: archive, files: [missing.jsonl]}}",
     "search 'ok', key 'files': no such file 'missing.jsonl'"),
    ("searches: {ok: {source: archive, files: []}}", "search 'ok', key 'files'"),
    ("serches: {}", "unknown key 'serches'"),
    ("searches: {ok: {source: bluesky}}", "search 'ok': missing key 'query'"),
    ("searches: {ok: {source: bluesky, query: a, sort: new}}",
     "search 'ok', key 'sort': 'new' is not one of ['latest', 'top']"),
    ("searches: {ok: {source: bluesky, query: a, lang: english}}",
     "search 'ok', key 'lang': 'english' is not a language code such as en or pt-BR"),
    ("searches: {ok: {source: bluesky, query: a, since: last week}}",
     "search 'ok', key 'since': 'last week' is not a time such as 2026-11-01T00:00:00Z"),
    ("searches: {ok: {source: bluesky, query: a, max_tweets: 5}}",
     "search 'ok', key 'max_tweets': not used by source 'bluesky'"),
    ("searches: {ok: {source: demo}}", "search 'ok': give `posts` (how many to generate)"),
    ("searches: {ok: {source: demo, posts: 5, tweets: 5}}", "not both `posts` and `tweets`"),
    ("searches: {ok: {source: demo, posts: 5, platform: myspace}}",
     "search 'ok', key 'platform': 'myspace' is not one of ['x', 'bluesky', 'mastodon']"),
    ("searches: {ok: {source: x, query: a, media: {download: big}}}",
     "search 'ok', key 'media.download': 'big' is not one of ['thumbnails', 'full', 'none']"),
    ("searches: {ok: {source: x, query: a, media: {downlaod: full}}}",
     "search 'ok', key 'media': unknown key 'downlaod'"),
    ("searches: {ok: {source: x, query: a, media: full}}",
     "search 'ok', key 'media': give a mapping, such as {download: full, max_items: 500}"),
    ("searches: {ok: {source: x, query: a, media: {max_items: -1}}}",
     "search 'ok', key 'media.max_items': -1 is less than the minimum of 0"),
    ("searches: {ok: {source: x, query: a, media: {max_bytes: 2.5}}}",
     "search 'ok', key 'media.max_bytes': 2.5 is not of type 'integer'"),
])
def test_mistakes_name_the_search_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        check(text, tmp_path)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_shipped_config_is_valid():
    searches = check((ROOT / "config" / "searches.yaml").read_text(), ROOT)
    assert len(searches) >= 2
    assert {s["source"] for s in searches.values()} == {"demo"}
    # one demo per platform that can make one, so the compare page shows them together
    assert {s.get("platform", "x") for s in searches.values()} == {"x", "bluesky", "mastodon"}


def test_files_expand_paths_and_globs_in_order_without_duplicates(tmp_path):
    search = {"source": "archive",
              "files": [str(V2 / "media_policy_violation_*.jsonl"), str(V2 / "kpop.jsonl"),
                        str(V2 / "kpop.jsonl")]}
    files = archive_files("s", search, tmp_path)
    assert [f.rsplit("/", 1)[1] for f in files] == [
        "media_policy_violation_off.jsonl", "media_policy_violation_on.jsonl", "kpop.jsonl"]


def test_relative_files_are_relative_to_the_working_directory(tmp_path):
    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "a.jsonl.gz").write_bytes(b"")
    files = archive_files("s", {"source": "archive", "files": "arch/*.jsonl.gz"}, tmp_path)
    assert files == ["arch/a.jsonl.gz"]
