"""Each search's BagIt bag (dnflow.bag): validated by bagit's own validate, BagIt 1.0 with
sha256 and sha512 manifests, what the page publishes and nothing else, bag-info.txt from
the summary and searches.yaml's archive: block, the same bytes from the same data."""

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import bagit
import pytest

from dnflow import config, deletions, hashstate, networks
from dnflow.bag import bag_info, make_search_bag, published_files, write_bag
from dnflow.outputs import downloads, path
from dnflow.parquet import write_search
from dnflow.summary import summarize

from .golden.cases import CORPUS

TWOSETS = CORPUS / "twarc-csv" / "test-data" / "2sets.jsonl"
ARCHIVE = {"organization": "Documenting the Now", "email": "archive@example.org"}
EVERYTHING = {"level": "everything", "followers": 5000}


@pytest.fixture(scope="module")
def search(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bag") / "summary"
    summarize([TWOSETS], out, {"slug": "t", "title": "Two sets", "query": "#a OR <b>",
                               "description": "a test", "source": "archive"})
    write_search(out)
    networks.write_search(out, out.parent / "networks")
    return out


def _unzipped(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        tops = {n.split("/", 1)[0] for n in zf.namelist()}
        zf.extractall(into)
    assert tops == {zip_path.name.removesuffix(".zip")}  # one folder, named like the zip
    return into / tops.pop()


def _info(folder: Path) -> list[tuple[str, str]]:
    lines = (folder / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(": ", 1)) for line in lines]


def test_bag_validates_and_holds_what_is_published(search, tmp_path):
    zip_path = tmp_path / "t-bag.zip"
    make_search_bag(search, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING)
    folder = _unzipped(zip_path, tmp_path / "x")
    bag = bagit.Bag(str(folder))
    bag.validate()  # raises BagValidationError on any wrong digest, size or missing file
    assert bag.version_info == (1, 0)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert (folder / "tagmanifest-sha256.txt").is_file()
    assert (folder / "tagmanifest-sha512.txt").is_file()
    payload = {p.relative_to(folder / "data").as_posix()
               for p in (folder / "data").rglob("*") if p.is_file()}
    want = {o.name for o in downloads() if path(search, o).is_file()}
    assert {"edges-mentions.csv", "network.gexf", "posts.parquet", "tweets.csv"} <= want
    assert payload == want | {"raw/2sets.jsonl"}
    assert (folder / "data" / "raw" / "2sets.jsonl").read_bytes() == TWOSETS.read_bytes()
    assert (folder / "data" / "tweets.csv").read_bytes() == (search / "tweets.csv").read_bytes()


def test_bag_info_says_who_what_and_when_from_the_data(search, tmp_path):
    make_search_bag(search, tmp_path / "t-bag.zip", ARCHIVE, base=Path("/"))
    info = _info(_unzipped(tmp_path / "t-bag.zip", tmp_path / "x"))
    tags = dict(info)
    assert tags["Source-Organization"] == "Documenting the Now"
    assert tags["Contact-Email"] == "archive@example.org"
    assert tags["External-Description"] == "Two sets. Query: #a OR <b>. a test"
    # the newest post's day (2sets.jsonl's tweets are of September 2021), not the clock
    assert tags["Bagging-Date"] == "2021-09-22"
    assert tags["Platform"] == "x" and tags["Posts"] == "200"
    assert tags["Bag-Software-Agent"].startswith("dnflow ")
    counts = [v for k, v in info if k == "Count"]
    assert "hashtags=234" in counts and len(counts) > 5


def test_the_same_data_gives_the_same_bag(search, tmp_path):
    a, b = tmp_path / "a" / "t-bag.zip", tmp_path / "b" / "t-bag.zip"
    make_search_bag(search, a, ARCHIVE, base=Path("/"))
    make_search_bag(search, b, ARCHIVE, base=Path("/"))
    assert a.read_bytes() == b.read_bytes()
    assert not list(a.parent.glob(".bag-*"))  # its working folder is gone


def test_run_records_and_no_archive_block(search, tmp_path):
    summary = {"slug": "t", "tweets": 1, "counts": {}, "last": "2026-01-02T00:00:00Z",
               "runs": [{"finished": "2026-01-02T03:00:00+00:00", "status": "ok"},
                        {"finished": "2026-01-03T03:00:00+00:00", "status": "ok"}]}
    info = bag_info(summary, None)
    assert "Source-Organization" not in info and "Contact-Email" not in info
    assert info["Retrieval-Time"] == ["2026-01-02T03:00:00+00:00",
                                      "2026-01-03T03:00:00+00:00"]
    write_bag(tmp_path / "r-bag.zip", [("summary.json", search / "summary.json")], info,
              summary["runs"])
    folder = _unzipped(tmp_path / "r-bag.zip", tmp_path / "x")
    bagit.Bag(str(folder)).validate()
    assert sorted(p.name for p in (folder / "data").iterdir()) == ["runs.json",
                                                                   "summary.json"]
    assert [v for k, v in _info(folder) if k == "Retrieval-Time"] == info["Retrieval-Time"]


def test_a_search_without_posts_names_no_platform(search, tmp_path):
    """Its files hold no row with a platform (as posts.parquet and the networks say): no
    Platform tag, rather than the legacy default's."""
    empty = {"slug": "e", "tweets": 0, "counts": {}, "source": "archive", "sources": []}
    info = bag_info(empty, None)
    assert "Platform" not in info and info["Posts"] == "0"
    write_bag(tmp_path / "e-bag.zip", [("summary.json", search / "summary.json")], info)
    bagit.Bag(str(_unzipped(tmp_path / "e-bag.zip", tmp_path / "x"))).validate()


def test_contents_are_a_function_of_the_file_list(search, tmp_path):
    """A publishing level that offers less gives a bag of less: the list decides."""
    files = published_files(search, {"slug": "t", "source": "archive"}, Path("/"))
    counts_only = [(n, p) for n, p in files if n.endswith(".csv") and n != "tweets.csv"]
    write_bag(tmp_path / "c-bag.zip", counts_only, {"Bagging-Date": "2021-09-22"})
    folder = _unzipped(tmp_path / "c-bag.zip", tmp_path / "x")
    bagit.Bag(str(folder)).validate()
    assert sorted(p.name for p in (folder / "data").iterdir()) == sorted(n for n, _ in
                                                                        counts_only)


def test_a_changed_file_fails_validation(search, tmp_path):
    make_search_bag(search, tmp_path / "t-bag.zip", ARCHIVE, base=Path("/"),
                    publish=EVERYTHING)
    folder = _unzipped(tmp_path / "t-bag.zip", tmp_path / "x")
    with open(folder / "data" / "edges-mentions.csv", "a", encoding="utf-8") as f:
        f.write("x,y,1,,\n")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(folder)).validate()


