"""Every recorded Bluesky payload of the corpus is read and counted right.

The expectations of single posts were worked out by hand from the JSON (the facets'
byte ranges sliced by hand, the embeds read one by one): the tests do not ask the code
what it thinks.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pytest

from dnflow import formats
from dnflow.formats.bluesky import facets_of, iso_time, normalize_item
from dnflow.platforms import PLATFORMS
from dnflow.record import problem
from dnflow.sources import gaps_of, platform_of
from dnflow.summary import summarize

from .conftest import CORPUS

BSKY = CORPUS / "bluesky"
TWITWI = BSKY / "twitwi" / "bluesky-posts.json"


def body(name: str) -> dict:
    """The JSON answer of a decoded cassette (its request and headers stripped)."""
    return json.loads((BSKY / "decoded" / f"{name}.0.json").read_text())["body"]


def by_uri() -> dict[str, dict]:
    items = json.loads(TWITWI.read_text())
    return {(it.get("post") or it)["uri"] if "reason" not in it else "repost-of:"
            + it["post"]["uri"]: it for it in items}


@pytest.fixture(scope="module")
def twitwi() -> dict[str, dict]:
    return by_uri()


def rec(twitwi, uri):
    return normalize_item(twitwi["at://" + uri])


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------ single posts, by hand


def test_mention_after_emoji_is_sliced_by_bytes(twitwi):
    # "📢📢‼️Appel…": 4-byte emoji first, accents throughout; the facet says bytes 286-312
    item = twitwi["at://did:plc:f22sjd5bmoyykou3335tpznf/app.bsky.feed.post/3lkkbdz7uxs2s"]
    text = item["record"]["text"]
    assert text[286:312] != "@fsu-nationale.bsky.social"  # characters would slice wrong
    r = normalize_item(item)
    assert r.mentions == ["fsu-nationale.bsky.social"]
    assert r.hashtags == ["HCERES"]
    assert r.links == []
    assert [m["type"] for m in r.media] == ["photo"]
    assert r.media[0]["key"] == "bafkreiawayzoiv24csqw2ip7bd7h5kngho53b4pcofzluz5crsmi67awse"
    assert r.media[0]["alt_text"] is None  # the image has alt "": none given
    assert r.kind == "original" and r.lang == "fr" and r.created_at == "2025-03-17T04:00:25Z"
    assert r.id == r.uri == item["uri"]
    assert r.url == ("https://bsky.app/profile/did:plc:f22sjd5bmoyykou3335tpznf/post/"
                     "3lkkbdz7uxs2s")


def test_mention_whose_span_lacks_the_at_sign(twitwi):
    # bytes 116-134 hold "edzard.bsky.social" (the app counted one byte late)
    r = rec(twitwi, "did:plc:ysc73isz7jkgr4ozyn6azo77/app.bsky.feed.post/3lovyad4nt324")
    assert r.mentions == ["edzard.bsky.social"]
    assert r.hashtags == ["HistSci"]
    assert r.links == [{"url": "http://bit.ly/3Sp7SeY", "domain": "bit.ly",
                        "short": "bit.ly/3Sp7SeY"}]
    assert r.media[0]["alt_text"].startswith("Hitler’s Female Physicians")


def test_mention_with_miscounted_or_broken_bytes_falls_back_to_the_did(twitwi):
    # bytes 270-286 hold "eur David @chava": no handle there
    r = rec(twitwi, "did:plc:45uofmby4qbt44jnwbr36rsv/app.bsky.feed.post/3lpmqkkkgp52u")
    assert r.mentions == ["did:plc:eeoax6omxd6o6guae7tomwlp"]
    # bytes 81-91 end inside the 🚀 (4 bytes): not text of this post
    r = rec(twitwi, "did:plc:4yzzyoh3mxox2otqvljhdckt/app.bsky.feed.post/3llkxuudzx42x")
    assert r.mentions == ["did:plc:4yzzyoh3mxox2otqvljhdckt"]
    assert [u["url"] for u in r.links] == ["https://falifuentes.com",
                                           "https://medium.com/@falitroke"]
    assert all("short" not in u for u in r.links)  # "n @fal" is not the link's text
    assert r.lang == "en-US"


def test_short_link_text_and_external_card(twitwi):
    r = rec(twitwi, "did:plc:gf474l4mkf7icwpvesuejesr/app.bsky.feed.post/3lkdnb2gtzk2c")
    assert r.mentions == ["laviedesidees.bsky.social"]
    # the facet's link and the external card's are one URL, counted once
    assert r.links == [{"url": "https://laviedesidees.fr/L-HCERES-et-l-evaluation-des-"
                               "universites", "domain": "laviedesidees.fr",
                        "short": "laviedesidees.fr/L-HCERES-et-..."}]


def test_eight_tags_and_a_link_given_three_times(twitwi):
    r = rec(twitwi, "did:plc:5ytc5ldidxrzmot6wzozemqh/app.bsky.feed.post/3lygb2bm64s2j")
    assert r.hashtags == ["ai", "chart", "chatgpt", "code", "gpt-5", "python",
                          "simmonwillison", "use-case"]
    # a #link facet, an odd #linkcard feature of the same facet and an external embed
    assert [u["url"] for u in r.links] == [
        "https://simonwillison.net/2025/Sep/9/apollo-ai-adoption/"]
    assert r.links[0]["domain"] == "simonwillison.net"


def test_tags_with_spaces_a_client_left_in(twitwi):
    r = rec(twitwi, "did:plc:j4u6allfcs5qbftl5noneszm/app.bsky.feed.post/3lzeosamev32n")
    assert r.hashtags == ["sinradiopodcast", "sinradio"]
    assert r.mentions == ["sexoyloquesurja.bsky.social"]  # span " @sexoyloquesurja…"


@pytest.mark.parametrize("uri", [
    "did:plc:k3segytdbiyvbaimnsskqnf3/app.bsky.feed.post/3lj6nhm2gsn23",  # FACETTAG
    "did:plc:jrodn6nnfuwzm2zxbxbpzgot/app.bsky.feed.post/3lhwag3mzoo2k",  # #hashtag
    "did:plc:gaglpl5oyjewjnbmcd3uliy7/app.bsky.feed.post/3l2wixjhtom23",  # #Tag
    "did:plc:u5d54hkw4ysuqtuvcj6cmsin/app.bsky.feed.post/3lqotmopayr23",  # #bold
    "did:plc:iesdrkibjhxmpgywy7vuxfuz/app.bsky.feed.post/3lpoug3ljdw27",  # poll facets
])
def test_odd_facet_types_are_ignored_not_fatal(twitwi, uri):
    r = rec(twitwi, uri)
    assert problem(r) is None
    assert r.hashtags == []  # "#Tag", "#hashtag", "FACETTAG" are not app.bsky.richtext #tag


def test_record_tags_count_as_hashtags(twitwi):
    assert rec(twitwi, "did:plc:k6acu4chiwkixvdedcmdgmal/app.bsky.feed.post/3lagdncjsu22y"
               ).hashtags == ["tag1", "tag2"]
    assert rec(twitwi, "did:plc:7rs7ivzymgqcy4rto6utny6w/app.bsky.feed.post/3li6d5cduibg2"
               ).hashtags == ["Vídeo da TV"]


def test_quote_with_media_mention_tag_and_link(twitwi):
    r = rec(twitwi, "did:plc:hbbrkyeqnurr25zqve3a5udb/app.bsky.feed.post/3llon4g5lks2h")
    assert r.kind == "quote"
    assert r.quote_of == "at://did:plc:hbbrkyeqnurr25zqve3a5udb/app.bsky.feed.post/3ljfbxhh7ok2b"
    assert r.mentions == ["yomguithereal.bsky.social"]
    assert r.hashtags == ["NonSenseAPIexploration"]
    assert [u["url"] for u in r.links] == ["https://geocities.restorativland.org/Yosemite/1140/"]
    assert [m["type"] for m in r.media] == ["video"]
    assert r.media[0]["url"].endswith("playlist.m3u8")


def test_quotes_of_lists_and_feeds_are_not_quotes(twitwi):
    items = json.loads(TWITWI.read_text())
    for it in items:
        embed = ((it.get("post") or it)["record"].get("embed") or {})
        if embed.get("$type") == "app.bsky.embed.record":
            uri = embed["record"]["uri"]
            r = normalize_item(it)
            assert (r.quote_of == uri) == ("/app.bsky.feed.post/" in uri), uri


def test_feed_reposts_are_reposts_of_their_post(twitwi):
    reposts = [normalize_item(it) for k, it in twitwi.items() if k.startswith("repost-of:")]
    assert len(reposts) == 2
    for r in reposts:
        assert r.kind == "repost" and r.author.handle == "yomguithereal.bsky.social"
        assert r.reposted is not None and r.reposted.id == r.repost_of
        assert r.id == f"repost:did:plc:5klvtukw5fucxsrkjldhrjxs:{r.repost_of}"
        assert problem(r) is None
    originals = {r.repost_of: r for r in reposts}
    korben = originals["at://did:plc:aru6i7k6wo43msubk6km5td3/app.bsky.feed.post/3lloj4ipqqh27"]
    assert korben.created_at == "2025-04-02T17:00:19Z"  # the repost's time: reason.indexedAt
    assert korben.reposted.author.handle == "korben.info"


def test_times(twitwi):
    # an offset is turned into UTC; a year-0 createdAt (and indexedAt) is no time
    assert rec(twitwi, "did:plc:crlarl7r5ynd2jabu6xbhapd/app.bsky.feed.post/3lcxmdmghfu2i"
               ).created_at == "2024-12-10T16:00:06Z"
    assert rec(twitwi, "did:plc:jhzoul6h437y2g5xsnsr2qr5/app.bsky.feed.post/3kbpuogc6fz2o"
               ).created_at is None
    assert iso_time("2025-05-19T17:10:09.561858Z") == "2025-05-19T17:10:09Z"
    assert iso_time("2025-05-02T13:08:32-04:00") == "2025-05-02T17:08:32Z"
    assert iso_time("2025-13-40T00:00:00Z") is None and iso_time(12) is None


def test_facet_bytes_with_non_latin_text():
    text = "東京で #気候 のデモ、@yuki.bsky.social と https://例え.jp/パス"
    raw = text.encode()

    def span(part: str) -> dict:
        i = raw.index(part.encode())
        return {"byteStart": i, "byteEnd": i + len(part.encode())}

    facets = [
        {"index": span("#気候"), "features": [{"$type": "app.bsky.richtext.facet#tag",
                                               "tag": "気候"}]},
        {"index": span("@yuki.bsky.social"),
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:x"}]},
        {"index": span("https://例え.jp/パス"),
         "features": [{"$type": "app.bsky.richtext.facet#link",
                       "uri": "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"}]},
        {"index": {"byteStart": 3, "byteEnd": 5},  # inside 京: not text of this post
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:y"}]},
    ]
    tags, mentions, links = facets_of(text, facets, None)
    assert tags == ["気候"]
    assert mentions == ["yuki.bsky.social", "did:plc:y"]
    assert links == [{"url": "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9",
                      "domain": "xn--r8jz45g.jp"}]


# ------------------------------------------------------------ whole answers


def test_twitwi_list_counted(tmp_path):
    s = summarize([TWITWI], tmp_path, {"slug": "t", "source": "archive"})
    # 123 items, 4 of them a post already in the list (the same at-URI): 119 posts
    assert s["sources"][0]["tweets"] == 123 and s["sources"][0]["new"] == 119
    assert s["posts"] == s["tweets"] == 119
    assert s["retweets"] == 2 and s["quotes"] == 21 and s["replies"] == 17
    assert s["originals"] == 119 - 2 - 21 - 16  # one of the 17 replies is a quote
    assert s["skipped"] == 0
    assert s["sources"][0]["formats"] == ["bsky-list"]
    assert platform_of(s).name == "bluesky"
    assert set(gaps_of(s)) == {"followers"}  # feed items hold reposts
    ids = (tmp_path / "tweet-ids.txt").read_text().split()
    assert len(ids) == len(set(ids)) == 119 and all(i.startswith(("at://", "repost:"))
                                                    for i in ids)
    hashtags = {r["hashtag"]: int(r["count"]) for r in read_csv(tmp_path / "hashtags.csv")}
    assert hashtags["hceres"] >= 2 and "abbey" not in hashtags and "paris" not in hashtags
    users = read_csv(tmp_path / "users.csv")
    assert users and all(u["followers"] == "" for u in users)  # none given, never 0
    reposted = read_csv(tmp_path / "retweets.csv")
    assert {r["tweet_id"] for r in reposted} == {
        "at://did:plc:aru6i7k6wo43msubk6km5td3/app.bsky.feed.post/3lloj4ipqqh27",
        "at://did:plc:oklkinuievllgvhrv2nia4gu/app.bsky.feed.post/3llorpeiynx26"}


def test_search_page_counted(tmp_path):
    page = body("f_search")
    path = tmp_path / "search.jsonl"
    path.write_bytes(orjson.dumps(page) + b"\n")
    s = summarize([path], tmp_path / "out", {"slug": "t", "source": "archive"})
    uris = {p["uri"] for p in page["posts"]}
    assert s["posts"] == len(uris) and s["retweets"] == 0
    assert s["replies"] == sum(1 for p in page["posts"] if p["record"].get("reply"))
    assert s["sources"][0]["formats"] == ["bsky-search"]
    assert set(gaps_of(s)) == {"reposts", "followers"}
    records = {r.id: r for r in formats.records(page)}
    bot = records["at://did:plc:kkergqgbhb56ptpwj2wenkje/app.bsky.feed.post/3lpk2u6qo222m"]
    # "#sociology" is in its text with no #tag facet: Bluesky does not treat it as a tag
    assert "#sociology" in bot.text and bot.hashtags == []
    assert bot.links == [{"url": "https://osf.io/v87fn", "domain": "osf.io"}]
    tagged = [r for r in records.values() if r.hashtags]
    assert [r.hashtags for r in tagged] == [["txlege"]]
    assert tagged[0].author.handle == "mcpli.bsky.social"
    domains = {r["domain"]: int(r["count"]) for r in read_csv(tmp_path / "out/domains.csv")}
    assert domains["drive.google.com"] == 3


def test_get_quotes_and_threads(tmp_path):
    quotes = list(formats.records(body("f_getquotes")))
    assert [r.kind for r in quotes] == ["quote", "quote"]
    assert all(r.quote_of == "at://did:plc:5c2r73erhng4bszmxlfdtscf/app.bsky.feed.post/"
               "3lc5c5qv72r2w" for r in quotes)
    thread = formats.split(body("f_postthread"))
    assert thread.format == "bsky-thread" and len(thread.raws) == 1
    media = json.loads((BSKY / "atproto" / "thread_view_post_with_embed_media.json").read_text())
    (r,) = formats.records(media)
    assert r.kind == "quote" and [m["type"] for m in r.media] == ["photo"]
    assert r.quote_of == ("at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/"
                          "3kahesw26il2z")
    assert r.media[0]["url"].startswith("https://cdn.bsky.app/img/feed_fullsize/plain/")


def test_single_post_views_and_jetstream_events(tmp_path, twitwi):
    """One post view per line, and Jetstream events: the corpus's records in the
    envelope Jetstream sends them in (a post and a repost, and events that are not
    posts: a like, an identity event, a deletion)."""
    item = twitwi["at://did:plc:f22sjd5bmoyykou3335tpznf/app.bsky.feed.post/3lkkbdz7uxs2s"]
    did, _, rkey = item["uri"][5:].split("/")
    post = {"did": did, "time_us": 1742184025000000, "kind": "commit",
            "commit": {"rev": "3lkkbe", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": rkey,
                       "record": item["record"], "cid": item["cid"]}}
    repost = {"did": "did:plc:5klvtukw5fucxsrkjldhrjxs", "time_us": 1742184100000000,
              "kind": "commit", "commit": {
                  "operation": "create", "collection": "app.bsky.feed.repost",
                  "rkey": "3lkkbf", "record": {"$type": "app.bsky.feed.repost",
                                               "subject": {"uri": item["uri"],
                                                           "cid": item["cid"]},
                                               "createdAt": "2025-03-17T04:01:40.000Z"}}}
    like = dict(repost, commit=dict(repost["commit"], collection="app.bsky.feed.like"))
    delete = dict(post, commit={"operation": "delete", "collection": "app.bsky.feed.post",
                                "rkey": rkey})
    identity = {"did": did, "time_us": 1742184200000000, "kind": "identity",
                "identity": {"did": did, "handle": "snesupfsu.bsky.social"}}
    path = tmp_path / "jetstream.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n"
                              for e in (post, repost, like, delete, identity)))
    views = tmp_path / "views.jsonl"
    views.write_bytes(orjson.dumps(item) + b"\n")
    s = summarize([path, views], tmp_path / "out", {"slug": "j", "source": "archive"})
    assert s["posts"] == 2 and s["retweets"] == 1 and s["skipped"] == 3
    # the post view is the Jetstream post again (same at-URI): counted once
    assert [x["new"] for x in s["sources"]] == [2, 0]
    assert s["sources"][1]["formats"] == ["bsky-post"]
    reasons = [r["reason"] for r in read_csv(tmp_path / "out/skipped.csv")]
    assert reasons == ["a Jetstream create of app.bsky.feed.like, not a new post or repost",
                       "a Jetstream delete of app.bsky.feed.post, not a new post or repost",
                       "a Jetstream identity event, not a post"]
    (p,) = [r for r in formats.records(post)]
    assert p.mentions == ["fsu-nationale.bsky.social"] and p.hashtags == ["HCERES"]
    assert p.author.id == did and p.metrics == {}
    assert p.media[0]["url"].startswith(f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/")
    # Jetstream lacks counts, post views reposts: only what every file lacks is a gap
    assert set(gaps_of(s)) == {"followers"}


def test_bluesky_platform_urls():
    b = PLATFORMS["bluesky"]
    did = "did:plc:kkergqgbhb56ptpwj2wenkje"
    assert b.post_url(None, f"at://{did}/app.bsky.feed.post/3lk") == \
        f"https://bsky.app/profile/{did}/post/3lk"
    assert b.post_url(None, "at://alice.bsky.social/app.bsky.feed.post/3lk") == \
        "https://bsky.app/profile/alice.bsky.social/post/3lk"
    assert b.post_url("x", f"repost:{did}:at://{did}/app.bsky.feed.post/3l") is None
    assert b.post_url("x", f"at://{did}/app.bsky.feed.post/3lk\"><script>") is None
    assert b.post_url("x", "at://did:plc:short/app.bsky.feed.post/3lk") is None
    assert b.profile_url("alice.bsky.social") == "https://bsky.app/profile/alice.bsky.social"
    assert b.profile_url("not a handle") is None
    assert b.hashtag_url("#Vídeo da TV") == "https://bsky.app/hashtag/V%C3%ADdeo%20da%20TV"
    assert b.words["reposts"] == "reposts"


def test_a_card_links_what_the_post_shows(twitwi):
    """On a page, a Bluesky post's short link text links to the full URL, its mentions
    to bsky.app profiles (handles with dots), its tags to bsky.app's hashtag page."""
    from dnflow.rows import card
    from dnflow.site import data as sd

    r = rec(twitwi, "did:plc:gf474l4mkf7icwpvesuejesr/app.bsky.feed.post/3lkdnb2gtzk2c")
    c = sd.card(orjson.loads(orjson.dumps(card(r))), PLATFORMS["bluesky"])
    html = str(c["html"])
    assert ('<a class="url" href="https://laviedesidees.fr/L-HCERES-et-l-evaluation-des-'
            'universites" rel="nofollow noopener">laviedesidees.fr/L-HCERES-et-...</a>') in html
    assert ('<a class="mention" href="https://bsky.app/profile/laviedesidees.bsky.social" '
            'rel="nofollow noopener">@laviedesidees.bsky.social</a>') in html
    assert c["href"] == ("https://bsky.app/profile/did:plc:gf474l4mkf7icwpvesuejesr/post/"
                         "3lkdnb2gtzk2c")
    assert c["user_href"] == "https://bsky.app/profile/bricabraque.bsky.social"
    tagged = rec(twitwi, "did:plc:f22sjd5bmoyykou3335tpznf/app.bsky.feed.post/3lkkbdz7uxs2s")
    html = str(sd.card(orjson.loads(orjson.dumps(card(tagged))), PLATFORMS["bluesky"])["html"])
    assert 'href="https://bsky.app/hashtag/HCERES"' in html


