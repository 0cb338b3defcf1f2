"""The networks (dnflow.networks, made with DuckDB from the summary's tweets.csv): edge
lists whose weights are counted again here straight from the raw pages of real files,
and network.gexf's structure."""

import csv
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from dnflow import networks
from dnflow.summary import summarize

from .golden.cases import CORPUS

TWOSETS = CORPUS / "twarc-csv" / "test-data" / "2sets.jsonl"
TWITWI = CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json"
V11 = CORPUS / "derived" / "v1.1" / "tweepy_v1.1_cassette_tweets.jsonl"
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
    assert gexf_problems(twosets / "network.gexf") == []
    root = ET.parse(twosets / "network.gexf").getroot()
    assert root.tag == GEXF + "gexf" and root.get("version") == "1.3"
    graph = root.find(GEXF + "graph")
    nodes = {n.get("id"): n for n in graph.iter(GEXF + "node")}
    edges = list(graph.iter(GEXF + "edge"))
    declared = {c.get("class"): {a.get("id") for a in c} for c in
                graph.findall(GEXF + "attributes")}
    for n in nodes.values():
        assert n.get("label")
    kinds = Counter(e.get("kind") for e in edges)
    for name in ("mentions", "retweets", "quotes", "replies"):
        assert kinds[name] == len(_rows(twosets / f"edges-{name}.csv"))
    for e in edges:
        assert {v.get("for") for v in e.iter(GEXF + "attvalue")} == declared["edge"]
    # an author's attributes: @1_3loona posted three times in the file
    loona = nodes["1019555262158524416"]
    assert loona.get("label") == "1_3loona"
    values = {v.get("for"): v.get("value") for v in loona.iter(GEXF + "attvalue")}
    assert values["posts"] == "3" and values["platform"] == "x"


# ------------------------------------------------------ network.gexf against GEXF 1.3

SCHEMA = Path(__file__).resolve().parent / "schemas" / "gexf-1.3-dnflow.xsd"
# what an attvalue's value must look like for its attribute's type (XML Schema's lexical
# forms, which Gephi and networkx parse): the one check the schema cannot make
_INTEGER = r"[+-]?[0-9]+"
_DOUBLE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN"
LEXICAL = {"integer": _INTEGER, "long": _INTEGER, "double": _DOUBLE, "float": _DOUBLE,
           "boolean": "true|false|1|0", "string": "(?s:.*)"}


