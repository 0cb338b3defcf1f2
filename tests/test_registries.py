"""The registries are the extension points: a count, a format or a source defined only in
tests/ plugs in with no edit anywhere else (tests/plugins/)."""

from __future__ import annotations

import csv
import importlib
import json

import pytest

from dnflow import outputs
from dnflow.counting import COUNTS
from dnflow.summary import summarize

from .conftest import V2


@pytest.fixture
def weekdays():
    mod = importlib.import_module("tests.plugins.toy_count")
    COUNTS.register(mod.Weekdays)
    yield mod.Weekdays
    COUNTS.unregister("weekdays")


def test_a_count_from_a_plugin_writes_its_csv_and_summary(tmp_path, weekdays):
    assert "weekdays.csv" in outputs.names()
    s = summarize([V2 / "2sets.jsonl"], tmp_path, {"slug": "t"}, workers=1)
    with open(tmp_path / "weekdays.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["weekday", "count"]
    counted = {day: int(n) for day, n in rows[1:]}
    # every tweet of the file has a time: the days add up to the tweets
    assert sum(counted.values()) == s["tweets"] == 200
    assert s["busiest_weekday"] == rows[1][0]
    assert s["counts"]["weekdays"] == len(counted)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["busiest_weekday"] == rows[1][0]


def test_a_count_from_a_plugin_merges_across_workers(tmp_path, weekdays):
    files = [V2 / "2sets.jsonl", V2 / "kpop.jsonl", V2 / "brexit.jsonl"]
    one = summarize(files, tmp_path / "one", {"slug": "t"}, workers=1)
    two = summarize(files, tmp_path / "two", {"slug": "t"}, workers=2, min_parallel_bytes=1)
    assert one["counts"]["weekdays"] == two["counts"]["weekdays"]
    assert (tmp_path / "one" / "weekdays.csv").read_bytes() == (
        tmp_path / "two" / "weekdays.csv").read_bytes()


def test_without_the_plugin_its_file_is_not_in_the_manifest():
    assert "weekdays" not in COUNTS
    assert "weekdays.csv" not in outputs.names()


def test_two_counts_cannot_write_one_file(weekdays):
    class Clash(weekdays):
        name = "clash"

    COUNTS.register(Clash)
    try:
        with pytest.raises(ValueError, match="weekdays.csv"):
            outputs.manifest()
    finally:
        COUNTS.unregister("clash")


def test_a_count_from_a_plugin_has_its_page_section(tmp_path, weekdays):
    from dnflow.site.render import build_page

    summarize([V2 / "2sets.jsonl"], tmp_path / "summary", {"slug": "t", "title": "T"},
              workers=1)
    build_page(tmp_path / "summary", tmp_path / "site" / "index.html",
               tmp_path / "site" / "downloads", "t")
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    section = page.split('<section id="weekdays"', 1)[1].split("</section>", 1)[0]
    text = (tmp_path / "summary" / "weekdays.csv").read_text(encoding="utf-8")
    days = [r[0] for r in csv.reader(text.splitlines())][1:]
    assert ">Weekdays<" in section and "downloads/weekdays.csv" in section
    assert all(day in section for day in days)
    # in the platform's words, and listed with the downloads
    assert "written, UTC" in section and "Tweets" in section
    assert 'href="downloads/weekdays.csv"' in page.split('id="downloads"', 1)[1]
    # after the built-in sections (its position is 95)
    assert page.index('<section id="clients"') < page.index('<section id="weekdays"')


def test_an_installed_package_registers_through_its_entry_point(tmp_path, monkeypatch):
    """A plugin installed as a package (a ``dnflow`` entry point) is found with no
    DNFLOW_PLUGINS; a process with none installed never imports importlib.metadata."""
    from dnflow import registry

    dist = tmp_path / "toyplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dnflow]\nweekdays = tests.plugins.toy_count\n")
    assert not registry._declared_anywhere()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registry._declared_anywhere()
    monkeypatch.setattr(registry, "_scanned", None)
    monkeypatch.setattr(registry, "_loaded", set(registry.BUILTINS))
    import sys
    monkeypatch.delitem(sys.modules, "tests.plugins.toy_count", raising=False)
    try:
        assert "weekdays" in COUNTS
    finally:
        COUNTS.unregister("weekdays")


def test_a_compared_section_joins_the_compare_page(tmp_path, weekdays, monkeypatch):
    """A section marked ``compare`` is side by side across searches, and its file is an
    input of the site's index job."""
    from dnflow.site.render import build_page, build_site

    monkeypatch.setattr(weekdays, "compare", True)
    assert "weekdays.csv" in outputs.index_files()
    searches = []
    for slug, f in (("a", "2sets.jsonl"), ("b", "kpop.jsonl")):
        d = tmp_path / "data" / slug
        summarize([V2 / f], d, {"slug": slug, "title": slug.upper()}, workers=1)
        build_page(d, tmp_path / "site" / slug / "index.html",
                   tmp_path / "site" / slug / "downloads", slug)
        searches.append((slug, d))
    build_site(searches, tmp_path / "site")
    page = (tmp_path / "site" / "compare.html").read_text(encoding="utf-8")
    block = page.split('<section id="weekdays"', 1)[1].split("</section>", 1)[0]
    assert ">Weekdays<" in block and '<th scope="col">Weekday</th>' in block
    top = next(csv.reader((tmp_path / "data/a/weekdays.csv").read_text().splitlines()[1:]))
    assert top[0] in block
    # the built-in ones are there too, in page order
    assert page.index('<section id="hashtags"') < page.index('<section id="weekdays"')