@pytest.mark.parametrize(("block", "message"), [
    ({"email": "nobody"}, "key 'archive/email': 'nobody' is not an email address"),
    ({"organisation": "x"}, "key 'archive': unknown key 'organisation'"),
])
def test_archive_block_is_checked(block, message):
    with pytest.raises(config.ConfigError) as e:
        config.validate({"searches": {}, "archive": block})
    assert str(e.value) == message


def test_raw_files_only_where_the_page_publishes_them(search, tmp_path):
    """A Mastodon search's raw answers show accounts that opted out: neither the page
    nor the bag publishes them, unless the search includes opted-out accounts."""
    read = [{"path": str(TWOSETS), "formats": ["x-v2"]}]
    x = published_files(search, {"source": "archive", "sources": read}, Path("/"))
    assert ("raw/2sets.jsonl", TWOSETS) in x
    masto = {"source": "mastodon", "sources": read}
    assert not [n for n, _ in published_files(search, masto, Path("/")) if n.startswith("raw/")]
    opted = published_files(search, {**masto, "include_opted_out": True}, Path("/"))
    assert ("raw/2sets.jsonl", TWOSETS) in opted


def test_raw_files_follow_the_pages_rules_removed_posts_and_mixed_archives(search,
                                                                           tmp_path):
    """A search some of whose posts were removed bags filtered copies of its raw files
    (dnflow.deletions, written in the bag's own folder); in an archive search, a file
    read as Mastodon is withheld unless the search includes opted-out accounts."""
    read = [{"path": str(TWOSETS), "formats": ["x-v2"]}]
    first = json.loads(TWOSETS.read_text().splitlines()[0])["data"][0]["id"]
    (search.parent / deletions.REMOVED_IDS).write_text(first + "\n")
    try:
        removed = published_files(search, {"source": "archive", "sources": read,
                                           "removed": 1}, Path("/"),
                                  copies=tmp_path / "copies")
    finally:
        (search.parent / deletions.REMOVED_IDS).unlink()
    raw = [p for n, p in removed if n.startswith("raw/")]
    assert raw == [tmp_path / "copies" / "raw" / "2sets.jsonl"]
    assert f'"{first}"' in TWOSETS.read_text() and f'"id": "{first}"' not in \
        raw[0].read_text() and f'"id":"{first}"' not in raw[0].read_text()
    masto = CORPUS / "mastodon" / "decoded" / "get_timeline_hashtag_anonymous.0.json"
    assert masto.is_file()
    mixed = read + [{"path": str(masto), "formats": ["mastodon-page"]}]
    raw = [p for n, p in published_files(search, {"source": "archive", "sources": mixed},
                                         Path("/")) if n.startswith("raw/")]
    assert masto not in raw
    everything = published_files(search, {"source": "archive", "sources": mixed,
                                          "include_opted_out": True}, Path("/"))
    assert [p for n, p in everything if n.startswith("raw/")] == [TWOSETS, masto]


