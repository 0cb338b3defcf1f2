"""The networks (dnflow.networks, made with DuckDB from the summary's tweets.csv): edge
lists whose weights are counted again here straight from the raw pages of real files,
and network.gexf's structure."""

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from dnflow import networks
from dnflow.summary import summarize

from .golden.cases import CORPUS

TWOSETS = CORPUS / "twarc-csv" / "test-data" / "2sets.jsonl"
TWITWI = CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json"
GEXF = "{http://gexf.net/1.3}"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["source", "target", "weight", "first", "last"]
    return rows[1:]


def _weights(path: Path) -> Counter:
    return Counter({(r[0], r[1]): int(r[2]) for r in _rows(path)})


def _raw_v2(path: Path) -> tuple[list[dict], dict[str, dict]]:
    """Every tweet of a file of v2 pages (first seen once), and the included tweets."""
    tweets, seen, included = [], set(), {}
    for line in path.read_text().splitlines():
        page = json.loads(line)
        for t in page.get("includes", {}).get("tweets", ()):
            included[t["id"]] = t
        for t in page["data"]:
            if t["id"] not in seen:
                seen.add(t["id"])
                tweets.append(t)
    return tweets, included


def _networks(summary_dir: Path) -> Path:
    """The search's networks folder (data/<slug>/networks beside summary/)."""
    out = summary_dir.parent / "networks"
    networks.write_search(summary_dir, out)
    return out


