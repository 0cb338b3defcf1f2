"""End to end: snakemake in a temporary directory over corpus files."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, V2, damaged_gzip

SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
         "--configfile", str(workdir / "searches.yaml"), *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake failed ({res.returncode}):\n{res.stderr[-4000:]}")
    return res


def write_config(workdir: Path, searches: dict, **top: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "searches.yaml").write_text(json.dumps({**top, "searches": searches}))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    (work / "archives").mkdir()
    # a relative glob, resolved against the working directory
    for name in ("media_policy_violation_on.jsonl", "media_policy_violation_off.jsonl"):
        shutil.copy(V2 / name, work / "archives" / name)
    write_config(work, {
        "sets": {"title": "Brexit & K-pop <two sets>", "source": "archive",
                 "description": "Two recorded pages", "files": str(V2 / "2sets.jsonl")},
        "mpv": {"source": "archive", "files": "archives/media_policy_violation_*.jsonl"},
        "empty": {"source": "archive", "files": [str(V2 / "empty.json")]},
        "users": {"source": "archive", "files": [str(V2 / "users.jsonl")]},
        "demo": {"source": "demo", "tweets": 300, "seed": 5, "topic": "news"},
    }, archive={"organization": "Test Archive", "email": "a@example.org"})
    first = snakemake(work)
    return work, first


def page_text(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_page_exists_and_shows_its_numbers(built):
    work, _ = built
    index = page_text(work / "site" / "index.html")
    for slug in ("sets", "mpv", "empty", "users", "demo"):
        summary = json.loads((work / "data" / slug / "summary" / "summary.json").read_text())
        page = page_text(work / "site" / slug / "index.html")
        assert f"{summary['tweets']:,}" in page, slug
        assert f"{summary['tweets']:,}" in index, slug
        assert (work / "site" / slug / "index.html").stat().st_size < 2_000_000
    assert json.loads((work / "data/mpv/summary/summary.json").read_text())["tweets"] == 101
    assert json.loads((work / "data/sets/summary/summary.json").read_text())["tweets"] == 200
    assert json.loads((work / "data/demo/summary/summary.json").read_text())["tweets"] == 300
    assert (work / "site" / "compare.html").exists() and (work / "site" / "feed.xml").exists()


def test_every_search_has_a_valid_bag_and_its_parquet_on_its_page(built, tmp_path):
    import zipfile

    import bagit

    work, _ = built
    for slug in ("sets", "mpv", "empty", "users", "demo"):
        downloads = work / "site" / slug / "downloads"
        bag_zip = downloads / f"{slug}-bag.zip"
        assert bag_zip.read_bytes() == (work / "data" / slug / "bag" / bag_zip.name).read_bytes()
        with zipfile.ZipFile(bag_zip) as zf:
            zf.extractall(tmp_path / slug)
        bag = bagit.Bag(str(tmp_path / slug / f"{slug}-bag"))
        bag.validate()
        assert bag.info["Source-Organization"] == "Test Archive", slug
        payload = set(bag.payload_entries())
        page = (work / "site" / slug / "index.html").read_text(encoding="utf-8")
        assert f'href="downloads/{slug}-bag.zip"' in page
        # the bag holds what the page publishes: at ids (archive searches' default) the
        # published copies of the networks' edge lists, no posts.parquet, GEXF or raw file
        assert payload >= {"data/edges-mentions.csv", "data/edges-hashtags.csv",
                           "data/summary.json"}, slug
        everything = slug == "demo"  # its source's default level
        for name in ("posts.parquet", "network.gexf"):
            assert (f"data/{name}" in payload) == everything, (slug, name)
            assert (downloads / name).is_file() == everything, (slug, name)
            assert (f'href="downloads/{name}"' in page) == everything, (slug, name)
        assert any(n.startswith("data/raw/") for n in payload) == everything, slug


def test_title_is_escaped(built):
    work, _ = built
    html = (work / "site" / "sets" / "index.html").read_text()
    assert "Brexit &amp; K-pop &lt;two sets&gt;" in html
    assert "<two sets>" not in html


def test_empty_search_says_so(built):
    work, _ = built
    assert "no tweets" in page_text(work / "site" / "empty" / "index.html").lower()


def test_not_tweets_file_is_reported_on_its_page(built):
    work, _ = built
    s = json.loads((work / "data/users/summary/summary.json").read_text())
    assert s["tweets"] == 0 and s["skipped"] == 1
    assert "users answer" in (work / "site" / "users" / "index.html").read_text()
    assert "users answer" in (work / "logs" / "summarize" / "users.log").read_text()


def test_second_run_does_no_work(built):
    work, _ = built
    before = {p: p.stat().st_mtime_ns for p in (work / "site").rglob("*") if p.is_file()}
    res = snakemake(work)
    assert "Nothing to be done" in res.stdout + res.stderr
    after = {p: p.stat().st_mtime_ns for p in (work / "site").rglob("*") if p.is_file()}
    assert before == after


def test_a_grown_archive_recounts_only_its_search(built):
    work, _ = built
    sets_page = work / "site" / "sets" / "index.html"
    before = sets_page.stat().st_mtime_ns
    with open(work / "archives" / "media_policy_violation_on.jsonl", "ab") as f:
        f.write((V2 / "brexit.jsonl").read_bytes())
    res = snakemake(work, "-n")
    planned = res.stdout + res.stderr
    assert "slug=mpv" in planned and "slug=sets" not in planned
    summary = work / "data" / "sets" / "summary" / "summary.json"
    sets_summary = summary.stat().st_mtime_ns
    snakemake(work)
    assert summary.stat().st_mtime_ns == sets_summary
    s = json.loads((work / "data/mpv/summary/summary.json").read_text())
    assert s["tweets"] == 201
    assert f"{201:,}" in page_text(work / "site" / "mpv" / "index.html")
    assert sets_page.stat().st_mtime_ns == before


def test_a_failed_search_fails_alone_and_the_run_names_its_log(tmp_path):
    """A damaged archive is counted up to its damage (a skipped row); a search that cannot
    be counted at all (a stray file where its state folder goes) fails alone, and the
    run's last lines name its log."""
    damaged_gzip(V2 / "kpop.jsonl", tmp_path / "kpop.jsonl.gz")
    write_config(tmp_path, {
        "damaged": {"source": "archive", "files": "kpop.jsonl.gz"},
        "broken": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
        "sets": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
    })
    (tmp_path / "data" / "broken").mkdir(parents=True)
    (tmp_path / "data" / "broken" / "state").write_text("stray")
    res = snakemake(tmp_path)  # the run succeeds: one search failing is not the run failing
    out = res.stdout + res.stderr
    lines = re.findall(r"^dnflow: search '(\w+)' failed: (.+) \(the trace is in (\S+)\)$",
                       out, re.M)
    assert [(slug, log) for slug, _, log in lines] == [("broken", "logs/summarize/broken.log")]
    trace = (tmp_path / lines[0][2]).read_text()
    assert "Traceback" in trace and lines[0][1].split(":")[0] in trace
    sets = json.loads((tmp_path / "data/sets/summary/summary.json").read_text())
    assert sets["tweets"] == 200 and sets.get("status") != "failed"
    damaged = json.loads((tmp_path / "data/damaged/summary/summary.json").read_text())
    assert damaged["status"] == "ok" and damaged["skipped"] >= 1  # its one line is damaged
    assert any("damaged" in s["reason"] for s in damaged["skipped_sample"])
    assert "This search failed" in page_text(tmp_path / "site" / "broken" / "index.html")


@pytest.mark.parametrize("searches,message", [
    ({"Bad": {"source": "demo", "tweets": 5}}, "bad slug 'Bad'"),
    ({"a": {"source": "archive", "files": "nothing-here/*.jsonl"}},
     "search 'a', key 'files': no file matches 'nothing-here/*.jsonl'"),
    ({"a": {"source": "archive", "fils": "x"}}, "search 'a': unknown key 'fils'"),
])
def test_config_mistake_stops_before_any_work(tmp_path, searches, message):
    write_config(tmp_path, searches)
    res = snakemake(tmp_path, check=False)
    assert res.returncode != 0
    assert message in res.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "site").exists()


def test_snakemake_lint_is_clean():
    res = subprocess.run([str(SNAKEMAKE), "--lint"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Congratulations, your workflow is in a good condition!" in out, out


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    res = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
