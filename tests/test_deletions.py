"""Deletions (dnflow.deletions): listed posts leave every output, which are then byte for
byte those of a build from archives that never held them; the incremental state (in
memory and spilled) never brings them back; bad lines are skipped with file and line."""

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import msgspec
import pytest

from dnflow import config as dnconfig
from dnflow import deletions, outputs
from dnflow.optouts import hidden_key
from dnflow.site.render import build_page
from dnflow.summary import summarize

from .conftest import V2

OUTPUTS = outputs.names()
META = {"slug": "kpop", "title": "kpop", "source": "archive",
        "generated": "2026-11-28T00:00:00Z"}
SPILLING = {"spill_min_bytes": 0, "spill_keys": 40}
MODES = {"memory": {"workers": 1}, "workers": {"workers": 2, "min_parallel_bytes": 1},
         "spilled": {"workers": 1, **SPILLING}}
# summary.json fields a build with deletions has and one without cannot: the removal's
# figures, and each input's own line and post counts (the copies are other files)
OWN = ("removed", "removed_checked", "deletions_skipped", "sources")


def build(files, out, removing=None, state_dir=None, **kw):
    summary = summarize(files, out, META, removing=removing, state_dir=state_dir, **kw)
    return summary, {n: (out / n).read_bytes() for n in OUTPUTS}