WRONG = [1, -5, 1.5, True, None, "", "x" * 5000, [], [1, 2], {}, {"a": {"b": [None]}},
         [[[[[[[[]]]]]]]], {"$type": "app.bsky.richtext.facet#mention"},
         {"byteStart": 10**9, "byteEnd": -1}]


def _mutate_deep(value, rng, depth=0):
    """Put a value of the wrong type somewhere in a post, down to any depth (facets,
    their index, embeds, the author, the reason)."""
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        if depth < 6 and isinstance(value[key], dict | list) and rng.random() < 0.7:
            return _mutate_deep(value[key], rng, depth + 1)
        value[key] = json.loads(json.dumps(rng.choice(WRONG)))  # a copy: no cycles
    elif isinstance(value, list) and value:
        i = rng.randrange(len(value))
        if depth < 6 and isinstance(value[i], dict | list) and rng.random() < 0.7:
            return _mutate_deep(value[i], rng, depth + 1)
        value[i] = json.loads(json.dumps(rng.choice(WRONG)))


def test_mutated_bluesky_posts_never_fail_a_search(tmp_path):
    """Mutated copies of the corpus's posts, beside the real ones: the search is counted,
    a post that cannot be read is skipped with its line and reason, every real post is
    counted."""
    import random

    rng = random.Random(11)
    items = json.loads(TWITWI.read_text())
    lines = []
    for i in range(200):
        batch = json.loads(json.dumps(rng.sample(items, 5)))
        for j, it in enumerate(batch):
            for view in {id(v): v for v in (it, it.get("post") or it)}.values():
                if "uri" in view:  # (some feed items repeat their post's uri)
                    view["uri"] = view["uri"].rsplit("/", 1)[0] + f"/mut{i}x{j}"
            for _ in range(rng.randrange(1, 4)):
                _mutate_deep(it, rng)
        lines.append(orjson.dumps(batch))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    s = summarize([bad, TWITWI], tmp_path / "out", {"slug": "t", "source": "archive"},
                  workers=1)
    assert s["status"] == "ok"
    mutated, real = s["sources"]
    assert real["new"] == 119  # every real post, none taken for a mutated one
    assert mutated["new"] > 600 and mutated["new"] + mutated["skipped"] <= 1000
    for skip in s["skipped_sample"]:
        assert skip["file"].endswith("bad.jsonl") and 1 <= skip["line"] <= 200
        assert skip["reason"]
    ids = (tmp_path / "out" / "tweet-ids.txt").read_text().split()
    assert len(ids) == len(set(ids)) == s["posts"]


