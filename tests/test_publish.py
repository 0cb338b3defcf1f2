"""Publishing levels (dnflow.publish, issue 14): real corpus archives of X, Bluesky and
Mastodon posts built by `snakemake` at their default level (ids), at counts, and at
everything; every published file under site/ (pages, CSVs, JSON, the feed, the compare
page, the zips opened) is scanned for every post's text and for the handles of accounts
below the follower threshold."""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import re
import zipfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow import publish
from dnflow.config import ConfigError, validate
from dnflow.rows import splits_at_commas
from dnflow.sources import SOURCES

from .bskyutil import snakemake
from .conftest import V2
from .mastodonutil import MASTODON
from .site_helpers import CORPUS

BLUESKY = CORPUS / "bluesky" / "twitwi" / "bluesky-posts.json"
MIN_TEXT = 20
# at ids, an X account with this many followers keeps its handle (2sets.jsonl has
# authors on both sides of it)
THRESHOLD = 1000


def mastodon_archive(path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(orjson.loads(p.read_bytes())["body"]) + b"\n"
                              for p in sorted(MASTODON.glob("*.json"))))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("publish")
    sets = str(V2 / "2sets.jsonl")
    searches = {
        "x-ids": {"source": "archive", "files": sets, "public_figure_followers": THRESHOLD},
        "x-counts": {"source": "archive", "files": sets, "publish": "counts"},
        "x-all": {"source": "archive", "files": sets, "publish": "everything"},
        "sky-ids": {"source": "archive", "files": str(BLUESKY)},
        "fedi-ids": {"source": "archive",
                     "files": str(mastodon_archive(work / "fedi.jsonl"))},
        "demo": {"source": "demo", "tweets": 300, "seed": 5},
    }
    cfg = work / "searches.yaml"
    cfg.write_text(json.dumps({"searches": searches}))
    r = snakemake(work, cfg, {})
    assert r.returncode == 0, r.stderr[-4000:]
    return work


# ------------------------------------------------------------------ what must not appear


