"""The source registry (dnflow.sources): every part of the pipeline loops over it.

The proof of issue 10: a toy source defined only in tests/plugins/toy_source.py, loaded through
DNFLOW_PLUGINS, gets its config keys validated, its collection job run and its page built
with its platform's words and URLs, by a real `snakemake` run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dnflow import windows as dnwindows
from dnflow.config import ConfigError, searches_schema, validate
from dnflow.platforms import PLATFORMS
from dnflow.sources import SOURCES, platform_of

from .conftest import ROOT

SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def test_builtin_sources_are_registered_with_their_keys():
    assert {"archive", "demo", "x"} <= set(SOURCES.names())
    schema = searches_schema()["$defs"]["search"]
    assert schema["properties"]["source"]["enum"] == SOURCES.names()
    # `every` belongs to every source with a collection job, and only to them
    assert "every" in SOURCES["x"].config_keys() and "every" not in SOURCES["demo"].config_keys()
    with pytest.raises(KeyError, match="no source named 'ftp'"):
        SOURCES["ftp"]


def test_windows_are_due_for_every_source_that_collects(monkeypatch):
    monkeypatch.setattr(SOURCES["demo"], "collects", True)
    stamps = dnwindows.current_stamps(
        {"d": {"source": "demo", "tweets": 5, "every": "1d"}, "a": {"source": "archive"}},
        dnwindows.parse_time("2026-11-28T06:00:00Z"))
    assert stamps == {"d": "2026-11-28"}


def test_platform_comes_from_the_source_or_the_formats_read():
    assert platform_of({"source": "x"}).name == "x"
    archive = {"source": "archive", "sources": [{"formats": ["v1.1"]}, {"formats": []}]}
    assert platform_of(archive).name == "x"
    assert platform_of({"source": "gone", "sources": []}).name == "x"  # older summaries
    assert PLATFORMS["x"].words["posts"] == "tweets"


# its page is tested for handles and links: published in full (a source's default is ids)
TOY_CONFIG = {"searches": {"toyland": {"title": "Toy town", "source": "toy", "toots": 3,
                                       "every": "1d", "publish": "everything"}}}


def _toy_env() -> dict[str, str]:
    return dict(os.environ, DNFLOW_PLUGINS="tests.plugins.toy_source", PYTHONPATH=str(ROOT),
                DNFLOW_NOW="2026-11-28T06:00:00Z")


def test_a_plugin_source_is_validated_by_its_own_keys(monkeypatch):
    monkeypatch.setenv("DNFLOW_PLUGINS", "tests.plugins.toy_source")
    assert validate(TOY_CONFIG)["toyland"]["toots"] == 3
    with pytest.raises(ConfigError, match="search 'toyland': missing key 'toots'"):
        validate({"searches": {"toyland": {"source": "toy"}}})
    with pytest.raises(ConfigError, match="key 'tweets': not used by source 'toy'"):
        validate({"searches": {"toyland": {"source": "toy", "toots": 1, "tweets": 4}}})


def test_a_toy_source_from_tests_builds_its_page(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "searches.yaml").write_text(yaml.safe_dump(TOY_CONFIG))
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "2"]
    res = subprocess.run(cmd, env=_toy_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-4000:]
    # its collection job ran once for the current window, and its raw file was summarized
    record = json.loads((tmp_path / "data/toyland/runs/2026-11-28.json").read_text())
    assert record["status"] == "ok"
    summary = json.loads((tmp_path / "data/toyland/summary/summary.json").read_text())
    assert (summary["source"], summary["tweets"], summary["retweets"]) == ("toy", 6, 3)
    # read in its own format (the toy's detector and normalizer), counted as any other
    assert [s["formats"] for s in summary["sources"]] == [["toy-lines"]]
    tags = (tmp_path / "data/toyland/summary/hashtags.csv").read_text().splitlines()
    assert tags == ["hashtag,count", "toy,6"]  # 3 toots, and 3 boosts count their originals
    page = (tmp_path / "site/toyland/index.html").read_text()
    assert "Toots" in page and "Boosts" in page and "Most boosted" in page
    assert 'href="https://toy.example/tags/toy"' in page
    assert 'href="https://toy.example/@ana"' in page
    assert "https://toy.example/@ana/101" in page
    # the words shown (file names such as retweets.csv are the outputs' own names)
    shown = re.sub(r"<[^>]*>|\b[\w-]+\.(csv|txt)\b", " ", page)
    assert "one row per toot" in shown
    assert "x.com" not in page and "tweet" not in shown.lower()
    assert "New toots" in page and "The language Toyland detected" in page
    index = (tmp_path / "site/index.html").read_text()
    assert "6 toots in all" in index
    # a second run finds the window collected: nothing to do
    again = subprocess.run(cmd, env=_toy_env(), capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "Nothing to be done" in again.stderr, again.stderr[-2000:]