def test_below_everything_the_bag_holds_the_published_copies(search, tmp_path):
    """At ids: no raw files, no tweets.csv or GEXF, small accounts of the edge lists
    as pseudonyms (as the page's downloads); at counts no account networks at all."""
    from dnflow.publish import PSEUDONYM_PREFIX

    make_search_bag(search, tmp_path / "t-bag.zip", ARCHIVE, base=Path("/"),
                    publish={"level": "ids", "followers": 5000})
    folder = _unzipped(tmp_path / "t-bag.zip", tmp_path / "ids")
    bagit.Bag(str(folder)).validate()
    names = {p.relative_to(folder / "data").as_posix()
             for p in (folder / "data").rglob("*") if p.is_file()}
    assert "edges-retweets.csv" in names and "edges-hashtags.csv" in names
    assert not {n for n in names if n.startswith("raw/")}
    assert not names & {"tweets.csv", "network.gexf", "posts.parquet"}
    rows = (folder / "data" / "edges-retweets.csv").read_text().splitlines()[1:]
    assert rows and all(r.startswith(PSEUDONYM_PREFIX) for r in rows)
    make_search_bag(search, tmp_path / "c-bag.zip", ARCHIVE, base=Path("/"),
                    publish={"level": "counts", "followers": 5000})
    folder = _unzipped(tmp_path / "c-bag.zip", tmp_path / "counts")
    names = {p.name for p in (folder / "data").iterdir()}
    assert "edges-hashtags.csv" in names
    assert not names & {"edges-mentions.csv", "edges-retweets.csv", "users.csv"}


# ------------------------------------------------------------------ remade after an update


def _chunks(folder: Path, n: int, posts: int) -> list[Path]:
    from dnflow.generate import write_archive

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"chunk-{i:02d}.jsonl"
        if not p.exists():
            write_archive(p, posts, 40 + i, start=f"2026-11-{1 + 2 * i:02d}T00:00:00Z",
                          days=1.5)
        out.append(p)
    return out