def test_error_answers_are_explained_by_their_own_platform():
    from dnflow.formats import FORMATS

    bsky = [f for f in FORMATS if f.platform == "bluesky" and not f.explains_all]
    said = {f.explain({"error": "InvalidRequest", "message": "Bad cursor"}) for f in bsky}
    assert "an XRPC error answer: InvalidRequest" in said
    # Mastodon's error answers have no message: not Bluesky's to explain
    assert not any(f.explain({"error": "Record not found"}) for f in bsky)


def test_an_archive_of_x_and_bluesky_files_speaks_of_posts_and_links_only_known_urls(
        tmp_path):
    from dnflow.site.render import build_page

    x_file = CORPUS / "twarc-csv" / "test-data" / "2sets.jsonl"
    s = summarize([x_file, TWITWI], tmp_path / "summary", {"slug": "m", "source": "archive"})
    assert {f for src in s["sources"] for f in src["formats"]} >= {"bsky-list"}
    platform = platform_of(s)
    assert platform.name == "mixed" and platform.words["posts"] == "posts"
    build_page(tmp_path / "summary", tmp_path / "site" / "index.html",
               tmp_path / "site" / "downloads", "m",
               publish={"level": "everything", "followers": 5000})
    page = (tmp_path / "site" / "index.html").read_text()
    import re

    words = re.sub(r"<[^>]*>", " ", page).lower()  # what a reader sees (file names aside)
    words = re.sub(r"\S*\.(csv|txt|json|zip)\b", " ", words)
    assert "tweet" not in words and "posts" in words
    # a Bluesky post or account is never linked as an X one (nor the other way round):
    # no link is made from a handle or id of an unknown platform
    assert "x.com/" not in page and "twitter.com/" not in page
    assert "bsky.app/profile/" not in page
    assert page.count('class="tweet"') >= 10  # the cards are there, unlinked
