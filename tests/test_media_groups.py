"""Issue 12, matching a search's downloads: the groups job over what the media job fetched
from a loopback host serving the real photographs (shared/corpus/images) and the variants
social media makes of them (dnflow.media.variants)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import orjson
import pytest
from PIL import Image

from dnflow.fakeimages import FakeImages
from dnflow.media import grouping, job, variants
from dnflow.media.fetch import Fetcher
from dnflow.media.settings import MediaSettings

from .conftest import CORPUS
from .test_media_fetch import FAST

IMAGES = CORPUS / "images"
# variants the chosen threshold groups (bench/results.md: group recall 0.92 over every
# variant; heavy combinations such as "watermark + cropped 5% + jpeg q20" can fall out)
KINDS = ("original", "half size", "jpeg q30", "cropped 3% each side", "caption bar above",
         "grey", "thumbnail 320 + jpeg q40", "white frame")
PHOTOS = ("astronaut", "coffee", "chelsea")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    variants.rgb(img).save(buf, "PNG")
    return buf.getvalue()


def served_variants() -> dict[str, bytes]:
    """/v/<photo>/<n>.png: variant n (KINDS) of each photograph."""
    out = {}
    for stem in PHOTOS:
        with Image.open(IMAGES / f"{stem}.png") as im:
            img = variants.rgb(im).copy()
        for n, kind in enumerate(KINDS):
            out[f"v-{stem}-{n}.png"] = _png(variants.SAME[kind](img))
    return out


@pytest.fixture(scope="module")
def server():
    with FakeImages(extra=served_variants()) as srv:
        yield srv


def write_summary(d: Path, rows: list[tuple[str, str, int, str]],
                  posts: list[tuple[str, str, str, str]]) -> None:
    """media.csv rows (key, url, posts, alt text) and tweets.csv rows (id, created_at,
    type, media_keys)."""
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "media.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["media_key", "type", "url", "count", "preview_url", "alt_text"])
        for key, url, n, alt in rows:
            w.writerow([key, "photo", url, n, "", alt])
    with open(d / "tweets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "created_at", "username", "type", "media_keys"])
        for pid, at, kind, keys in posts:
            w.writerow([pid, at, "snapper", kind, keys])


def fetch_and_group(work: Path, slug: str, server, rows, posts):
    summary = work / "data" / slug / "summary"
    write_summary(summary, rows, posts)
    return group_summary(work, slug)


def group_summary(work: Path, slug: str):
    """The media job and the groups job over data/<slug>/summary as it is."""
    summary = work / "data" / slug / "summary"
    settings = MediaSettings("full", 2000, 5_000_000)
    fetcher = Fetcher(5_000_000, timeout=(5, 5), backoff=FAST, allow_hosts={"127.0.0.1"})
    fetched = job.fetch_search(slug, summary / "media.csv", settings, workdir=work,
                               log=io.StringIO(), fetcher=fetcher)
    media = work / "data" / slug / "media"
    record = grouping.run_groups(slug, str(summary), settings, str(media / "media-groups.csv"),
                                 str(media / "media-groups.json"),
                                 str(work / "groups.log"), workdir=work)
    with open(media / "media-groups.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    return fetched, record, table


def test_variants_of_one_photograph_are_one_group_and_photographs_never_share(
        tmp_path, server):
    rows, posts = [], []
    for p, stem in enumerate(PHOTOS):
        for n in range(len(KINDS)):
            key = f"3_{p}{n}"
            # astronaut most shared, then coffee, then chelsea
            rows.append((key, f"{server.url}/v-{stem}-{n}.png", 30 - 10 * p - n,
                         "an astronaut" if (stem, n) == ("astronaut", 2) else ""))
            posts.append((f"{p}{n}", f"2023-01-0{n + 1}T0{p}:00:00.000Z", "tweet", key))
    rows.append(("3_gone", f"{server.url}/nothing-here.png", 1, ""))
    server.set_path_faults({"/nothing-here.png": ["1+=404"]})
    fetched, record, table = fetch_and_group(tmp_path, "s", server, rows, posts)
    assert fetched["ok"] == len(PHOTOS) * len(KINDS) and fetched["gone"] == 1
    assert list(table[0]) == list(grouping.HEADER)

    by_photo: dict[str, set[str]] = {}
    for r in table:
        if r["media_key"] != "3_gone":
            stem = r["url"].split("/v-")[1].split("-")[0]
            by_photo.setdefault(stem, set()).add(r["group"])
            assert len(r["phash"]) == 16 and len(r["sha256"]) == 64 and r["status"] == "ok"
    # each photograph: one group with all its variants; groups numbered by posts
    assert by_photo == {"astronaut": {"1"}, "coffee": {"2"}, "chelsea": {"3"}}
    gone = next(r for r in table if r["media_key"] == "3_gone")
    assert gone["group"] == gone["sha256"] == gone["phash"] == "" and gone["status"] == "gone"

    assert record["status"] == "ok" and record["groups"] == 3
    assert record["hashed"] == len(PHOTOS) * len(KINDS)
    assert record["gone"] == 1 and record["first_gone"] and record["with_alt"] == 1
    top = record["top"][0]
    assert top["group"] == 1 and top["items"] == len(KINDS)
    assert top["posts"] == sum(30 - n for n in range(len(KINDS)))
    assert len(top["variants"]) == len(KINDS) - 1 and top["alt_text"] == "an astronaut"
    # the first post that carried it: the earliest, whichever variant
    assert top["first_post"]["id"] == "00" and top["first_post"]["media_key"] == "3_00"
    assert (tmp_path / "site" / "s" / "media" / top["file"]).is_file()

    # a rerun downloads nothing and hashes nothing
    server.reset_stats()
    fetched2, record2, table2 = fetch_and_group(tmp_path, "s", server, rows, posts)
    assert server.hits() == 0 and fetched2["fetched"] == 0
    assert record2["hashed"] == 0 and table2 == table
    # another search with the same images hashes nothing either (cached per sha256)
    _, record3, _ = fetch_and_group(tmp_path, "t", server, rows[:3], posts[:3])
    assert record3["hashed"] == 0 and record3["groups"] == 1


def test_a_post_with_two_images_of_one_group_is_one_post_of_it(tmp_path, server):
    """A real summary: one post carries two variants of the astronaut and is reposted
    twice (3 posts, though media.csv counts each variant 3 times); four posts carry
    the coffee. The coffee group comes first, and each group says its own posts."""
    from dnflow.summary import summarize

    def tweet(tid, keys=(), of=None):
        t = {"id": tid, "author_id": "7", "text": "look", "created_at":
             f"2023-01-01T00:00:{tid[-2:]}.000Z", "lang": "en",
             "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                                "quote_count": 0}}
        if keys:
            t["attachments"] = {"media_keys": list(keys)}
        if of:
            t["referenced_tweets"] = [{"type": "retweeted", "id": of}]
        return t

    both = tweet("1600000000000000010", ("3_a0", "3_a1"))
    data = [both, tweet("1600000000000000011", of=both["id"]),
            tweet("1600000000000000012", of=both["id"]),
            *(tweet(f"16000000000000000{20 + n}", ("3_c0",)) for n in range(4))]
    media = [{"media_key": k, "type": "photo", "url": f"{server.url}/v-{stem}-{n}.png"}
             for k, stem, n in (("3_a0", "astronaut", 0), ("3_a1", "astronaut", 1),
                                ("3_c0", "coffee", 0))]
    page = {"data": data, "includes": {"users": [{"id": "7", "username": "snapper"}],
                                       "tweets": [both], "media": media}}
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(orjson.dumps(page) + b"\n")
    summary = tmp_path / "data" / "s" / "summary"
    summarize([archive], summary, {"slug": "s"})
    counted = {r["media_key"]: int(r["count"]) for r in
               csv.DictReader(io.StringIO((summary / "media.csv").read_text()))}
    assert counted == {"3_a0": 3, "3_a1": 3, "3_c0": 4}
    sets = list(csv.DictReader(io.StringIO((summary / "media-sets.csv").read_text())))
    assert sets == [{"media_keys": "3_a0 3_a1", "count": "3"}]

    _, record, table = group_summary(tmp_path, "s")
    assert [(g["group"], g["posts"], g["items"]) for g in record["top"]] == [(1, 4, 1),
                                                                             (2, 3, 2)]
    assert {r["media_key"]: r["group"] for r in table} == {"3_c0": "1", "3_a0": "2",
                                                           "3_a1": "2"}


def test_nothing_downloaded_still_lists_every_item(tmp_path):
    summary = tmp_path / "data" / "q" / "summary"
    write_summary(summary, [("3_1", "https://example.org/a.jpg", 2, "a cat"),
                            ("3_2", "https://example.org/b.jpg", 1, ""),
                            ("3_3", "", 1, "")], [])
    media = tmp_path / "data" / "q" / "media"
    record = grouping.run_groups("q", str(summary), MediaSettings("none", 2000, 5),
                                 str(media / "media-groups.csv"),
                                 str(media / "media-groups.json"),
                                 str(tmp_path / "g.log"), workdir=tmp_path)
    with open(media / "media-groups.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [(r["media_key"], r["group"], r["status"]) for r in table] == [
        ("3_1", "", "not fetched"), ("3_2", "", "not fetched"), ("3_3", "", "no url")]
    assert record["groups"] == 0 and record["with_alt"] == 1 and record["items"] == 3
    assert json.loads((media / "media-groups.json").read_text())["top"] == []


def test_the_job_never_fails(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(grouping, "group_search", broken)
    media = tmp_path / "m"
    record = grouping.run_groups("q", str(tmp_path), MediaSettings(), str(media / "g.csv"),
                                 str(media / "g.json"), str(tmp_path / "g.log"),
                                 workdir=tmp_path)
    assert record["status"] == "failed" and "boom" in record["error"]
    assert (media / "g.csv").read_text() == ",".join(grouping.HEADER) + "\n"
    assert "Traceback" in (tmp_path / "g.log").read_text()


def _page_groups(tmp_path: Path, level: str, public: set[str] | None = None):
    from dnflow.platforms import PLATFORMS
    from dnflow.publish import Publisher
    from dnflow.site import image_groups

    good = "ab" * 32 + ".png"
    site = tmp_path / "site" / "s" / "media"
    site.mkdir(parents=True, exist_ok=True)
    (site / good).write_bytes(b"x")
    record = {"status": "ok", "items": 5, "downloaded": 3, "gone": 2,
              "first_gone": "2026-11-30T08:00:00Z", "with_alt": 1, "groups": 2,
              "top": [{"group": 1, "posts": 4, "items": 2, "file": good,
                       "variants": ["../../../etc/passwd", "cd" * 32 + ".png"],
                       "first_post": {"id": "1600000000000000001", "username": "small",
                                      "created_at": "2023-01-01T10:00:00Z"},
                       "alt_text": "a <b>cat</b>"},
                      {"group": 2, "posts": 1, "items": 1, "file": "../x.png",
                       "variants": [], "first_post": None, "alt_text": ""}]}
    d = tmp_path / "data" / "s" / "media"
    d.mkdir(parents=True, exist_ok=True)
    (d / "media-groups.json").write_text(json.dumps(record))
    pub = Publisher("s", level, public=public or set())
    return image_groups.load(tmp_path / "data" / "s" / "summary", PLATFORMS["x"], pub, site)


def test_the_page_section_follows_the_publishing_level(tmp_path):
    every = _page_groups(tmp_path, "everything")
    assert every["grid"] and every["gone"] == 2 and every["with_alt"] == 1
    g1, g2 = every["groups"]
    assert g1["src"] == "media/" + "ab" * 32 + ".png"
    # only names the media job makes, and only files the site holds
    assert g1["variants"] == [] and g2["src"] is None
    assert g1["alt"] == "a <b>cat</b>"  # escaped by the template
    assert g1["first"]["href"] == "https://x.com/small/status/1600000000000000001"
    ids = _page_groups(tmp_path, "ids")
    assert not ids["grid"] and all(g["src"] is None and g["alt"] == "" and
                                   g["variants"] == [] for g in ids["groups"])
    # a small account's handle is not spelled out at ids
    assert ids["groups"][0]["first"]["href"] == "https://x.com/i/web/status/1600000000000000001"
    counts = _page_groups(tmp_path, "counts")
    assert all(g["first"] is None and g["src"] is None for g in counts["groups"])
    assert counts["gone"] == 2 and counts["with_alt"] == 1