def gexf_problems(path: Path) -> list[str]:
    """What is wrong with a network.gexf, with the line of each: against the schema
    (tests/schemas), then each attvalue against its attribute's class and type."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    try:
        doc = etree.parse(str(path))
    except etree.XMLSyntaxError as e:
        return [f"{path.name}: not XML: {e}"]
    if not schema.validate(doc):
        return [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]
    ns = {"g": doc.getroot().nsmap[None]}
    problems = []
    for attributes in doc.iterfind("g:graph/g:attributes", ns):
        cls = attributes.get("class")
        types = {a.get("id"): a.get("type") for a in attributes.iterfind("g:attribute", ns)}
        for typ in types.values():
            if typ not in LEXICAL:  # a new type dnflow writes: say what its values are
                problems.append(f"{path.name}: no lexical form known for type {typ}")
        for v in doc.iterfind(f"g:graph/g:{cls}s/g:{cls}/g:attvalues/g:attvalue", ns):
            typ = types.get(v.get("for"))
            if typ is None:
                problems.append(f"{path.name}:{v.sourceline}: a {cls} has a value for "
                                f"{v.get('for')!r}, no {cls} attribute")
            elif typ in LEXICAL and not re.fullmatch(LEXICAL[typ], v.get("value")):
                problems.append(f"{path.name}:{v.sourceline}: {v.get('value')!r} is no "
                                f"{typ} ({v.get('for')})")
            elif typ == "long" and not -2**63 <= int(v.get("value")) < 2**63:
                problems.append(f"{path.name}:{v.sourceline}: {v.get('value')} is no long")
    return problems


@pytest.fixture(scope="module")
def gexf_files(twosets, tmp_path_factory) -> dict[str, Path]:
    """network.gexf of real files of each platform, and of an empty search."""
    out = {"x-v2": twosets / "network.gexf"}
    for name, src in (("x-v1.1", V11), ("bluesky", TWITWI)):
        d = tmp_path_factory.mktemp(name)
        summarize([src], d / "summary", {"slug": "g", "source": "archive"}, workers=1)
        out[name] = _networks(d / "summary") / "network.gexf"
    d = tmp_path_factory.mktemp("empty")
    networks.write_networks(d / "none.csv", None, d / "networks", "x")
    out["empty"] = d / "networks" / "network.gexf"
    return out


@pytest.mark.parametrize("name", ["x-v2", "x-v1.1", "bluesky", "empty"])
def test_gexf_validates_against_gexf_1_3(gexf_files, name):
    path = gexf_files[name]
    assert gexf_problems(path) == []
    if name != "empty":
        edges = ET.parse(path).getroot().iter(GEXF + "edge")
        assert {e.get("kind") for e in edges} >= {"mentions", "retweets"}


def test_odd_handles_and_text_still_validate(tmp_path):
    """Handles with XML's special characters and characters XML cannot hold: escaped or
    dropped, the file still valid, the labels what the handles were (less those)."""
    from dnflow.rows import TWEETS_CSV_HEADER

    odd = ['a<b>&"c\'', "tab\there", "bell\x07\x1b", "Ünï\u00adcode\U0001f600"]
    with open(tmp_path / "tweets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(TWEETS_CSV_HEADER)
        for i, handle in enumerate(odd):
            row = dict.fromkeys(TWEETS_CSV_HEADER, "")
            row.update(id=str(i), created_at=f"2026-01-0{i + 1}T00:00:00Z",
                       author_id=f"id{i}", username=handle, type="tweet", text="x",
                       hashtags="a b", mentions="x<y" if i else "",
                       reply_to="r" if i == 1 else "",
                       reply_to_author_id='"><edge' if i == 1 else "")
            w.writerow(row.values())
    networks.write_networks(tmp_path / "tweets.csv", None, tmp_path / "n", "x&y")
    path = tmp_path / "n" / "network.gexf"
    assert gexf_problems(path) == []
    nodes = {n.get("id"): n for n in ET.parse(path).getroot().iter(GEXF + "node")}
    assert [nodes[f"id{i}"].get("label") for i in range(4)] == [
        'a<b>&"c\'', "tab\there", "bell", "Ünï\u00adcode\U0001f600"]
    assert {"@x<y", '"><edge'} <= set(nodes)


def test_a_failed_gexf_leaves_the_last_one(tmp_path):
    """An error while the file is written: the GEXF made before stays, whole, and no
    temporary file is left (the next run starts clean)."""
    from dnflow.networks.gexf import GexfFile

    path = tmp_path / "network.gexf"
    path.write_text("before")

    with pytest.raises(OSError), GexfFile(path, "x") as gexf:
        gexf.nodes([[("a", 1, "a", None), ("b", None, None, None)]])
        gexf.edges("mentions", [("a", "b", 1, None, None)])
        raise OSError("disk full")
    assert path.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.gexf"]


def test_a_block_of_edges_or_nodes_is_each_ones_line(twosets):
    """The GEXF's edges and nodes are written a block at a time, every value checked at
    once: the same text as each line made by the rule (dnflow.networks.gexf._edge,
    _node), for a real network's rows and nodes, and for blocks where one value needs
    escaping or is no text."""
    from dnflow.networks.gexf import _edge, _edges_text, _node, _nodes_text

    rows = [(s, t, int(w), f or None, last or None) for name in ("mentions", "retweets")
            for s, t, w, f, last in _rows(twosets / f"edges-{name}.csv")]
    assert len(rows) > 50
    odd = [rows[:5] + [("a<b", "c&d", 2, None, '"x"')] + rows[5:9],
           rows[:3] + [("tab\there", "bell\x07", 1, "2026", "")],
           [(1234, "b", 1, None, None)], []]
    for n, block in [(0, rows), (7, rows[:1]), *((i, b) for i, b in enumerate(odd))]:
        for kind in ("mentions", "a&b"):
            want = "".join(_edge(n + i, kind, *row) for i, row in enumerate(block))
            assert _edges_text(n, kind, block) == want
    nodes = [(n.get("id"), int(v["posts"]) if "posts" in v else None, n.get("label"),
              int(v["followers"]) if "followers" in v else None)
             for n in ET.parse(twosets / "network.gexf").getroot().iter(GEXF + "node")
             for v in [{a.get("for"): a.get("value") for a in n.iter(GEXF + "attvalue")}]]
    assert any(p is None for _, p, _, _ in nodes) and any(f for *_, f in nodes)
    odd = [nodes[:4] + [("@a<b", None, None, None)], [("x", 1, "tab\there", 2)],
           [(5, 1, "x", None)], [("@h", None, None, None)], []]
    for block in [nodes, *odd]:
        for platform in ("x", "a&b"):
            want = "".join(_node(*row, platform) for row in block)
            assert _nodes_text(block, platform) == want


@pytest.mark.parametrize(("old", "new", "says"), [
    ('xmlns="http://gexf.net/1.3"', 'xmlns="http://www.gexf.net/1.2draft"', "gexf"),
    ('version="1.3">', 'version="1.2">', "version"),
    (' target="1164497209351479296"', "", "target"),
    (' weight="3"', ' weight="abc"', "weight"),
    (' target="1164497209351479296"', ' target="nobody"', "edge-target"),
    ('<edge id="1" ', '<edge id="0" ', "edge-id"),
    ('<nodes>', '<nodes><node id=""/>', "minLength"),
    ('type="integer"', 'type="int"', "type"),
    ('mode="static">\n    <attributes', 'mode="still">\n    <attributes', "mode"),
    # the official 1.3 grammar (gexf.rng) has no mode on attributes, though its XSD has
    ('<attributes class="node">', '<attributes class="node" mode="static">', "mode"),
    ('<attvalue for="posts" value="3"/>', '<attvalue for="posts" value="three"/>',
     "is no integer"),
    ('<attvalue for="posts" value="3"/>', '<attvalue for="kind" value="3"/>',
     "no node attribute"),
    ('<attvalue for="posts" value="3"/>', '<attvalue for="posts" value="3"/><viz/>',
     "viz"),
    ("</gexf>", "", "not XML"),
])
def test_a_broken_gexf_fails(twosets, tmp_path, old, new, says):
    """The checks can fail: each change to a real file is found, and said."""
    text = (twosets / "network.gexf").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "network.gexf"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = gexf_problems(broken)
    assert problems and says in problems[0], problems


def test_networkx_reads_the_gexf_back(twosets):
    """A second reader of GEXF 1.3 (networkx's, version "1.3"): every node, every edge
    of every network with its weight, kind and times, the nodes' typed attributes."""
    import networkx as nx

    g = nx.read_gexf(twosets / "network.gexf", version="1.3")
    root = ET.parse(twosets / "network.gexf").getroot()
    assert g.number_of_nodes() == sum(1 for _ in root.iter(GEXF + "node"))
    want = Counter()
    for name in ("mentions", "retweets", "quotes", "replies"):
        for src, tgt, w, first, last in _rows(twosets / f"edges-{name}.csv"):
            want[name, src, tgt, float(w), first, last] += 1
    got = Counter((d["kind"], s, t, d["weight"], d["first"], d["last"])
                  for s, t, d in g.edges(data=True))
    assert got == want
    loona = g.nodes["1019555262158524416"]
    assert (loona["label"], loona["posts"], loona["platform"]) == ("1_3loona", 3, "x")
    assert loona["followers"] == 373


GEPHI_LITE = Path(__file__).resolve().parent / "gephi_lite"


def _gephi_lite() -> list[str]:
    """The command that opens a GEXF file as Gephi Lite does (tests/gephi_lite/open.js:
    graphology-gexf, installed by `make test` where npm is)."""
    node = shutil.which("node")
    if node and (GEPHI_LITE / "node_modules" / "graphology-gexf").is_dir():
        return [node, str(GEPHI_LITE / "open.js")]
    why = "node or tests/gephi_lite/node_modules is missing (make test installs them)"
    if os.environ.get("DNFLOW_REQUIRE_NODE") == "1":
        pytest.fail(why + "; DNFLOW_REQUIRE_NODE=1")
    pytest.skip(why)


def test_gephi_lite_opens_the_gexf(twosets):
    """Gephi's web version reads the file with graphology-gexf, as its import does: a
    directed multigraph (an account's mention and repost of another are two edges) with
    every edge of every network, its weight, kind and times, and the nodes' attributes
    typed."""
    done = subprocess.run([*_gephi_lite(), str(twosets / "network.gexf")],
                          capture_output=True, text=True, timeout=300, check=True)
    head, *items = [json.loads(line) for line in done.stdout.splitlines()]
    nodes = {i["node"]: i for i in items if "node" in i}
    edges = [i for i in items if "source" in i]
    want = Counter()
    for name in ("mentions", "retweets", "quotes", "replies"):
        for src, tgt, w, first, last in _rows(twosets / f"edges-{name}.csv"):
            want[name, src, tgt, float(w), first, last] += 1
    got = Counter((e["kind"], e["source"], e["target"], float(e["weight"]), e["first"],
                   e["last"]) for e in edges)
    assert got == want
    assert (head["type"], head["multi"]) == ("directed", True)
    assert head["size"] == len(edges) == sum(want.values())
    root = ET.parse(twosets / "network.gexf").getroot()
    assert head["order"] == len(nodes) == sum(1 for _ in root.iter(GEXF + "node"))
    loona = nodes["1019555262158524416"]
    assert (loona["label"], loona["posts"], loona["followers"], loona["platform"]) == (
        "1_3loona", 3, 373, "x")


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


def test_the_page_reads_each_edge_list_once_or_twice(twosets, twosets_summary,
                                                    monkeypatch):
    """Once for the degrees of every network's accounts, and again only for a drawn
    network's edges between its top accounts (its edges are never all held)."""
    from dnflow.platforms import PLATFORMS
    from dnflow.site import networks as page
    from dnflow.site.text import words

    reads: Counter = Counter()
    real = page._edges

    def counted(path):
        reads[path.name] += 1
        return real(path)

    monkeypatch.setattr(page, "_edges", counted)
    x = PLATFORMS["x"]
    shown = page.load_networks(twosets_summary, x, words(x))
    assert len(shown["drawings"]) == 2 and shown["tags"]
    assert reads == {"edges-mentions.csv": 2, "edges-retweets.csv": 2,
                     "edges-quotes.csv": 1, "edges-replies.csv": 1,
                     "edges-hashtags.csv": 1}


def test_the_page_reads_only_the_nodes_of_the_gexf(twosets, tmp_path):
    """The page's labels come from network.gexf's nodes, which come first: its edges
    (most of a big file: 330 MB at 1M posts) are not read, so a file cut inside them
    names every account as the whole file does."""
    from dnflow.site.networks import labels

    text = (twosets / "network.gexf").read_text(encoding="utf-8")
    cut = tmp_path / "network.gexf"
    cut.write_text(text[:text.index("<edges>") + len("<edges>")] + "\n<edge broken",
                   encoding="utf-8")
    accounts = {r[1] for r in _rows(twosets / "edges-retweets.csv")}
    accounts.add("1019555262158524416")
    want = labels(twosets / "network.gexf", accounts)
    assert want["1019555262158524416"] == "1_3loona" and len(want) >= 5
    assert labels(cut, accounts) == want


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