def comparable(files: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(files)
    s = json.loads(out["summary.json"])
    for key in OWN:
        s.pop(key, None)
    out["summary.json"] = json.dumps(s, sort_keys=True).encode()
    return out


def tweets_of(page: dict) -> list[dict]:
    return page.get("data") or []


def without(src: Path, dst: Path, ids: set[str], accounts: set[str]) -> None:
    """A copy of a v2 archive without the posts deletions remove: the listed ones, those
    by listed accounts, and the retweets of either (their originals found in includes)."""
    lines = []
    for line in src.read_text().splitlines():
        page = json.loads(line)
        authors = {t["id"]: t.get("author_id")
                   for t in (page.get("includes") or {}).get("tweets") or ()}
        authors.update({t["id"]: t.get("author_id") for t in tweets_of(page)})

        def gone(t, authors=authors):
            if t["id"] in ids or t.get("author_id") in accounts:
                return True
            for ref in t.get("referenced_tweets") or ():
                if ref["type"] == "retweeted" and (
                        ref["id"] in ids or authors.get(ref["id"]) in accounts):
                    return True
            return False

        if "data" in page:
            page["data"] = [t for t in tweets_of(page) if not gone(t)]
        lines.append(json.dumps(page))
    dst.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def picked(tmp_path_factory):
    """kpop.jsonl (real X v2 pages) and the posts to delete: a top card with media (whose
    retweets are most of its count), a post in the sample, a post with a hashtag, and one
    account (all its posts, by its handle)."""
    src = V2 / "kpop.jsonl"
    out = tmp_path_factory.mktemp("kpop-all")
    summary, files = build([src], out)
    cards = json.loads(files["cards.json"])
    top = next(c for c in cards["top_retweeted"] if c.get("media"))
    # each one its own post: not the top card, nor one of its retweets
    sample = next(c for c in cards["sample"] if top["id"] not in (c["id"], c["retweet_of"]))
    rows = list(csv.DictReader(files["tweets.csv"].decode().splitlines()))
    tagged = next(r for r in rows if r["hashtags"] and r["type"] == "original"
                  and r["id"] not in (top["id"], sample["id"]))
    user = next(r for r in rows if r["type"] == "original"
                and r["id"] not in (top["id"], sample["id"], tagged["id"])
                and r["author_id"] not in (sample["author"]["id"], tagged["author_id"]))
    return {"src": src, "all": files, "summary": summary, "top": top, "sample": sample,
            "tagged": tagged, "user": user}


def listing(tmp_path: Path, p: dict) -> Path:
    """A deletions file in every syntax: a bare id, an x.com link, a compliance line, a
    handle, comments, a bad line."""
    f = tmp_path / "deletions.txt"
    f.write_text(
        "# removed at the authors' request\n"
        f"{p['top']['id']}\n"
        f"https://x.com/someone/status/{p['sample']['id']}?s=20  # gone 2026-11-30\n"
        f'{{"id":"{p["tagged"]["id"]}","action":"delete","reason":"deleted"}}\n'
        f"@{p['user']['username'].upper()}\n"
        "this is not an entry\n"
        "# checked 2026-12-01\n")
    return f


def clean_copy(tmp_path: Path, p: dict) -> Path:
    rows = list(csv.DictReader(p["all"]["tweets.csv"].decode().splitlines()))
    accounts = {r["author_id"] for r in rows if r["username"] == p["user"]["username"]}
    dst = tmp_path / "kpop-clean.jsonl"
    without(p["src"], dst, {p["top"]["id"], p["sample"]["id"], p["tagged"]["id"]}, accounts)
    return dst


@pytest.mark.parametrize("mode", sorted(MODES))
def test_deleted_posts_leave_every_output(picked, tmp_path, mode):
    p = picked
    removing = deletions.read([listing(tmp_path, p)])
    assert removing.problems == [f"{tmp_path / 'deletions.txt'}:6: one entry a line "
                                 "(an id, a link, account:<id> or @handle)"]
    summary, got = build([p["src"]], tmp_path / "with", removing, **MODES[mode])
    _, want = build([clean_copy(tmp_path, p)], tmp_path / "clean", **MODES[mode])
    assert comparable(got) == comparable(want)
    assert got != p["all"]

    # gone from each output it was in
    gone = {p["top"]["id"], p["sample"]["id"], p["tagged"]["id"]}
    cards = json.loads(got["cards.json"])
    assert p["top"]["id"] not in {c["id"] for c in cards["top_retweeted"]}
    assert p["sample"]["id"] not in {c["id"] for c in cards["sample"]}
    assert len(cards["sample"]) == 10
    ids = set(got["tweet-ids.txt"].decode().split())
    assert not ids & gone and ids
    rows = list(csv.DictReader(got["tweets.csv"].decode().splitlines()))
    assert not [r for r in rows if r["id"] in gone or r["retweet_of"] in gone
                or r["username"] == p["user"]["username"]]
    media_key = p["top"]["media"][0]["key"]

    def count(files, name, key):
        for row in csv.reader(files[name].decode().splitlines()[1:]):
            if row[0] == key:
                return int(row[1 if name != "media.csv" else 3])
        return 0

    assert count(got, "media.csv", media_key) < count(p["all"], "media.csv", media_key)
    tag = p["tagged"]["hashtags"].split()[0].lower()
    assert count(got, "hashtags.csv", tag) < count(p["all"], "hashtags.csv", tag)
    assert p["user"]["username"] not in got["users.csv"].decode()
    # summary.json says how many went (distinct posts, their retweets included)
    assert summary["removed"] == p["summary"]["tweets"] - summary["tweets"] > 3
    assert summary["removed_checked"] == "2026-12-01"
    assert summary["deletions_skipped"] == 1


def test_page_says_how_many_were_removed(picked, tmp_path):
    p = picked
    removing = deletions.read([listing(tmp_path, p)])
    build([p["src"]], tmp_path / "with" / "summary", removing)
    build([clean_copy(tmp_path, p)], tmp_path / "clean" / "summary")
    pages = {}
    for name in ("with", "clean"):
        build_page(tmp_path / name / "summary", tmp_path / name / "index.html",
                   tmp_path / name / "downloads", "kpop",
                   publish={"level": "everything", "followers": 5000})
        pages[name] = (tmp_path / name / "index.html").read_text()
    summary = json.loads((tmp_path / "with" / "summary" / "summary.json").read_text())
    line = (f'<p class="note removed">{summary["removed"]} tweets removed (deleted or '
            'withdrawn), last checked 2026-12-01.</p>')  # X's word for posts
    assert line in pages["with"] and 'class="note removed"' not in pages["clean"]
    # the raw archive still holds them: a filtered copy is published, which counts as
    # the archive that never held them does
    [raw] = list((tmp_path / "with" / "downloads" / "raw").iterdir())
    assert raw.read_bytes() != p["src"].read_bytes()
    for gone in (p["top"]["id"], p["sample"]["id"], p["tagged"]["id"]):
        assert f'"id":"{gone}"' not in raw.read_text().replace(" ", "")
    _, recount = build([raw], tmp_path / "recount" / "summary")
    _, clean = build([clean_copy(tmp_path, p)], tmp_path / "clean2" / "summary")
    for name, data in clean.items():
        if name != "summary.json":
            assert recount[name] == data, name

    def rest(page):
        """The page but what differs by construction: the removal note, the raw-data
        section, the row of the file read (another file, with fewer posts) and the size
        of summary.json (which holds those figures)."""
        page = page.replace(line, "")
        page = re.sub(r"<tr><th scope=\"row\"><code>[^<]*kpop[^<]*\.jsonl</code>.*?</tr>", "",
                      page)
        page = re.sub(r"(summary\.json</a> <span class=\"size\">)[^<]*", r"\1", page)
        page = re.sub(r"<h3>Raw data</h3>\s*<ul class=\"files\">.*?</ul>", "", page, flags=re.S)
        page = re.sub(r"<p class=\"note\">The raw answers are published without"
                      r".*?</p>", "", page)
        return re.sub(r"\n\s*\n", "\n", page)

    assert rest(pages["with"]) == rest(pages["clean"])


@pytest.mark.parametrize("mode", ["memory", "spilled"])
def test_state_never_resurrects_a_deleted_post(picked, tmp_path, mode):
    """Counted first without deletions (a state saved), then with them: a recount, not an
    update from the state that holds them; a later update (a new file that holds them
    again) keeps them out; dropping the deletions brings them back."""
    p, kw = picked, MODES[mode]
    again = tmp_path / "again.jsonl"
    shutil.copyfile(p["src"], again)  # every post once more, in a new file
    state = tmp_path / "state"
    removing = deletions.read([listing(tmp_path, p)])
    clean = clean_copy(tmp_path, p)
    _, first = build([p["src"]], tmp_path / "out", None, state, **kw)
    assert first == p["all"]
    s, got = build([p["src"]], tmp_path / "out", removing, state, **kw)
    _, want = build([clean], tmp_path / "clean", **kw)
    assert comparable(got) == comparable(want) and s["removed"] > 3
    log = tmp_path / "update.log"
    with open(log, "w") as f:
        s2, got2 = build([p["src"], again], tmp_path / "out", removing, state, log=f, **kw)
    if mode == "memory":  # an update indeed (the spilled state says nothing in its log)
        assert "incremental: 1 files already counted, 1 new" in log.read_text()
    _, want2 = build([clean, clean], tmp_path / "clean2", **kw)
    assert comparable(got2) == comparable(want2)
    assert s2["removed"] == s["removed"]
    _, back = build([p["src"], again], tmp_path / "out", None, state, **kw)
    _, full = build([p["src"], again], tmp_path / "full", **kw)
    assert back == full and p["sample"]["id"] in back["tweet-ids.txt"].decode()


def test_reader_takes_every_syntax(tmp_path):
    f = tmp_path / "list.txt"
    f.write_text(
        "123456789\n"
        "https://twitter.com/jack/status/20/photo/1\n"
        "at://did:plc:abc/app.bsky.feed.post/3kabc\n"
        "https://bsky.app/profile/Alice.bsky.social/post/3kxyz\n"
        "https://mastodon.social/users/bob/statuses/1101\n"
        "https://mastodon.social/@bob/1102\n"
        "account:783214\n"
        "did:plc:gone\n"
        "@Someone@Example.org\n"
        "\n"
        "   # a comment\n"
        "at://did:plc:abc/app.bsky.actor.profile/self\n"
        "https://x.com/jack\n"
        "@bad handle\n"
        '{"id": "9", "action": "delete", "reason": "scrub_geo"}\n'
        "{not json\n"
        "# checked 2026-11-02\n# checked 2026-12-01\n# checked 2026-11-30\n")
    d = deletions.read([f])
    assert {"123456789", "20", "at://did:plc:abc/app.bsky.feed.post/3kabc",
            "https://mastodon.social/users/bob/statuses/1101",
            "https://mastodon.social/@bob/1102"} <= d.posts
    assert "9" not in d.posts  # scrub_geo: the post stays
    assert d.bsky == {("alice.bsky.social", "3kxyz")}
    assert d.accounts == {"783214", hidden_key("783214"), "did:plc:gone"}
    assert d.handles == {"someone@example.org"}
    assert d.checked == "2026-12-01"
    assert [x.split(": ", 1)[0] for x in d.problems] == [
        f"{f}:{n}" for n in (12, 13, 14, 16)]
    assert "not a post" in d.problems[0] and "not JSON" in d.problems[3]


def test_compliance_results_of_x():
    """twarc's compliance job results: tweets' ids are posts, users' ids accounts."""
    d = deletions.read([V2 / "tweets_compliance.jsonl", V2 / "users_compliance.jsonl"])
    assert d.posts == {"1170025343920402432", "1170147183095664640"}
    assert d.accounts == {"1482680858"}
    assert not d.problems


def test_records_of_each_platform_match():
    from dnflow.optouts import withhold
    from dnflow.record import Author, post

    def rec(platform, id_, handle, did=None, url=None, uri=None, repost_of=None):
        return post(platform=platform, id=id_, url=url, created_at=None,
                    author=Author(did or "u1", handle, None, None, None, None, None, None),
                    text="", lang=None,
                    repost_of=repost_of, quote_of=None, reply_to=None, reposted=None,
                    hashtags=[], mentions=[], links=[], media=[], client=None, metrics={},
                    uri=uri)

    d = deletions.Deletions()
    for line in ("https://bsky.app/profile/alice.bsky.social/post/3kxyz",
                 "https://bsky.app/profile/did:plc:bob/post/3kbob",
                 "https://mastodon.social/users/carol/statuses/1", "55", "@dave"):
        d.add_line(line, "t:1")
    assert d.gone(rec("bluesky", "at://did:plc:a/app.bsky.feed.post/3kxyz",
                      "alice.bsky.social", "did:plc:a"))
    assert d.gone(rec("bluesky", "at://did:plc:bob/app.bsky.feed.post/3kbob", "b.org",
                      "did:plc:bob"))
    assert not d.gone(rec("bluesky", "at://did:plc:a/app.bsky.feed.post/3kother",
                          "alice.bsky.social", "did:plc:a"))
    carol = rec("mastodon", "https://mastodon.social/users/carol/statuses/1", "carol",
                uri="https://mastodon.social/users/carol/statuses/1")
    assert d.gone(carol) and d.gone(withhold(carol))  # withheld: by its hidden key
    assert d.gone(rec("x", "56", "eve", repost_of="55"))  # a retweet of a deleted post
    assert d.gone(rec("x", "57", "DAVE")) and not d.gone(rec("x", "58", "eve"))
    # a Mastodon account by its profile link, or by its URI (withheld too)
    d.add_line("https://fosstodon.org/@frank", "t:2")
    d.add_line("account:https://fosstodon.org/users/gina", "t:3")
    frank = msgspec.structs.replace(
        rec("mastodon", "https://fosstodon.org/users/frank/statuses/9", "frank@fosstodon.org",
            "https://fosstodon.org/users/frank"),
        author=Author("https://fosstodon.org/users/frank", "frank@fosstodon.org", None, None,
                      None, "https://fosstodon.org/@frank", None, None))
    gina = rec("mastodon", "https://fosstodon.org/users/gina/statuses/1", "gina@fosstodon.org",
               "https://fosstodon.org/users/gina",
               uri="https://fosstodon.org/users/gina/statuses/1")
    assert d.gone(frank) and d.gone(gina) and d.gone(withhold(gina))
    assert not d.gone(rec("mastodon", "https://fosstodon.org/users/hal/statuses/2",
                          "hal@fosstodon.org", "https://fosstodon.org/users/hal"))


def test_config_deletions(tmp_path):
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "a.txt").write_text("1\n")
    (tmp_path / "all.txt").write_text("2\n")
    (tmp_path / "data" / "s").mkdir(parents=True)
    (tmp_path / "data" / "s" / deletions.RECHECK_FILE).write_text("3\n")
    cfg = {"deletions": "all.txt",
           "searches": {"s": {"source": "demo", "posts": 10, "deletions": ["gone/*.txt"]},
                        "t": {"source": "demo", "posts": 10, "deletions": "none/*.txt"}}}
    searches = dnconfig.validate(cfg, workdir=tmp_path)
    assert deletions.search_files("s", searches["s"], cfg, tmp_path) == [
        "all.txt", "gone/a.txt", "data/s/deletions-recheck.txt"]
    assert deletions.search_files("t", searches["t"], cfg, tmp_path) == ["all.txt"]
    for bad, msg in (({"deletions": 3}, "key 'deletions': give a path, a glob or a list"),
                     ({"deletions": "nope.txt"}, "deletions: no such file 'nope.txt'"),
                     ({"searches": {"s": {"source": "demo", "posts": 1, "deletions": "x"}}},
                      "search 's', key 'deletions': no such file 'x'")):
        with pytest.raises(dnconfig.ConfigError, match=re.escape(msg)):
            dnconfig.validate({"searches": {}, **bad}, workdir=tmp_path)