def private(work: Path, slug: str, name: str) -> list[dict[str, str]]:
    with open(work / "data" / slug / "summary" / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def post_texts(work: Path, slug: str) -> set[str]:
    """Every post text of the search ≥ MIN_TEXT characters: tweets.csv's (the records'),
    the reposted originals' and the cards' (quoted and reposted originals included)."""
    texts = {r["text"] for r in private(work, slug, "tweets.csv")}
    texts |= {r["text"] for r in private(work, slug, "retweets.csv")}
    cards = orjson.loads((work / "data" / slug / "summary" / "cards.json").read_bytes())
    for rec in cards["sample"] + cards["top_retweeted"]:
        texts.add(rec.get("text") or "")
    return {t.strip() for t in texts if len(t.strip()) >= MIN_TEXT}


def hidden_handles(work: Path, slug: str, threshold: int) -> set[str]:
    """Handles of accounts below ``threshold`` (or whose followers are unknown) among the
    authors, and every mentioned or reposted account not known to be above it."""
    public = set()
    handles = set()
    for r in private(work, slug, "users.csv"):
        n = r["followers"]
        if n and int(n) >= threshold:
            public.add(r["username"].casefold())
        else:
            handles.add(r["username"].casefold())
    for name in ("mentions.csv", "retweets.csv"):
        handles |= {r["username"].casefold() for r in private(work, slug, name)}
    return {h for h in handles - public if len(h) >= 4}


# typed columns, published at everything only (as tweets.csv, which the scan reads)
BINARY = (".parquet",)


def published(work: Path, slug: str) -> dict[str, str]:
    """Every file published for the search: its page and downloads, the zips' members,
    and the site-wide index, compare page and feed; name → text."""
    out: dict[str, str] = {}
    files = sorted((work / "site" / slug).rglob("*"))
    files += [work / "site" / n for n in ("index.html", "compare.html", "feed.xml")]
    for p in files:
        if not p.is_file():
            continue
        rel = str(p.relative_to(work / "site"))
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as z:
                for m in z.namelist():
                    if not m.endswith(BINARY):  # the bag's posts.parquet
                        data = z.read(m)  # the bag's raw archives are gzipped
                        data = gzip.decompress(data) if m.endswith(".gz") else data
                        out[f"{rel}!{m}"] = data.decode("utf-8")
        elif not p.name.endswith(BINARY):
            data = p.read_bytes()
            if p.name.endswith(".gz"):  # a raw archive (published at everything only)
                data = gzip.decompress(data)
            out[rel] = data.decode("utf-8")
    return out


def readings(text: str) -> list[str]:
    """A file's text as it may hold a post's: raw, unescaped, without markup (linked
    hashtags and URLs split a text), and as CSV cells (quotes doubled)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return [text, html.unescape(text), plain, text.replace('""', '"'),
            " ".join(" ".join(row) for row in csv.reader(io.StringIO(text)))]


def needle(text: str) -> str:
    """What of a text must not appear: its longest run between URLs (a URL alone is an
    aggregate: urls.csv counts it), at most 60 characters; "" if shorter than MIN_TEXT."""
    run = max(re.split(r"https?://\S+", text), key=lambda s: len(s.strip())).strip()
    return run[:60] if len(run) >= MIN_TEXT else ""


def texts_found(files: dict[str, str], texts: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    needles = {t: n for t in texts if (n := needle(t))}
    for name, content in files.items():
        views = readings(content)
        for t, n in needles.items():
            if any(n in v for v in views):
                found.setdefault(name, []).append(t)
    return found


_TOKEN = re.compile(r"[\w-]+(?:\.[\w-]+)*")


def handles_found(files: dict[str, str], handles: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, content in files.items():
        if name.endswith("hashtags.csv"):
            continue  # hashtags are topics, not accounts (#borisjohnson is not @borisjohnson)
        # nor are hashtags anywhere else: as written, and in links to the platform's page
        text = re.sub(r"#\w+|/(?:hashtag|tags)/\w+", "", html.unescape(content).casefold())
        tokens = set(_TOKEN.findall(text))
        hit = sorted(h for h in handles if h in tokens or h.partition("@")[0] in tokens
                     and "@" in h)
        if hit:
            found[name] = hit
    return found


def test_the_scan_finds_texts_and_handles_when_published(work):
    """The scanner itself: at everything, the same archive's texts and handles are there."""
    files = published(work, "x-all")
    texts = post_texts(work, "x-all")
    assert len(texts) > 100
    assert len([t for f in texts_found(files, texts).values() for t in f]) > 50
    assert handles_found(files, hidden_handles(work, "x-all", THRESHOLD))


@pytest.mark.parametrize("slug", ["x-ids", "sky-ids", "fedi-ids", "x-counts"])
def test_no_post_text_anywhere(work, slug):
    texts = post_texts(work, slug)
    assert len(texts) >= 4
    files = published(work, slug)
    assert any("!" in n for n in files), "the zip was opened"
    assert texts_found(files, texts) == {}


@pytest.mark.parametrize("slug,threshold", [("x-ids", THRESHOLD), ("sky-ids", 5000),
                                            ("fedi-ids", 5000), ("x-counts", 5000)])
def test_no_handle_of_a_small_account_anywhere(work, slug, threshold):
    handles = hidden_handles(work, slug, threshold)
    assert len(handles) >= 3
    assert handles_found(published(work, slug), handles) == {}


def test_counts_publishes_aggregates_only(work):
    site = work / "site" / "x-counts"
    names = sorted(p.name for p in (site / "downloads").iterdir()
                   if not p.name.startswith("."))
    # the bag holds what the page offers (dnflow.bag); hashtags used together are
    # aggregates, the account networks are not published at counts
    assert names == ["domains.csv", "edges-hashtags.csv", "hashtags.csv", "languages.csv",
                     "skipped.csv", "sources.csv", "summary.json", "timeline.csv",
                     "x-counts-bag.zip", "x-counts.zip"]
    page = (site / "index.html").read_text()
    ids = {r["id"] for r in private(work, "x-counts", "tweets.csv")}
    everything = "\n".join(published(work, "x-counts").values())
    assert not [i for i in ids if i in everything]
    assert 'class="tweet"' not in page and "Most active users" not in page
    assert "Published as counts" in page and 'id="hashtags"' in page


def test_ids_publishes_ids_and_pseudonymous_accounts(work):
    d = work / "site" / "x-ids" / "downloads"
    assert not (d / "tweets.csv").exists() and not (d / "raw").exists()
    assert not (d / "cards.json").exists()
    ids = private(work, "x-ids", "tweets.csv")
    assert (d / "tweet-ids.txt").read_text().split() == \
        (work / "data" / "x-ids" / "summary" / "tweet-ids.txt").read_text().split()
    with open(d / "users.csv", newline="") as f:
        users = {r["username"]: r for r in csv.DictReader(f)}
    assert "name" not in next(iter(users.values()))
    big = [r for r in private(work, "x-ids", "users.csv") if int(r["followers"]) >= THRESHOLD]
    small = [r for r in private(work, "x-ids", "users.csv") if int(r["followers"]) < THRESHOLD]
    assert big and small
    # public figures keep their handle, on the page too
    page = (work / "site" / "x-ids" / "index.html").read_text()
    assert all(r["username"] in users for r in big)
    assert f"@{big[0]['username']}" in page
    pseudonyms = [u for u in users if u.startswith(publish.PSEUDONYM_PREFIX)]
    assert len(pseudonyms) == len(small)
    # the same account has the same pseudonym in every file of the search
    secret = publish.project_secret(work / "data")
    assert {publish.pseudonym(secret, "x-ids", r["username"]) for r in small} == set(
        pseudonyms)
    with open(d / "mentions.csv", newline="") as f:
        mentioned = [r["username"] for r in csv.DictReader(f)]
    public = {r["username"].casefold() for r in big}
    want = [h if h.casefold() in public else publish.pseudonym(secret, "x-ids", h)
            for h in (r["username"] for r in private(work, "x-ids", "mentions.csv"))]
    assert mentioned == want and any(h.casefold() in public for h in mentioned)
    # cards are links to the post on X, without the handle of a small author
    hrefs = re.findall(r'href="(https://x\.com/[^"]+)"', page)
    assert any("/i/web/status/" in h for h in hrefs)
    assert "Text not published" in page
    assert "Published as ids: " in page and f"{len(small):,} accounts shown as" in page
    assert len(ids) == 200


def test_pseudonyms_stable_per_search_and_keyed_by_the_secret(tmp_path):
    a, b = b"k" * 32, b"j" * 32
    assert publish.pseudonym(a, "s", "Alice") == publish.pseudonym(a, "s", "@alice")
    assert publish.pseudonym(a, "s", "alice") != publish.pseudonym(a, "t", "alice")
    assert publish.pseudonym(a, "s", "alice") != publish.pseudonym(b, "s", "alice")
    assert publish.pseudonym(a, "s", "alice") != publish.pseudonym(a, "s", "alicf")
    secret = publish.project_secret(tmp_path)
    assert len(secret) == 32 and publish.project_secret(tmp_path) == secret
    assert oct((tmp_path / publish.SECRET_NAME).stat().st_mode & 0o777) == "0o600"


def test_the_secret_is_never_published(work):
    secret = (work / "data" / publish.SECRET_NAME).read_text().strip()
    for slug in ("x-ids", "sky-ids", "fedi-ids", "x-counts", "x-all", "demo"):
        assert not [n for n, t in published(work, slug).items() if secret in t]


def test_rerender_is_byte_identical(work):
    before = {p: p.read_bytes() for p in (work / "site").rglob("*") if p.is_file()}
    for p in (work / "site").rglob("index.html"):
        p.unlink()
    r = snakemake(work, work / "searches.yaml", {})
    assert r.returncode == 0, r.stderr[-4000:]
    after = {p: p.read_bytes() for p in (work / "site").rglob("*") if p.is_file()}
    assert after == before


def test_every_page_and_the_index_state_the_level(work):
    for slug, level in (("x-ids", "ids"), ("x-counts", "counts"), ("x-all", "everything"),
                        ("demo", "everything"), ("sky-ids", "ids")):
        page = (work / "site" / slug / "index.html").read_text()
        assert f"Published as {level}" in page
    index = (work / "site" / "index.html").read_text()
    assert index.count("Published as ids") == 3 and index.count("Published as counts") == 1
    assert "Published as ids" in (work / "site" / "feed.xml").read_text()


def test_everything_keeps_the_text_and_raw_data(work):
    d = work / "site" / "x-all" / "downloads"
    assert (d / "tweets.csv").exists() and any((d / "raw").iterdir())
    page = (work / "site" / "x-all" / "index.html").read_text()
    assert "Text not published" not in page


def test_defaults_are_declared_by_each_source():
    assert SOURCES["demo"].publish == "everything"
    for name in ("x", "bluesky", "mastodon", "archive"):
        assert SOURCES[name].publish == "ids"
    assert publish.settings({"source": "x"}) == {"level": "ids", "followers": 5000}
    assert publish.settings({"source": "demo", "public_figure_followers": 7}) == {
        "level": "everything", "followers": 7}


@pytest.mark.parametrize("key,value,message", [
    ("publish", "nothing", "search 'a', key 'publish': 'nothing' is not one of"),
    ("publish", True, "search 'a', key 'publish'"),
    ("public_figure_followers", -1, "search 'a', key 'public_figure_followers'"),
    ("public_figure_followers", "many", "search 'a', key 'public_figure_followers'"),
])
def test_bad_levels_get_one_line(key, value, message):
    with pytest.raises(ConfigError) as e:
        validate({"searches": {"a": {"source": "demo", "tweets": 5, key: value}}})
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_schema_levels_are_the_code_levels():
    from dnflow.config import load_schema

    search = load_schema()["$defs"]["search"]["properties"]
    assert tuple(search["publish"]["enum"]) == publish.LEVELS


def test_ids_that_spell_out_a_small_account_are_left_out(work):
    """A Mastodon status URI names its author (…/users/<name>/statuses/<id>): at ids it
    is left out of tweet-ids.txt, and the page says how many were."""
    mine = (work / "data" / "fedi-ids" / "summary" / "tweet-ids.txt").read_text().split()
    shown = (work / "site" / "fedi-ids" / "downloads" / "tweet-ids.txt").read_text().split()
    gone = [i for i in mine if i not in shown]
    assert gone and set(shown) < set(mine)
    small = {h.partition("@")[0] for h in hidden_handles(work, "fedi-ids", 5000)}
    assert all(any(f"/{h}/" in i.casefold() for h in small) for i in gone)
    page = (work / "site" / "fedi-ids" / "index.html").read_text()
    assert f"({len(gone)} left out: they name an account shown as" in html.unescape(page)


def test_published_copies_drop_words_pseudonymize_and_leave_out_what_names_a_small_account(
        tmp_path):
    from dnflow.counting import COUNTS

    pub = publish.Publisher("s", "ids", 5000, b"k" * 32, public={"bigcorp"},
                            hidden={"alice", "bob.bsky.social", "carol"})
    src = tmp_path / "urls.csv"
    src.write_text("url,count\r\nhttps://x.com/Alice/status/1,5\r\n"
                   "https://bsky.app/profile/bob.bsky.social/post/x,4\r\n"
                   "https://mastodon.social/@carol/11,3\r\nhttps://x.com/bigcorp,2\r\n"
                   "https://example.org/alice-in-wonderland,1\r\n")
    urls = COUNTS["urls"].outputs[0]
    assert publish.publish_file(src, tmp_path / "out" / "urls.csv", urls, pub) == 3
    assert (tmp_path / "out" / "urls.csv").read_text().splitlines() == [
        "url,count", "https://x.com/bigcorp,2", "https://example.org/alice-in-wonderland,1"]
    src = tmp_path / "retweets.csv"
    src.write_text('tweet_id,username,text,retweets\r\n1,Alice,"secret words, here",3\r\n'
                   "2,BigCorp,public words,2\r\n")
    rts = COUNTS["reposted"].outputs[0]
    assert publish.publish_file(src, tmp_path / "out" / "retweets.csv", rts, pub) == 0
    assert (tmp_path / "out" / "retweets.csv").read_text().splitlines() == [
        "tweet_id,username,retweets", f"1,{publish.pseudonym(pub.secret, 's', 'alice')},3",
        "2,BigCorp,2"]
    # at counts, a file naming accounts is not published at all; aggregates are
    pub.level = "counts"
    assert publish.publish_file(src, tmp_path / "c" / "retweets.csv", rts, pub) is None
    tags = COUNTS["hashtags"].outputs[0]
    (tmp_path / "hashtags.csv").write_text("hashtag,count\r\nalice,2\r\n")
    assert publish.publish_file(tmp_path / "hashtags.csv", tmp_path / "c" / "h.csv",
                                tags, pub) == 0
    assert not (tmp_path / "c" / "retweets.csv").exists()


def test_changing_the_level_rerenders_the_site_and_keeps_data(tmp_path):
    """`publish:` is the page job's param: changing it re-renders the search's page and
    downloads, and never re-summarizes (data/ keeps everything)."""
    cfg = tmp_path / "searches.yaml"
    search = {"source": "archive", "files": str(V2 / "2sets.jsonl"), "publish": "everything"}
    cfg.write_text(json.dumps({"searches": {"sets": search}}))
    assert snakemake(tmp_path, cfg, {}).returncode == 0
    summary = tmp_path / "data" / "sets" / "summary" / "summary.json"
    before = summary.stat().st_mtime_ns, summary.read_bytes()
    assert (tmp_path / "site" / "sets" / "downloads" / "tweets.csv").exists()
    cfg.write_text(json.dumps({"searches": {"sets": dict(search, publish="ids")}}))
    r = snakemake(tmp_path, cfg, {})
    assert r.returncode == 0, r.stderr[-4000:]
    assert (summary.stat().st_mtime_ns, summary.read_bytes()) == before
    assert not (tmp_path / "site" / "sets" / "downloads" / "tweets.csv").exists()
    assert "Published as ids" in (tmp_path / "site" / "sets" / "index.html").read_text()
    assert "Published as ids" in (tmp_path / "site" / "index.html").read_text()
    assert (tmp_path / "data" / "sets" / "summary" / "tweets.csv").exists()


def test_a_file_naming_accounts_is_never_published_at_counts_whatever_it_declares():
    from dnflow.counting import Output

    careless = Output("toy.csv", ("username", "count"), level="counts", accounts=("username",))
    aggregate = Output("toy-langs.csv", ("lang", "count"), level="counts")
    for level, shown in (("counts", False), ("ids", True), ("everything", True)):
        pub = publish.Publisher("s", level=level)
        assert pub.shows(careless) is shown, level
        assert pub.shows(aggregate)


# ---------------------------------------------------------------- the fast paths


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=20), st.binary(min_size=1, max_size=100))
def test_pseudonyms_of_many_accounts_are_the_reference_ones(handles, secret):
    """Publisher.account's keyed HMAC states and memo give pseudonym()'s ids."""
    many = publish.Pseudonyms(secret, "s")
    for h in [*handles, *handles]:  # the second time from the memo
        try:
            want = publish.pseudonym(secret, "s", h)
        except UnicodeEncodeError:  # a lone surrogate: no handle of any platform
            continue
        assert many(h) == want


