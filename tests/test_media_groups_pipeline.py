"""Issue 12, matching end to end: `snakemake` over searches whose posts share variants of
real photographs (a loopback host serves shared/corpus/images through
dnflow.media.variants): one group per photograph, on the page from the site's own copies
at publishing level everything, nothing of the images at ids, removed posts' media gone,
and no remote request when the page is viewed."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import orjson
import pytest

from dnflow.fakeimages import FakeImages

from .test_media_groups import IMAGES, KINDS, PHOTOS, served_variants
from .test_media_pipeline import snakemake, v2_page
from .test_pipeline import write_config

REQUIRE_BROWSER = os.environ.get("DNFLOW_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("media-groups")
    with FakeImages(IMAGES, extra=served_variants()) as srv:
        urls = [f"{srv.url}/v-{stem}-{n}.png" for stem in PHOTOS[:2] for n in range(len(KINDS))]
        page = v2_page(urls)
        for i, t in enumerate(page["data"], start=1):
            t["created_at"] = f"2023-01-{i:02d}T10:00:00.000Z"
        page["includes"]["media"][0]["alt_text"] = "An astronaut <in space>"
        (work / "photos.jsonl").write_bytes(orjson.dumps(page) + b"\n")
        # the post carrying coffee's first variant is removed
        removed = page["data"][len(KINDS)]["id"]
        (work / "removed.txt").write_text(removed + "\n")
        # three astronaut variants in a search of its own: shared across searches
        # and a phone's photo with GPS in its EXIF (the host's /<stem>-gps.jpg)
        other = v2_page(urls[2:5] + [f"{srv.url}/astronaut-gps.jpg"])
        for t in other["data"]:
            t["id"] = str(int(t["id"]) + 1000)
        (work / "other.jsonl").write_bytes(orjson.dumps(other) + b"\n")
        write_config(work, {
            "other": {"source": "archive", "files": "other.jsonl", "publish": "everything",
                      "media": {"download": "full"}},
            "pics": {"source": "archive", "files": "photos.jsonl", "publish": "everything",
                     "media": {"download": "full"}, "deletions": "removed.txt"},
            "pics-ids": {"source": "archive", "files": "photos.jsonl",
                         "media": {"download": "full"}},
        })
        code, out = snakemake(work)
        assert code == 0, out[-3000:]
        fetched = srv.hits()
        # the groups job reads what the downloads left: the next run groups them
        code, out = snakemake(work)
        assert code == 0, out[-3000:]
        assert srv.hits() == fetched  # a rerun downloads nothing
        code, out = snakemake(work)
        assert code == 0 and "Nothing to be done" in out, out[-3000:]
    return work, urls


def groups(work: Path, slug: str) -> list[dict[str, str]]:
    with open(work / "data" / slug / "media" / "media-groups.csv", newline="",
              encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_one_group_per_photograph_and_removed_posts_media_left_out(built):
    work, urls = built
    rows = groups(work, "pics")
    by_url = {r["url"]: r for r in rows}
    # coffee's first variant was only in the removed post
    assert set(by_url) == set(urls) - {urls[len(KINDS)]}
    astronaut = {by_url[u]["group"] for u in urls[:len(KINDS)]}
    coffee = {by_url[u]["group"] for u in urls[len(KINDS) + 1:]}
    assert astronaut == {"1"} and coffee == {"2"}
    assert all(r["status"] == "ok" and len(r["phash"]) == 16 for r in rows)
    # the same photographs, not removed, in the other search
    assert len(groups(work, "pics-ids")) == len(urls)
    assert {r["group"] for r in groups(work, "pics-ids")} == {"1", "2"}


def test_the_page_shows_the_sites_own_copies_at_everything(built):
    work, urls = built
    html = (work / "site" / "pics" / "index.html").read_text()
    assert "img-src 'self' file:;" in html
    section = html.split('id="images"')[1].split("</section>")[0]
    srcs = re.findall(r'<img src="([^"]+)"', section)
    assert srcs and all(re.fullmatch(r"media/[0-9a-f]{64}\.png", s) for s in srcs)
    assert all((work / "site" / "pics" / s).is_file() for s in srcs)
    # every img of the page is the site's own: no platform thumbnail
    assert all(s.startswith("media/") for s in re.findall(r'<img src="([^"]+)"', html))
    assert "Alt text: An astronaut &lt;in space&gt;" in section
    assert f"1 of {len(urls) - 1} images carried a description" in section.replace("\n", " ")
    assert f"{len(KINDS)} variants" in section and f"{len(KINDS) - 1} variants" in section
    published = {p.name for p in (work / "site" / "pics" / "media").iterdir()
                 if not p.name.startswith(".")}
    assert len(published) == len(urls) - 1  # the removed post's image is not published


def test_at_ids_no_image_or_alt_text_is_published(built):
    work, _ = built
    html = (work / "site" / "pics-ids" / "index.html").read_text()
    assert "Images shared most" in html and "<img" not in html
    assert "in space" not in html  # the alt text
    assert [p for p in (work / "site" / "pics-ids" / "media").iterdir()
            if not p.name.startswith(".")] == []
    section = html.split('id="images"')[1].split("</section>")[0]
    assert "first tweet" in section and "x.com/" in section


def test_the_compare_page_shows_images_shared_across_searches(built):
    work, _ = built
    html = (work / "site" / "compare.html").read_text()
    assert "img-src 'self' file:;" in html
    section = html.split('id="images"')[1].split("</section>")[0]
    # the astronaut, in pics and other; pics-ids (at ids) is never compared
    (src,) = re.findall(r'<img src="([^"]+)"', section)
    assert (work / "site" / src).is_file()
    assert 'href="pics/index.html#images"' in section
    assert 'href="other/index.html#images"' in section and "pics-ids" not in section
    assert "variants" in section  # three different files of one picture in other



def test_published_copies_carry_no_exif(built):
    from PIL import Image

    work, _ = built
    jpegs = [p for p in (work / "site" / "other" / "media").iterdir() if p.suffix == ".jpg"]
    assert len(jpegs) == 1  # the GPS photo, grouped with the astronaut
    with Image.open(jpegs[0]) as im:
        assert not im.getexif() and "exif" not in im.info
    rows = groups(work, "other")
    assert {r["group"] for r in rows} == {"1"} and len(rows) == 4


def test_the_page_makes_no_remote_request(built):
    try:
        from playwright.sync_api import sync_playwright

        from dnflow.site.screenshot import CHROMIUM, launch, offline
    except ImportError as e:  # pragma: no cover - depends on the machine
        if REQUIRE_BROWSER:
            raise
        pytest.skip(f"no playwright: {e}")
    if not Path(CHROMIUM).exists():  # pragma: no cover
        if REQUIRE_BROWSER:
            raise RuntimeError(f"DNFLOW_REQUIRE_BROWSER=1 but there is no chromium at {CHROMIUM}")
        pytest.skip("no chromium")
    work, _ = built
    blocked: list[str] = []
    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page()
        offline(page, blocked)
        page.goto((work / "site" / "pics" / "index.html").resolve().as_uri())
        page.evaluate("""async () => {
            for (let y = 0; y < document.body.scrollHeight; y += 600) {
                window.scrollTo(0, y); await new Promise(r => setTimeout(r, 20));
            }}""")
        page.wait_for_timeout(300)
        loaded = page.locator("#images img").evaluate_all(
            "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
        b.close()
    assert blocked == []
    assert loaded and all(loaded)


def test_a_demo_search_groups_its_generated_images_offline(tmp_path):
    work = tmp_path / "w"
    write_config(work, {"demo": {"source": "demo", "posts": 1500, "seed": 3,
                                 "query": "#music", "topic": "music"}})
    for _ in range(3):  # a run groups what the runs before it downloaded
        code, out = snakemake(work)
        assert code == 0, out[-3000:]
        if "Nothing to be done" in out:
            break
    assert "Nothing to be done" in out
    fetched = orjson.loads((work / "data" / "demo" / "media" / "fetch.json").read_bytes())
    assert fetched["ok"] == fetched["items"] > 0 and fetched["requests"] == 0
    record = orjson.loads((work / "data" / "demo" / "media" / "media-groups.json").read_bytes())
    assert record["downloaded"] == fetched["ok"]
    assert any(g["items"] > 1 for g in record["top"])  # variants of one picture, grouped
    # the groups are the generated pictures: two items share a group iff one picture
    from dnflow.media.demo_fetch import image_for
    rows = groups(work, "demo")
    picture = {r["group"]: set() for r in rows}
    for r in rows:
        picture[r["group"]].add(image_for(r["url"]).picture)
    assert all(len(p) == 1 for p in picture.values())
    assert len({next(iter(p)) for p in picture.values()}) == len(picture)
    html = (work / "site" / "demo" / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs and all(s.startswith("media/") for s in srcs)
    assert all((work / "site" / "demo" / s).is_file() for s in srcs)