@pytest.fixture(scope="module")
def twosets_summary(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("twosets") / "summary"
    summarize([TWOSETS], out, {"slug": "t"}, workers=1)
    return out


@pytest.fixture(scope="module")
def twosets(twosets_summary) -> Path:
    return _networks(twosets_summary)


def test_reply_quote_and_repost_weights_are_the_raw_pages(twosets):
    """Counted again from the raw JSON: replier → in_reply_to_user_id, quoter → the
    quoted tweet's author, reposter → the original's author, one per tweet."""
    tweets, included = _raw_v2(TWOSETS)
    want = {"replies": Counter(), "quotes": Counter(), "retweets": Counter()}
    for t in tweets:
        refs = {r["type"]: r["id"] for r in t.get("referenced_tweets", ())}
        if "retweeted" in refs:
            orig = included.get(refs["retweeted"])
            if orig:
                want["retweets"][t["author_id"], orig["author_id"]] += 1
            continue
        if "quoted" in refs and refs["quoted"] in included:
            want["quotes"][t["author_id"], included[refs["quoted"]]["author_id"]] += 1
        if "replied_to" in refs and t.get("in_reply_to_user_id"):
            want["replies"][t["author_id"], t["in_reply_to_user_id"]] += 1
    for name, weights in want.items():
        assert weights, name  # the file has some of each
        assert _weights(twosets / f"edges-{name}.csv") == weights, name


def test_hand_worked_edges_of_a_real_file(twosets):
    # @1_3loona (1019555262158524416) reposted three tweets of 1164497209351479296,
    # at 16:38:11, 16:38:13 and 16:38:16 (read off the raw page)
    rows = _rows(twosets / "edges-retweets.csv")
    assert rows[0] == ["1019555262158524416", "1164497209351479296", "3",
                       "2021-09-22T16:38:11Z", "2021-09-22T16:38:16Z"]
    # #blackpink, #kpop and #lisa written together: 41 tweets have the first two
    tags = {(r[0], r[1]): int(r[2]) for r in _rows(twosets / "edges-hashtags.csv")}
    assert tags["blackpink", "kpop"] == 41
    assert tags["blackpink", "lisa"] == 40


def test_hashtag_pairs_are_the_raw_entities(twosets):
    tweets, included = _raw_v2(TWOSETS)
    want: Counter = Counter()
    for t in tweets:
        refs = {r["type"]: r["id"] for r in t.get("referenced_tweets", ())}
        src = included.get(refs.get("retweeted"), t)  # a repost counts its original's
        tags = sorted({h["tag"].casefold()
                       for h in src.get("entities", {}).get("hashtags", ())})
        for i, a in enumerate(tags):
            for b in tags[i + 1:]:
                want[a, b] += 1
    assert _weights(twosets / "edges-hashtags.csv") == want


def test_mentions_fold_as_mentions_csv_and_resolve_to_authors(twosets, twosets_summary):
    with open(twosets_summary / "mentions.csv", newline="") as f:
        mentioned = {r["username"] for r in csv.DictReader(f)}
    with open(twosets_summary / "users.csv", newline="") as f:
        authors = {r["username"].casefold() for r in csv.DictReader(f)}
    rows = _rows(twosets / "edges-mentions.csv")
    targets = {r[1] for r in rows}
    by_handle = {t[1:] for t in targets if t.startswith("@")}
    assert by_handle <= mentioned
    assert not by_handle & authors  # an author's handle became their id
    assert any(not t.startswith("@") for t in targets)


def test_sorted_by_weight_then_source_then_target(twosets):
    for name in ("mentions", "retweets", "quotes", "replies", "hashtags"):
        rows = _rows(twosets / f"edges-{name}.csv")
        keys = [(-int(r[2]), r[0], r[1]) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), name
        assert all(r[3] <= r[4] for r in rows)


def test_mentions_are_the_raw_entities_folded_and_resolved(twosets):
    """author → each distinct mentioned handle (case-folded) of a post that is not a
    repost, a handle some author of the file had becoming that author's id."""
    tweets, included = _raw_v2(TWOSETS)
    users = {}
    for line in TWOSETS.read_text().splitlines():
        for u in json.loads(line).get("includes", {}).get("users", ()):
            users.setdefault(u["id"], u["username"])
    first_id: dict[str, str] = {}
    for t in tweets:  # the first account seen with each handle, as the file has them
        refs = {r["type"]: r["id"] for r in t.get("referenced_tweets", ())}
        first_id.setdefault("@" + users[t["author_id"]].casefold(), t["author_id"])
        orig = included.get(refs.get("retweeted"))
        if orig:
            first_id.setdefault("@" + users[orig["author_id"]].casefold(),
                                orig["author_id"])
    want: Counter = Counter()
    for t in tweets:
        if any(r["type"] == "retweeted" for r in t.get("referenced_tweets", ())):
            continue
        for h in {m["username"].casefold()
                  for m in t.get("entities", {}).get("mentions", ())}:
            want[t["author_id"], first_id.get("@" + h, "@" + h)] += 1
    assert want
    assert _weights(twosets / "edges-mentions.csv") == want


def test_a_tweets_csv_of_before_the_account_columns_still_makes_networks(
        twosets_summary, twosets, tmp_path):
    """A summary made before tweets.csv named the accounts a post points at: the same
    mention edges (fewer handles resolved: only authors' are known), hashtag pairs
    (a repost's of its own cut text), every repost to its "RT @handle" account (an id
    where an author had it), no quote edges."""
    from dnflow.rows import TWEETS_CSV_HEADER

    old = tmp_path / "summary"
    old.mkdir()
    shutil.copy(twosets_summary / "summary.json", old)
    keep = TWEETS_CSV_HEADER.index("place") + 1
    with open(twosets_summary / "tweets.csv", newline="", encoding="utf-8") as fi, \
            open(old / "tweets.csv", "w", newline="", encoding="utf-8") as fo:
        w = csv.writer(fo, quoting=csv.QUOTE_NONNUMERIC)
        for row in csv.reader(fi):
            w.writerow(row[:keep])
    out = _networks(old)
    mentions = _weights(out / "edges-mentions.csv")
    assert sum(mentions.values()) == sum(_weights(twosets / "edges-mentions.csv").values())
    sources = {s for s, _ in _weights(twosets / "edges-mentions.csv")}
    assert {s for s, _ in mentions} == sources
    assert _weights(out / "edges-hashtags.csv")["blackpink", "kpop"] >= 1
    reposted = _weights(out / "edges-retweets.csv")
    assert sum(reposted.values()) == sum(_weights(twosets / "edges-retweets.csv").values())
    assert any(t.startswith("@") for _, t in reposted)  # "RT @handle", no author
    assert _rows(out / "edges-quotes.csv") == []


def test_bluesky_replies_and_quotes_go_to_the_did_of_the_uri(tmp_path):
    summarize([TWITWI], tmp_path / "summary", {"slug": "b", "source": "archive"})
    tmp_path = _networks(tmp_path / "summary")
    items = json.loads(TWITWI.read_text())
    want: Counter = Counter()
    seen = set()
    for item in items:
        post = item.get("post", item)
        if "reason" in item or post["uri"] in seen:  # a repost is a repost edge
            continue
        seen.add(post["uri"])
        parent = post["record"].get("reply", {}).get("parent", {}).get("uri")
        if parent:
            want[post["author"]["did"], parent[5:].split("/")[0]] += 1
    assert want
    got = _weights(tmp_path / "edges-replies.csv")
    assert got == want
    quotes = _rows(tmp_path / "edges-quotes.csv")
    assert quotes and all(r[1].startswith("did:") for r in quotes)


def test_gexf_is_gexf_1_3(twosets):
    root = ET.parse(twosets / "network.gexf").getroot()
    assert root.tag == GEXF + "gexf" and root.get("version") == "1.3"
    graph = root.find(GEXF + "graph")
    nodes = {n.get("id"): n for n in graph.iter(GEXF + "node")}
    edges = list(graph.iter(GEXF + "edge"))
    declared = {c.get("class"): {a.get("id") for a in c} for c in
                graph.findall(GEXF + "attributes")}
    for n in nodes.values():
        assert n.get("label")
        assert {v.get("for") for v in n.iter(GEXF + "attvalue")} <= declared["node"]
    kinds = Counter(e.get("kind") for e in edges)
    for name in ("mentions", "retweets", "quotes", "replies"):
        assert kinds[name] == len(_rows(twosets / f"edges-{name}.csv"))
    assert len({e.get("id") for e in edges}) == len(edges)
    for e in edges:
        assert e.get("source") in nodes and e.get("target") in nodes
        assert {v.get("for") for v in e.iter(GEXF + "attvalue")} == declared["edge"]
    # an author's attributes: @1_3loona posted three times in the file
    loona = nodes["1019555262158524416"]
    assert loona.get("label") == "1_3loona"
    values = {v.get("for"): v.get("value") for v in loona.iter(GEXF + "attvalue")}
    assert values["posts"] == "3" and values["platform"] == "x"


# ---------------------------------------------------------------- the page


def _page(summary_dir: Path, out: Path, level: str = "everything") -> str:
    from dnflow.site.render import build_page

    build_page(summary_dir, out / "index.html", out / "downloads", "t",
               publish={"level": level, "followers": 5000})
    return (out / "index.html").read_text()


def _section(html: str) -> str:
    section = html[html.index('<section id="networks"'):]
    return section[:section.index("</section>")]


def test_page_shows_networks_drawn_the_same_every_time(twosets, twosets_summary, tmp_path):
    html = _page(twosets_summary, tmp_path / "a")
    assert _page(twosets_summary, tmp_path / "b") == html  # same data, same picture
    section = _section(html)
    assert section.count('<svg class="chart network"') == 2  # mentions and retweets
    assert 'aria-labelledby="chart-net-mentions-t"' in section
    # the most reposted account of the file, with its weighted in-degree, from the CSV
    weighted: Counter = Counter()
    for r in _rows(twosets / "edges-retweets.csv"):
        weighted[r[1]] += int(r[2])
    top, w = weighted.most_common(1)[0]
    table = section[section.index('id="net-retweets"'):]
    body = table[table.index("<tbody>"):]
    first_row = body[:body.index("</tr>")]
    assert f'<td class="num">{w}</td>' in first_row
    assert "blackpink" in section and "#kpop" in section  # hashtags used together
    assert "src=" not in section  # nothing loads from elsewhere
    downloads = {p.name for p in (tmp_path / "a" / "downloads").iterdir()}
    assert {"edges-mentions.csv", "edges-hashtags.csv", "network.gexf"} <= downloads


def test_at_ids_small_accounts_are_an_account_and_pseudonyms(twosets, twosets_summary,
                                                            tmp_path):
    """At ids a drawn or listed account with fewer than 5000 followers is "an account"
    and the published edge lists name it by a pseudonym; at counts there are no
    account networks at all (the hashtags' pairs are aggregates)."""
    from dnflow.publish import PSEUDONYM_PREFIX

    html = _page(twosets_summary, tmp_path / "ids", "ids")
    section = _section(html)
    assert "1_3loona" not in section  # 373 followers (users.csv)
    assert "an account" in section
    published = _rows(tmp_path / "ids" / "downloads" / "edges-retweets.csv")
    assert len(published) == len(_rows(twosets / "edges-retweets.csv"))
    assert all(r[0].startswith(PSEUDONYM_PREFIX) for r in published)
    assert not (tmp_path / "ids" / "downloads" / "network.gexf").exists()
    assert "network.gexf" not in html  # not published, not linked
    html = _page(twosets_summary, tmp_path / "counts", "counts")
    assert '<section id="networks"' not in html
    downloads = {p.name for p in (tmp_path / "counts" / "downloads").iterdir()}
    assert "edges-hashtags.csv" in downloads
    assert not downloads & {"edges-mentions.csv", "edges-retweets.csv", "network.gexf"}


def test_page_escapes_what_accounts_are_called(twosets_summary, tmp_path):
    shutil.copytree(twosets_summary.parent, tmp_path / "t")
    with open(tmp_path / "t" / "networks" / "edges-mentions.csv", "a", newline="") as f:
        csv.writer(f).writerow(["1019555262158524416", '@<script>"x', 999, "", ""])
    html = _page(tmp_path / "t" / "summary", tmp_path / "site")
    assert "<script>" not in _section(html)
    assert "&lt;script&gt;" in html


def test_layout_is_deterministic_and_inside_the_drawing():
    from dnflow.site.networks import SIZE, layout

    edges = [(0, 1, 3), (1, 2, 1), (3, 4, 2)]
    xy = layout(6, edges)
    assert xy == layout(6, edges)
    assert all(0 <= v <= SIZE for p in xy for v in p)
    assert len(set(xy)) == 6


def test_an_empty_or_missing_tweets_csv_gives_empty_networks(tmp_path):
    """A search that failed before writing a row: every file, with no edges."""
    (tmp_path / "tweets.csv").write_text("")
    counts = networks.write_networks(tmp_path / "tweets.csv", None, tmp_path / "a", "x")
    assert counts == dict.fromkeys(("mentions", "retweets", "quotes", "replies",
                                    "hashtags"), 0)
    networks.write_networks(tmp_path / "none.csv", None, tmp_path / "b", "x")
    for out in (tmp_path / "a", tmp_path / "b"):
        assert sorted(p.name for p in out.iterdir()) == sorted(networks.NAMES)
        assert _rows(out / "edges-mentions.csv") == []
        graph = ET.parse(out / "network.gexf").getroot().find(GEXF + "graph")
        assert not list(graph.iter(GEXF + "node"))