def _reference_copy(src: Path, output, pub) -> tuple[str, int]:
    """A published copy by the csv module alone (what publish_file did before its
    plain path)."""
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, left = rows[0], 0
    keep = [i for i, h in enumerate(header) if h not in output.texts]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([header[i] for i in keep])
    for row in rows[1:]:
        if any(i < len(row) and pub.names_hidden(row[i]) for i, h in enumerate(header)
               if h in output.scan):
            left += 1
            continue
        row = [publish.pseudonym(pub.secret, pub.slug, v) if header[i] in output.accounts
               and v and not pub.is_public(v) else v for i, v in enumerate(row)]
        w.writerow([row[i] if i < len(row) else "" for i in keep])
    return out.getvalue(), left


_FIELD = st.sampled_from(["alice", "Bob", "bigcorp", "carol.bsky.social", "", "12",
                          "https://x.com/alice/status/1", "https://example.org/a-b",
                          "é ü", "🌱", "x y"])
_ODD = st.sampled_from(['say "hi"', "a,b", "two\nlines", "cr\ronly", "nul\0"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_FIELD, min_size=3, max_size=5),
                max_size=30),
       st.lists(st.tuples(st.integers(0, 30), st.integers(0, 4), _ODD), max_size=2))
def test_published_csv_copies_are_the_csv_modules_bytes(tmp_path_factory, rows, odd):
    """A CSV without quotes is copied by splitting lines at commas (users.csv of a big
    search); with one (or a line break, a NUL) by the csv module: the same bytes as the
    csv module alone, left-out count included."""
    from dnflow.counting import COUNTS

    for r, c, v in odd:
        if r < len(rows):
            rows[r][min(c, len(rows[r]) - 1)] = v
    d = tmp_path_factory.mktemp("plain")
    pub = publish.Publisher("s", "ids", 5000, b"k" * 32, public={"bigcorp"},
                            hidden={"alice", "carol.bsky.social", "12"})
    for output in (COUNTS["reposted"].outputs[0], COUNTS["urls"].outputs[0],
                   COUNTS["media"].outputs[0]):
        header = list(output.header)
        src = d / output.name
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *(r[:len(header)] for r in rows)])
        written = [v for r in rows for v in r[:len(header)]]
        plain = not any(c in v for v in written for c in ',"\r\n\0')
        assert splits_at_commas(src) == plain
        left = publish.publish_file(src, d / "out" / output.name, output, pub)
        want, want_left = _reference_copy(src, output, pub)
        assert (d / "out" / output.name).read_bytes().decode() == want
        assert left == want_left