def _products(files: list[Path], slug_dir: Path) -> Path:
    summary = slug_dir / "summary"
    summarize(files, summary, {"slug": "g", "title": "G", "source": "archive"},
              state_dir=slug_dir / "state")
    write_search(summary)
    networks.write_search(summary, slug_dir / "networks")
    return summary


def test_an_update_reuses_the_last_bag_and_gives_the_same_bytes(tmp_path, monkeypatch):
    """After a new raw chunk, the bag is remade from its state: the unchanged raw chunks
    are neither read nor compressed again, tweets.csv (appended to) is compressed only
    from its last segment on, and the bag is byte for byte the one made whole from the
    same data, and valid."""
    from dnflow import bagzip, hashstate

    monkeypatch.setattr(bagzip, "SEGMENT", 32 << 10)  # tweets.csv: several segments
    monkeypatch.setattr(bagzip, "PIECE", 8 << 10)
    raw = _chunks(tmp_path / "raw", 4, 150)
    slug_dir = tmp_path / "data" / "g"
    summary = _products(raw[:3], slug_dir)
    state, zip_path = slug_dir / "bag-state", slug_dir / "bag" / "g-bag.zip"
    first = make_search_bag(summary, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                            state_dir=state)
    assert first.reused == 0 and first.compressed > 0
    old_csv = (summary / "tweets.csv").stat().st_size
    zip_path.unlink()  # as Snakemake does before the job
    again = make_search_bag(summary, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                            state_dir=state)
    assert again.compressed == 0  # nothing changed: nothing compressed again
    summary = _products(raw, slug_dir)  # a new chunk: tweets.csv grows, the rest rewritten
    assert (summary / "tweets.csv").stat().st_size > old_csv > 3 * bagzip.SEGMENT
    zip_path.unlink()
    update = make_search_bag(summary, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                             state_dir=state)
    old_raw = sum(p.stat().st_size for p in raw[:3])
    assert update.reused >= old_raw  # the old chunks: copied from the last bag, unread
    members = update.members
    csv_member = members["g-bag/data/tweets.csv"]
    assert csv_member.size > old_csv
    # of tweets.csv, only what follows its last whole segment before the update
    assert update.compressed < update.read - (old_csv // bagzip.SEGMENT) * bagzip.SEGMENT
    # nor run through SHA-512 and CRC-32 (their states at that segment's end were kept)
    front = (old_csv // bagzip.SEGMENT) * bagzip.SEGMENT if hashstate.tag() else 0
    assert update.hashed <= update.read - front  # (and of a file rewritten the same)
    whole = make_search_bag(summary, tmp_path / "whole" / "g-bag.zip", ARCHIVE,
                            base=Path("/"), publish=EVERYTHING)
    assert whole.compressed > update.compressed
    assert zip_path.read_bytes() == (tmp_path / "whole" / "g-bag.zip").read_bytes()
    folder = _unzipped(zip_path, tmp_path / "x")
    bagit.Bag(str(folder)).validate()
    assert (folder / "data" / "raw" / "chunk-03.jsonl").read_bytes() == raw[3].read_bytes()
    assert (folder / "data" / "tweets.csv").read_bytes() == (summary / "tweets.csv"
                                                             ).read_bytes()
    # the output is the state's bag (a hard link): nothing big is written twice
    assert zip_path.stat().st_ino == (state / "last.zip").stat().st_ino


@pytest.mark.parametrize("damage", ["record", "zip", "version"])
def test_a_damaged_or_stale_state_makes_the_bag_whole(search, tmp_path, damage):
    state, zip_path = tmp_path / "state", tmp_path / "t-bag.zip"
    make_search_bag(search, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                    state_dir=state)
    want = zip_path.read_bytes()
    if damage == "record":
        (state / "members.json").write_bytes(b"{not json")
    elif damage == "zip":  # the last bag is not the one recorded: its bytes are not used
        data = bytearray((state / "last.zip").read_bytes())
        data[100:200] = bytes(100)
        (state / "last.zip").unlink()
        (state / "last.zip").write_bytes(bytes(data))
    else:
        rec = json.loads((state / "members.json").read_text())
        (state / "members.json").write_text(json.dumps({**rec, "version": 0}))
    zip_path.unlink()
    w = make_search_bag(search, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                        state_dir=state)
    assert w.reused == 0 and zip_path.read_bytes() == want
    bagit.Bag(str(_unzipped(zip_path, tmp_path / "x"))).validate()


def test_damaged_hash_states_cost_only_hashing(search, tmp_path):
    """A record whose CRC-32 or SHA-512 states are not what dnflow saves (damaged, or
    another library's): the files are hashed whole again, the bag is the same bytes and
    valid, and the next run's record is whole again (no failure sticks)."""
    state, zip_path = tmp_path / "state", tmp_path / "t-bag.zip"
    make_search_bag(search, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                    state_dir=state)
    want = zip_path.read_bytes()
    rec = json.loads((state / "members.json").read_text())
    own = f"{hashstate.tag()}:"
    bad = [own + "zz" * 216, own + "00" * 215, "openssl9-216:" + "00" * 216, None, 7]
    n = 0
    for m in rec["members"].values():
        for seg in m["segments"]:
            seg[3], seg[4] = ("x", 0)[n % 2], bad[n % len(bad)]
            n += 1
    assert n
    (state / "members.json").write_text(json.dumps(rec))
    for f in search.iterdir():  # every file "changed" (its mtime), its bytes the same
        os.utime(f)
    zip_path.unlink()
    w = make_search_bag(search, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                        state_dir=state)
    assert zip_path.read_bytes() == want and w.hashed == w.read
    bagit.Bag(str(_unzipped(zip_path, tmp_path / "x"))).validate()
    # the files read again have whole states (those not read keep their records)
    read = {f.name for f in search.iterdir()}
    segs = [s for name, m in json.loads((state / "members.json").read_text())[
        "members"].items() if name.rsplit("/", 1)[-1] in read for s in m["segments"]]
    assert segs and all(hashstate.resumable(s[4]) for s in segs)


def test_segmented_members_are_plain_zip_members(tmp_path):
    """Any unzip reads them: the segments are one deflate stream (and stored files
    stay stored); an empty file too."""
    from dnflow import bagzip

    text = b"".join(b"%d,some row of text %d\n" % (i, i * i) for i in range(400_000))
    with bagzip.writing(tmp_path / "a.zip") as w:
        w.add("a/empty.txt", b"")
        w.add("a/posts.parquet", text[:1000])
        w.add("a/rows.csv", text)
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.testzip() is None
        assert zf.read("a/rows.csv") == text and zf.read("a/empty.txt") == b""
        assert zf.getinfo("a/posts.parquet").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("a/rows.csv").compress_size < len(text) / 3
    assert w.members["a/rows.csv"].segments[-1][0] == len(text)
    assert len(w.members["a/rows.csv"].segments) == -(-len(text) // bagzip.SEGMENT)


# ------------------------------------------------------------------ media


def _media_search(search: Path, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of the search with a media index: its first item stored, its second gone,
    and a stored item whose media key media.csv no longer has (a removed post's)."""
    import csv

    from dnflow.media.store import Entry, Store, write_index

    shutil.copytree(search.parent, tmp_path / "data" / "t")
    summary = tmp_path / "data" / "t" / "summary"
    rows = list(csv.DictReader((summary / "media.csv").open(encoding="utf-8")))
    rows = [r for r in rows if r["media_key"] and (r["preview_url"] or r["url"])]
    store = Store(tmp_path / "data" / "media")
    entries, files = [], {}
    for i, r in enumerate(rows[:2]):
        url = r["preview_url"] or r["url"]
        e = Entry(r["media_key"], url, "gone" if i else "ok", "200")
        if not i:
            data = b"\x89PNG not really " + url.encode()
            e.sha256, e.ext = store.put(data, "png"), "png"
            store.published(e.sha256, e.ext).parent.mkdir(parents=True, exist_ok=True)
            store.published(e.sha256, e.ext).write_bytes(b"published " + data)
            files[e.name] = b"published " + data
        entries.append(e)
    gone = Entry("3_removed", "https://pbs.twimg.com/media/removed.jpg", "ok", "200")
    gone.sha256, gone.ext = store.put(b"a removed post's image", "jpg"), "jpg"
    store.published(gone.sha256, "jpg").parent.mkdir(parents=True, exist_ok=True)
    store.published(gone.sha256, "jpg").write_bytes(b"removed")
    write_index(summary.parent / "media" / "index.csv", [*entries, gone])
    return summary, {"entries": entries, "files": files, "removed": gone}


MEDIA = {"download": "thumbnails", "max_items": 2000, "max_bytes": 5_000_000}


def test_the_bag_holds_the_searchs_downloaded_images_at_everything(search, tmp_path):
    summary, m = _media_search(search, tmp_path)
    zip_path = tmp_path / "t-bag.zip"
    make_search_bag(summary, zip_path, ARCHIVE, base=Path("/"), publish=EVERYTHING,
                    media=MEDIA)
    folder = _unzipped(zip_path, tmp_path / "x")
    bagit.Bag(str(folder)).validate()
    media = folder / "data" / "media"
    # the published copies (what site/<slug>/media links to), by their names
    assert {p.name: p.read_bytes() for p in media.iterdir() if p.name != "index.csv"} == \
        m["files"]
    index = (media / "index.csv").read_text()
    assert [r.split(",")[0] for r in index.splitlines()[1:]] == [
        e.media_key for e in m["entries"]]
    assert m["removed"].url not in index and m["removed"].sha256 not in str(
        sorted(p.name for p in media.iterdir()))
    # below everything the page publishes no images: nor does the bag
    for level in ("ids", "counts"):
        make_search_bag(summary, tmp_path / level / "t-bag.zip", ARCHIVE, base=Path("/"),
                        publish={"level": level, "followers": 5000}, media=MEDIA)
        with zipfile.ZipFile(tmp_path / level / "t-bag.zip") as zf:
            assert not [n for n in zf.namelist() if "/data/media/" in n], level
    # a search that downloads nothing bags none
    make_search_bag(summary, tmp_path / "none" / "t-bag.zip", ARCHIVE, base=Path("/"),
                    publish=EVERYTHING, media={**MEDIA, "download": "none"})
    with zipfile.ZipFile(tmp_path / "none" / "t-bag.zip") as zf:
        assert not [n for n in zf.namelist() if "/data/media/" in n]


def test_the_bag_job_reuses_its_last_bag_after_an_update(tmp_path):
    """Through snakemake: a new raw file remakes the bag from bag-state/ (the old file is
    copied from the last bag, not read), and the bag the page offers is valid."""
    from .test_pipeline import snakemake, write_config

    work = tmp_path / "w"
    raw = _chunks(work / "archives", 2, 120)
    write_config(work, {"g": {"source": "archive", "files": "archives/chunk-00.jsonl",
                              "publish": "everything"}})
    snakemake(work)
    state = work / "data" / "g" / "bag-state"
    assert (state / "members.json").is_file() and (state / "last.zip").is_file()
    write_config(work, {"g": {"source": "archive", "files": "archives/chunk-*.jsonl",
                              "publish": "everything"}})
    snakemake(work)
    log = (work / "logs" / "bag" / "g.log").read_text()
    reused = int(re.search(r"(\d+) bytes copied from the last bag", log).group(1))
    assert reused >= raw[0].stat().st_size
    offered = work / "site" / "g" / "downloads" / "g-bag.zip"
    assert offered.read_bytes() == (state / "last.zip").read_bytes()
    folder = _unzipped(offered, tmp_path / "x")
    bagit.Bag(str(folder)).validate()
    assert sorted(p.name for p in (folder / "data" / "raw").iterdir()) == [
        "chunk-00.jsonl", "chunk-01.jsonl"]
