"""Issue 12, downloading, end to end: `snakemake` fetches each search's media from a
loopback image server; a failed or crashed download never stops a page or the site, and
the next plain run tries the failures again."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import orjson
import pytest

from dnflow.fakeimages import FakeImages
from dnflow.media.store import read_index

from .conftest import CORPUS
from .test_pipeline import ROOT, SNAKEMAKE, write_config


def v2_page(urls: list[str]) -> dict:
    """A search/recent answer: one tweet per URL, each with a photo at that URL."""
    tweets, media = [], []
    for i, url in enumerate(urls, start=1):
        key = f"3_{i}"
        tweets.append({"id": str(1600000000000000000 + i), "text": f"photo {i}",
                       "author_id": "42", "created_at": f"2023-01-0{i}T10:00:00.000Z",
                       "attachments": {"media_keys": [key]}})
        media.append({"media_key": key, "type": "photo", "url": url})
    if not urls:
        tweets.append({"id": "1600000000000000099", "text": "no photo", "author_id": "42",
                       "created_at": "2023-01-09T10:00:00.000Z"})
    return {"data": tweets,
            "includes": {"users": [{"id": "42", "username": "snapper", "name": "S"}],
                         "media": media},
            "meta": {"result_count": len(tweets)}}


def snakemake(work: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DNFLOW_MEDIA_DOWNLOAD": "",
           "DNFLOW_MEDIA_ATTEMPTS": "1", "DNFLOW_MEDIA_TIMEOUT": "5",
           "DNFLOW_MEDIA_ALLOW_HOSTS": "127.0.0.1"}
    res = subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2",
         "--configfile", str(work / "searches.yaml"), *args],
        capture_output=True, text=True, timeout=300, env=env)
    return res.returncode, res.stdout + res.stderr


@pytest.fixture
def server():
    with FakeImages(CORPUS / "images") as srv:
        yield srv


def statuses(work: Path, slug: str) -> dict[str, str]:
    index, problems = read_index(work / "data" / slug / "media" / "index.csv")
    assert not problems
    return {url.rsplit("/", 1)[1]: e.status for url, e in index.items()}


def test_failed_downloads_leave_the_site_building_and_are_tried_again(tmp_path, server):
    work = tmp_path / "w"
    work.mkdir()
    photos = [server.url + p for p in ("/astronaut.png", "/coffee.png", "/camera.png")]
    (work / "photos.jsonl").write_bytes(orjson.dumps(v2_page(photos)) + b"\n")
    (work / "plain.jsonl").write_bytes(orjson.dumps(v2_page([])) + b"\n")
    (work / "broken.jsonl").write_bytes(orjson.dumps(v2_page(photos[:1])) + b"\n")
    write_config(work, {
        # images are published (site/<slug>/media) at publishing level everything only
        "photos": {"source": "archive", "files": "photos.jsonl", "publish": "everything",
                   "media": {"download": "full"}},
        "quiet": {"source": "archive", "files": "photos.jsonl",
                  "media": {"download": "none"}},
        "plain": {"source": "archive", "files": "plain.jsonl"},
        "broken": {"source": "archive", "files": "broken.jsonl"},
    })
    server.set_path_faults({"/coffee.png": ["1+=500"], "/camera.png": ["1+=404"]})
    # the broken search's index is a folder: its media job cannot write it
    (work / "data" / "broken" / "media" / "index.csv").mkdir(parents=True)

    code, out = snakemake(work)
    assert code == 0, out[-3000:]
    for slug in ("photos", "quiet", "plain", "broken"):
        assert (work / "site" / slug / "index.html").is_file(), slug
    assert (work / "site" / "index.html").is_file()
    assert statuses(work, "photos") == {"astronaut.png": "ok", "coffee.png": "failed",
                                        "camera.png": "gone"}
    (published,) = [p for p in (work / "site" / "photos" / "media").iterdir()
                    if not p.name.startswith(".")]  # not Snakemake's .snakemake_timestamp
    assert published.suffix == ".png"
    # download: none: no media job (the groups job lists what media.csv has, unfetched)
    assert not (work / "data" / "quiet" / "media" / "fetch.json").exists()
    assert {r.split(",")[-1] for r in (work / "data" / "quiet" / "media" / "media-groups.csv")
            .read_text().splitlines()[1:]} == {"not fetched"}
    plain = json.loads((work / "data" / "plain" / "media" / "fetch.json").read_text())
    assert plain["status"] == "ok" and plain["items"] == 0
    broken = json.loads((work / "data" / "broken" / "media" / "fetch.json").read_text())
    assert broken["status"] == "failed" and "index.csv" in broken["error"]
    assert "Traceback" in (work / "logs" / "media" / "broken.log").read_text()
    assert "failed: " in (work / "logs" / "media" / "photos.log").read_text()

    # no page waits for media: a missing media record plans the media job, and no page
    # of its search (pages of searches whose downloads changed since their groups were
    # made are planned again: rules/media.smk, rule media_groups)
    (work / "data" / "plain" / "media" / "fetch.json").unlink()
    code, plan = snakemake(work, "-n")
    assert "rule media:" in plan and "summarize" not in plan
    assert "output: site/plain/index.html" not in plan
    assert "output: data/plain/media/media-groups" not in plan

    # the server recovers and the folder is gone: the next plain run tries again, and
    # asks for nothing it has (ok) or knows is gone
    server.set_path_faults({"/camera.png": ["1+=404"]})
    (work / "data" / "broken" / "media" / "index.csv").rmdir()
    code, out = snakemake(work)
    assert code == 0, out[-3000:]
    assert statuses(work, "photos") == {"astronaut.png": "ok", "coffee.png": "ok",
                                        "camera.png": "gone"}
    assert statuses(work, "broken") == {"astronaut.png": "ok"}
    assert server.state.counts.get("/camera.png", 0) == 0
    # the same photograph in two searches is one stored file
    assert len(list((work / "data" / "media" / "sha256").rglob("*.png"))) == 2
    # the groups job reads the index as it is: a run after the downloads groups them
    code, out = snakemake(work)
    assert code == 0 and "rule media:" not in out, out[-3000:]
    groups = (work / "data" / "photos" / "media" / "media-groups.csv").read_text()
    assert groups.count(",ok\n") == 2 and groups.count(",gone\n") == 1
    page = (work / "site" / "photos" / "index.html").read_text()
    assert "Images shared most" in page and "img-src 'self' file:;" in page
    # and the bag holds them (bagged by the run after the downloads, as the groups) as
    # the page publishes them: at everything, site/<slug>/media's files; at the archive
    # searches' default level (ids) the page publishes no image, nor does the bag
    site_media = {p.name: p.read_bytes() for p in (work / "site" / "photos" / "media")
                  .iterdir() if not p.name.startswith(".")}
    assert len(site_media) == 2
    bagged = bag_media(work, "photos")
    index = bagged.pop("index.csv").decode()
    assert bagged == site_media
    assert [r.split(",")[2] for r in index.splitlines()[1:]] == ["ok", "ok", "gone"]
    assert bag_media(work, "broken") == {}
    code, out = snakemake(work)
    assert code == 0 and "Nothing to be done" in out


def bag_media(work: Path, slug: str) -> dict[str, bytes]:
    with zipfile.ZipFile(work / "data" / slug / "bag" / f"{slug}-bag.zip") as zf:
        return {n.split("/data/media/", 1)[1]: zf.read(n) for n in zf.namelist()
                if "/data/media/" in n}