@pytest.mark.parametrize("text", [
    "a,b\r\n", "a,b\r\nc,d\r\n", "a,b", "a,b\n", "a,b\r\n\r\n", "\r\na,b\r\n",
    "a,b\r\nc\rd,e\r\n", 'a,"b"\r\n', "a,b\0\r\n", ""])
def test_plain_csv_is_only_what_splitting_reads_as_the_csv_module_does(tmp_path, text):
    src = tmp_path / "f.csv"
    src.write_bytes(text.encode())
    if splits_at_commas(src):
        with open(src, newline="", encoding="utf-8") as f:
            assert [line[:-2].split(",") for line in f] == list(csv.reader(
                io.StringIO(text, newline="")))
    else:
        assert text not in ("a,b\r\n", "a,b\r\nc,d\r\n", "")


def test_ids_of_digits_are_copied_at_once_unless_a_hidden_handle_is_digits(tmp_path):
    ids = [str(2119218257267059359 - 7 * i) for i in range(100_000)]
    src = tmp_path / "tweet-ids.txt"
    src.write_text("\n".join(ids) + "\n")
    from dnflow.outputs import IDS

    pub = publish.Publisher("s", "ids", 5000, b"k" * 32, hidden={"alice"})
    assert publish.publish_file(src, tmp_path / "a.txt", IDS, pub) == 0
    assert (tmp_path / "a.txt").read_bytes() == src.read_bytes()
    # a hidden handle of digits alone that is one of the ids: that line is left out
    pub.hidden.add(ids[54_321])
    assert publish.publish_file(src, tmp_path / "b.txt", IDS, pub) == 1
    assert (tmp_path / "b.txt").read_text().split() == ids[:54_321] + ids[54_322:]
    # a line that is not digits alone (a Mastodon status URI) is scanned
    src.write_text("\n".join(ids[:10]) + "\nhttps://m.example/users/alice/statuses/1\n")
    pub.hidden.discard(ids[54_321])
    assert publish.publish_file(src, tmp_path / "c.txt", IDS, pub) == 1
    assert (tmp_path / "c.txt").read_text().split() == ids[:10]