def test_pipeline_reruns_when_deletions_change(picked, tmp_path, monkeypatch):
    """snakemake: listing a post (a new file matching the search's glob) reruns the
    summary and the page; nothing changes, nothing reruns; editing the file reruns."""
    from .test_pipeline import snakemake, write_config

    work = tmp_path / "work"
    write_config(work, {"k": {"source": "archive", "files": str(picked["src"]),
                              "deletions": "deletions/*.txt", "publish": "everything"}})
    snakemake(work)
    summary = work / "data" / "k" / "summary" / "summary.json"
    assert "removed" not in json.loads(summary.read_text())
    top = picked["top"]["id"]
    page = work / "site" / "k" / "index.html"
    assert top in page.read_text()
    edges = work / "data" / "k" / "networks" / "edges-retweets.csv"
    before = _weight_to(edges, picked["top"]["author"]["id"])
    (work / "deletions").mkdir()
    (work / "deletions" / "a.txt").write_text(f"{top}\n")
    snakemake(work)
    # the retweets of the removed post are no longer edges of the retweet network
    assert (before - _weight_to(edges, picked["top"]["author"]["id"])
            >= picked["top"]["retweets_in_search"] > 0)
    s = json.loads(summary.read_text())
    assert s["removed"] > 1 and top not in page.read_text()
    assert "tweets removed (deleted or withdrawn)." in page.read_text()
    again = snakemake(work)
    assert "Nothing to be done" in again.stdout + again.stderr
    with open(work / "deletions" / "a.txt", "a") as f:
        f.write(f"{picked['sample']['id']}\n")
    snakemake(work)
    assert json.loads(summary.read_text())["removed"] > s["removed"]
    # no published file holds the listed posts' rows (raw files: filtered copies)
    downloads = work / "site" / "k" / "downloads"
    [raw] = list((downloads / "raw").iterdir())
    assert f'"id":"{top}"' not in raw.read_text().replace(" ", "")
    for name in ("tweet-ids.txt", "tweets.csv", "cards.json"):
        text = (downloads / name).read_text()
        assert f'"{top}"' not in text and f"\n{top}\n" not in f"\n{text}"
    # nor does the bag: its raw file is the page's filtered copy (made once, by the bag
    # job, which runs first; the page job finds it made), its other files the summary's
    copy = work / "data" / "k" / "published" / "raw" / raw.name
    assert raw.read_bytes() == copy.read_bytes()
    with zipfile.ZipFile(downloads / "k-bag.zip") as zf:
        bagged = {n.split("/data/", 1)[1]: zf.read(n) for n in zf.namelist() if "/data/" in n}
    assert bagged[f"raw/{raw.name}"] == copy.read_bytes()
    for name in ("tweet-ids.txt", "tweets.csv", "cards.json"):
        text = bagged[name].decode()
        assert f'"{top}"' not in text and f"\n{top}\n" not in f"\n{text}"


def test_bad_lines_are_logged_and_never_fail_the_search(tmp_path):
    """Through the summary job: each bad line in the log with its file and line, a file
    that cannot be read is one more problem, and the search is counted."""
    from dnflow.jobs import summarize_search

    good = tmp_path / "list.txt"
    good.write_text("1440684519917424661\nnot an entry here\n@\n")
    folder = tmp_path / "a-folder.txt"
    folder.mkdir()
    log = tmp_path / "job.log"
    summary = summarize_search([str(V2 / "kpop.jsonl")], tmp_path / "out", dict(META),
                               str(log), deletion_files=[str(good), str(folder)])
    assert summary["status"] == "ok" and summary["removed"] > 0
    assert summary["deletions_skipped"] == 3
    text = log.read_text()
    assert f"deletions: {good}:2: one entry a line" in text
    assert f"deletions: {good}:3: '@' is not a handle (line skipped)" in text
    assert f"deletions: {folder}: unreadable" in text


def _weight_to(edges: Path, target: str) -> int:
    """The summed weight of a network's edges into ``target``."""
    rows = csv.DictReader(edges.read_text().splitlines())
    return sum(int(r["weight"]) for r in rows if r["target"] == target)
