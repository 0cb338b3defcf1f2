"""Each search's BagIt bag (dnflow.bag): validated by bagit's own validate, BagIt 1.0 with
sha256 and sha512 manifests, what the page publishes and nothing else, bag-info.txt from
the summary and searches.yaml's archive: block, the same bytes from the same data."""

import json
import zipfile
from pathlib import Path

import bagit
import pytest

from dnflow import config, deletions, networks
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
