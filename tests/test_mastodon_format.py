"""Mastodon statuses → records (dnflow.formats.mastodon): every real recorded payload of
the corpus, with what a few posts must give worked out by hand; HTML turned into text
(never markup); opt-outs; detection of each shape an archive may hold."""

from __future__ import annotations

import json
import re

import msgspec
import orjson
import pytest

from dnflow import optouts
from dnflow.formats import FORMATS, records, split
from dnflow.formats.mastodon_html import html_text, parse
from dnflow.generate_mastodon import iter_statuses
from dnflow.summary import summarize

from .mastodonutil import MASTODON, corpus_body


@pytest.fixture(autouse=True)
def default_policy():
    optouts.set_policy({})
    yield
    optouts.set_policy({})


def by_id(body) -> dict:
    return {r.id: r for r in records(body)}


def test_hashtag_timeline_answer_by_hand():
    """mastodon.social's anonymous #rstats page: 5 statuses, 3 of accounts that did not
    opt in to search (indexable: false) and so withheld, 2 published."""
    body = corpus_body("get_timeline_hashtag_anonymous.0.json")
    b = split(body)
    assert b.format == "mastodon-page" and len(b.raws) == 5 and b.left_out == ()
    recs = list(records(body))
    assert [r.kind for r in recs] == ["original"] * 5
    withheld = [r for r in recs if r.author.indexable is False]
    assert len(withheld) == 3  # simonpcouch, useR_conf, donnagen
    shown = {r.id: r for r in recs if r.author.indexable is not False}

    zk = shown["114869598531117045"]  # zkamvar@hachyderm.io
    assert zk.author.handle == "zkamvar@hachyderm.io"
    assert zk.hashtags == ["AWS", "Rstats"]  # as the text writes them ("aws", "rstats")
    assert zk.mentions == ["snystrom@genomic.social"]
    # the pull request, once: the text's anchor and the preview card name the same URL
    assert zk.links == [{"url": "https://github.com/cloudyr/aws.s3/pull/438",
                         "domain": "github.com"}]
    assert zk.text == (
        "Fun thing that @snystrom and I found today for those using #AWS in #Rstats (and "
        "also other languages)\n\nThe Owner API endpoint changed and if you were using a "
        "working fork of aws.s3, the fix for that is in "
        "https://github.com/cloudyr/aws.s3/pull/438")
    assert zk.url == "https://hachyderm.io/@zkamvar/114869598497920330"
    assert zk.uri == "https://hachyderm.io/users/zkamvar/statuses/114869598497920330"
    assert zk.created_at == "2025-07-17T16:49:33Z" and zk.lang == "en"
    assert zk.metrics == {"retweet_count": 2, "reply_count": 0, "like_count": 0}

    bridged = shown["114869144089828147"]  # a Bluesky post bridged by Bridgy Fed
    assert bridged.author.handle == "pp0196.bsky.social@bsky.brid.gy"
    # its hashtag anchors point at bsky.app search: hashtags, not links
    assert bridged.hashtags == ["rstats", "FunctionalProgramming"]
    assert bridged.mentions == []
    assert bridged.links == [{"url": "https://github.com/mailund/tailr", "domain": "github.com"}]
    assert bridged.text == ("#rstats #FunctionalProgramming\n\ngithub.com/mailund/tailr\n\n"
                            "GitHub - mailund/tailr: Automa...")


def test_withheld_posts_keep_their_aggregates_and_nothing_that_shows_who():
    body = corpus_body("get_timeline_hashtag_anonymous.0.json")
    raw = body[1]  # useR_conf, indexable: false
    rec = next(r for r in records(body) if r.uri is None and "useR2025" in r.hashtags)
    assert rec.hashtags == ["useR2025", "RStats"]
    assert rec.links == [{"url": "https://user2025.r-project.org/register",
                          "domain": "user2025.r-project.org"}]
    assert rec.client == "Web" and rec.lang == "en" and rec.created_at == "2025-07-17T16:57:57Z"
    assert [m["type"] for m in rec.media] == ["photo"]
    # nothing of who or what: no text, handle, name, URLs, alt text; ids are hidden keys
    assert rec.text == "" and rec.url is None and rec.uri is None
    a = rec.author
    assert (a.handle, a.name, a.url, a.avatar, a.followers) == (None, None, None, None, None)
    assert a.indexable is False and a.id.startswith("withheld-")
    assert rec.id == optouts.hidden_key(raw["uri"]) and rec.media[0]["alt_text"] is None
    dumped = msgspec.json.encode(rec).decode()
    for secret in ("useR_conf", "Duke", "conference", raw["uri"], raw["id"]):
        assert secret not in dumped


def test_include_opted_out_publishes_everything():
    optouts.set_policy({"include_opted_out": True})
    body = corpus_body("get_timeline_hashtag_anonymous.0.json")
    recs = {r.id: r for r in records(body)}
    simon = recs["114870142396314555"]
    assert simon.author.handle == "simonpcouch@rstats.me" and simon.author.indexable is False
    assert simon.text.startswith("After a month or so of not using Claude Code")
    assert simon.hashtags == ["rstats"]
    assert simon.links == [{"url": "https://www.simonpcouch.com/blog/2025-07-17-claude-code-2/",
                            "domain": "simonpcouch.com"}]
    assert simon.media[0]["alt_text"].startswith("A screenshot of a Claude Code terminal")
    donna = recs["114869166181027661"]
    assert donna.hashtags == ["rstats", "rtoot"]
    assert donna.mentions == ["schochastics@fosstodon.org"] and donna.links == []
    # the context answer's three replies are by noindex accounts: kept now
    assert len(list(records(corpus_body("get_context_with_token.0.json")))) == 3


def test_context_answer_of_noindex_accounts_is_left_out():
    """fosstodon.org's context answer: three replies, all by accounts with noindex:
    true. None is counted; their hidden keys say how many were left out."""
    body = corpus_body("get_context_with_token.0.json")
    b = split(body)
    assert b.format == "mastodon-context" and b.raws == []
    assert len(b.left_out) == 3 and all(k.startswith("withheld-") for k in b.left_out)
    expected = {optouts.hidden_key(s["uri"]) for s in body["descendants"]}
    assert set(b.left_out) == expected


def test_quote_post_by_hand():
    rec, = records(corpus_body("test_entity_quote.0.json"))
    assert rec.kind == "quote"
    assert rec.quote_of == "115044070560414080" and rec.reply_to == "115044053131672379"
    # the "RE: <link>" fallback (quote-inline) is neither text nor a link
    assert rec.text == "actual reply that quotes a post that quotes a post bsky.app/profile/h4lc..."
    assert rec.links == [{"url": "https://bsky.app/profile/h4lcy.bsky.social/post/3lwlumdwf522i",
                          "domain": "bsky.app"}]
    assert rec.hashtags == [] and rec.mentions == []
    assert rec.author.handle == "h4lcy.bsky.social@bsky.brid.gy"
    # the networks' quote edge: the quoted status's author keyed as authors are (its
    # own); its reply names the replied-to account by a local id that no mention has
    assert rec.quote_user == "https://bsky.brid.gy/ap/did:plc:5syfqzormjkutgo5hi2u2gpr"
    assert rec.quote_user == rec.author.id and rec.reply_user is None


def test_reply_edges_go_to_the_replied_account():
    """fosstodon.org's context answer (its accounts opted in here): each reply names the
    replied-to account by its local id; the networks get its handle from the mention
    with that id, or the author's own key for a reply to themselves."""
    optouts.set_policy({"include_opted_out": True})
    body = corpus_body("get_context_with_token.0.json")
    for raw, rec in zip(body["descendants"], records(body), strict=True):
        rid = raw["in_reply_to_account_id"]
        if rid == raw["account"]["id"]:
            assert rec.reply_user == rec.author.id
        else:
            m, = [m for m in raw["mentions"] if m["id"] == rid]
            assert rec.reply_user == "@" + m["acct"].casefold() + (
                "" if "@" in m["acct"] else "@" + m["url"].split("/")[2])


def test_status_with_content_warning_gif_and_self_mention_by_hand():
    rec, = records(corpus_body("test_entity_status.0.json"))
    assert rec.text.startswith("CW: test post for mastodon.py stuff\n\n@halcy you're a "
                               "doo-doo head\n\nedit: editing this to have the maximum amount")
    assert rec.hashtags == ["ThisIsAHashtag"]  # tags say "thisisahashtag"
    assert rec.mentions == ["halcy@icosahedron.website"]
    assert rec.links == []
    assert rec.media == [{
        "key": "110446234379794171", "type": "animated_gif",
        "url": "https://files.mastodon.social/cache/media_attachments/files/110/446/234/379/"
               "794/171/original/e6bdbd614788c2d1.mp4",
        "preview": "https://files.mastodon.social/cache/media_attachments/files/110/446/234/"
                   "379/794/171/small/e6bdbd614788c2d1.png",
        "alt_text": "a furry cube breakdancing"}]
    assert rec.lang == "de" and rec.author.indexable is True
    # noindex: true on the other one of the pair: left out
    b = split(corpus_body("test_entity_status.1.json"))
    assert b.raws == [] and len(b.left_out) == 1


def test_boost_and_deleted_status():
    boost, = records(corpus_body("test_status_reblog_unreblog.1.json"))
    assert boost.kind == "repost" and boost.repost_of == "117020586019094258"
    assert boost.reposted.text == "Toot!" and boost.text == "Toot!"
    assert boost.reposted.kind == "original"
    # the delete answer gives the status back with its plain source text, no content
    deleted = corpus_body("test_status_reblog_unreblog.3.json")
    assert "content" not in deleted
    b = split(deleted)
    assert b.format == "mastodon-status"  # not X's twarc2-flattened format (it has "text")
    rec, = records(deleted)
    assert rec.text == "Toot!" and rec.platform == "mastodon"


def test_every_recorded_payload_counted_in_one_summary(tmp_path):
    """All nine recorded answers in one archive file: what a summary counts of them."""
    path = tmp_path / "corpus.jsonl"
    with open(path, "wb") as f:
        for p in sorted(MASTODON.glob("*.json")):
            f.write(orjson.dumps(orjson.loads(p.read_bytes())["body"]) + b"\n")
    s = summarize([path], tmp_path / "out", {"slug": "m", "source": "archive"})
    # 5 timeline + quote + CW status + "Toot!" (3 answers, one uri) + its boost
    assert s["tweets"] == 9 and s["retweets"] == 1 and s["quotes"] == 1
    assert s["left_out"] == 4  # 3 noindex replies + 1 noindex status
    assert s["withheld"] == 3  # indexable: false
    assert s["skipped"] == 0
    assert sorted(s["sources"][0]["formats"]) == ["mastodon-context", "mastodon-page",
                                                  "mastodon-status"]
    hashtags = (tmp_path / "out/hashtags.csv").read_text().splitlines()
    assert hashtags[:2] == ["hashtag,count", "rstats,5"]
    mentions = (tmp_path / "out/mentions.csv").read_text()
    assert "snystrom@genomic.social,1" in mentions
    assert "schochastics@fosstodon.org,1" in mentions
    ids = (tmp_path / "out/tweet-ids.txt").read_text().split()
    assert "https://hachyderm.io/users/zkamvar/statuses/114869598497920330" in ids
    published = b"".join((tmp_path / "out" / n).read_bytes() for n in (
        "tweets.csv", "users.csv", "cards.json", "retweets.csv", "media.csv", "tweet-ids.txt"))
    # (the links they shared are aggregates: simonpcouch.com stays in urls.csv)
    for secret in (b"simonpcouch@", b"@simonpcouch", b"useR_conf", b"donnagen", b"Claude Code",
                   b"erc_bk", b"MickaelCanouil", b"Simon P. Couch", b"read-up is running"):
        assert secret not in published  # withheld or left out: never in an output


def test_archive_shapes_are_detected(tmp_path):
    body = corpus_body("get_timeline_hashtag_anonymous.0.json")
    per_line = tmp_path / "statuses.jsonl"
    per_line.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in body))
    pretty = tmp_path / "page.json"
    pretty.write_text(json.dumps(body, indent=2))
    counts = {}
    for path in (per_line, pretty):
        s = summarize([path], tmp_path / path.stem, {"slug": "m", "source": "archive"})
        counts[path.name] = (s["tweets"], s["sources"][0]["formats"], s["skipped"])
    assert counts == {"statuses.jsonl": (5, ["mastodon-status"], 0),
                      "page.json": (5, ["mastodon-page"], 0)}
    assert {f.name for f in FORMATS if f.platform == "mastodon"} == {
        "mastodon-chunk", "mastodon-page", "mastodon-status", "mastodon-context"}


def test_a_bad_status_is_skipped_alone(tmp_path):
    body = corpus_body("get_timeline_hashtag_anonymous.0.json")
    bad = [dict(body[2], uri=["not", "a", "uri"]), dict(body[4], id={"x": 1}),
           dict(body[3], uri="https://x.example/a\nb")]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(orjson.dumps(bad + body[:2]) + b"\n" + b"{\"error\": \"Record not found\"}\n")
    s = summarize([path], tmp_path / "out", {"slug": "m", "source": "archive"})
    assert s["tweets"] == 2 and s["skipped"] == 4
    reasons = [x["reason"] for x in s["skipped_sample"]]
    assert "post 1 of the line: uri ['not', 'a', 'uri'] is not a status URI" in reasons
    assert any(r.startswith("post 2 of the line: id {'x': 1} is not a status id") for r in reasons)
    assert any("post 3 of the line: uri" in r for r in reasons)
    assert "JSON object that is not a tweet" in reasons  # an error answer: X's words


# ------------------------------------------------------------------------ HTML → text

TAGS = re.compile(r"<\s*/?\s*(p|a|span|br|img|script|div|b|i|em|strong)\b", re.I)


def test_html_never_survives_as_markup_in_any_record():
    statuses = []
    for p in sorted(MASTODON.glob("*.json")):
        body = orjson.loads(p.read_bytes())["body"]
        statuses += body if isinstance(body, list) else body.get("descendants") or [body]
    statuses += list(iter_statuses(400, 3))
    optouts.set_policy({"include_opted_out": True})  # every text, withheld ones too
    texts = [r.text for s in statuses for r in records(s)]
    assert len(texts) >= 400 and all(texts)
    for text in texts:
        assert not TAGS.search(text), text
        assert "&amp;" not in text and "&lt;" not in text and "&#" not in text, text


def test_html_text_by_hand():
    p = parse('<p>Hi <span class="h-card"><a href="https://a.example/@x" class="u-url mention">'
              '@<span>x</span></a></span> &amp; all<br/>line 2</p><p>'
              '<a href="https://e.example/long" rel="nofollow"><span class="invisible">https://'
              '</span><span class="ellipsis">e.example/lo</span><span class="invisible">ng'
              '</span></a> &lt;b&gt;not bold&lt;/b&gt; <script>alert(1)</script>'
              '<img src=x onerror=alert(2)></p>')
    assert p.text == "Hi @x & all\nline 2\n\nhttps://e.example/long <b>not bold</b>"
    assert [(a.href, a.text, a.is_mention, a.is_hashtag) for a in p.anchors] == [
        ("https://a.example/@x", "@x", True, False),
        ("https://e.example/long", "https://e.example/long", False, False)]
    assert html_text("plain bio, no markup") == "plain bio, no markup"
    assert html_text("<p>unclosed <a href='x'>link") == "unclosed link"


def test_opt_out_hashtags_in_the_bio_are_read_from_its_html():
    def acc(note, **kw):
        return {"note": note, **kw}
    reason = optouts.left_out_reason
    assert reason(acc('<p>hi <a href="https://m.example/tags/nobot" class="mention hashtag" '
                      'rel="tag">#<span>nobot</span></a></p>')) == "#nobot in the bio"
    assert reason(acc("<p>#NoIndex please</p>")) == "#noindex in the bio"
    assert reason(acc("plain text bio #nobot")) == "#nobot in the bio"
    assert reason(acc("<p>I love #nobotany and #noindexing</p>")) is None
    assert reason(acc('<p><a href="https://x.example/#nobot">a link</a></p>')) is None
    assert reason(acc("<p>bots welcome</p>", noindex=True)) == "noindex"
    assert reason(acc("<p>bots welcome</p>", noindex=False)) is None
    optouts.set_policy({"include_opted_out": True})
    assert optouts.leaves_out(acc("#nobot")) is None


def test_generated_statuses_have_every_shape():
    statuses = list(iter_statuses(600, 5))
    assert len({s["uri"] for s in statuses}) == 600
    assert all("#climatestrike" in html_text(s["content"]).casefold() for s in statuses)
    assert not any(s["reblog"] for s in statuses)  # a hashtag timeline carries no boosts
    kinds = {r.kind for s in statuses for r in records(s)}
    assert kinds == {"original", "quote", "reply"}
    accounts = [s["account"] for s in statuses]
    assert any(a["noindex"] for a in accounts)
    assert any("nobot" in a["note"] for a in accounts)
    assert any(a["indexable"] is False for a in accounts)
    assert any(s["media_attachments"] and s["media_attachments"][0]["description"]
               for s in statuses)
    assert statuses == list(iter_statuses(600, 5))  # seeded: the same every time


def test_platform_links_and_words():
    from dnflow.platforms import PLATFORMS
    from dnflow.site import text as tx
    from dnflow.sources import platform_of

    m = PLATFORMS["mastodon"]
    assert (m.words["reposts"], m.kind_words["repost"]) == ("boosts", "boost")
    assert m.profile_url("zkamvar@hachyderm.io") == "https://hachyderm.io/@zkamvar"
    assert m.profile_url("local") is None and m.hashtag_url("rstats") is None
    assert not m.handle_ok("a b@x.example") and not m.handle_ok("x@not a host")
    page = platform_of({"source": "mastodon", "instances": ["fosstodon.org"]})
    assert page.hashtag_url("#Climate Strike") == "https://fosstodon.org/tags/Climate%20Strike"
    assert page.profile_url("local") == "https://fosstodon.org/@local"
    archive = platform_of({"source": "archive", "sources": [{"formats": ["mastodon-page"]}]})
    assert archive.name == "mastodon" and archive.hashtag_url("x") is None
    # a card links the status's own URL, mentions to the server the post names
    card = {"id": "1", "url": "https://hachyderm.io/@zk/1", "text": "hi @snystrom #AWS",
            "mentions": ["snystrom@genomic.social"], "author": {"username": "zk@hachyderm.io"}}
    assert tx.post_url(card, page) == "https://hachyderm.io/@zk/1"
    html = str(tx.tweet_html(card, page))
    assert 'href="https://genomic.social/@snystrom"' in html
    assert 'href="https://fosstodon.org/tags/AWS"' in html
    assert tx.post_url({"id": "1", "url": "javascript:alert(1)"}, page) is None


def test_demo_archive_for_the_demo_hook(tmp_path):
    from dnflow.generate_mastodon import write_demo_archive

    path = tmp_path / "demo.jsonl"
    assert write_demo_archive(path, 300, 4, topic="music") == 300
    s = summarize([path], tmp_path / "out", {"slug": "d", "source": "archive"})
    assert s["tweets"] + s["left_out"] == 300 and s["left_out"] > 0 and s["withheld"] > 0
    assert s["sources"][0]["formats"] == ["mastodon-chunk"]
    assert "kpop," in (tmp_path / "out/hashtags.csv").read_text()
    assert path.read_bytes() == (write_demo_archive(tmp_path / "again.jsonl", 300, 4,
                                                    topic="music") and
                                 (tmp_path / "again.jsonl").read_bytes())


def test_changing_include_opted_out_recounts_a_saved_state(tmp_path):
    path = tmp_path / "corpus.jsonl"
    with open(path, "wb") as f:
        for p in sorted(MASTODON.glob("*.json")):
            f.write(orjson.dumps(orjson.loads(p.read_bytes())["body"]) + b"\n")
    state = tmp_path / "state"
    counts = []
    for meta in ({}, {"include_opted_out": True}, {}):
        s = summarize([path], tmp_path / "out", dict(meta, slug="m", source="archive"),
                      state_dir=state)
        counts.append((s["tweets"], s.get("left_out"), s.get("withheld"),
                       s.get("include_opted_out")))
    assert counts == [(9, 4, 3, None), (13, None, None, True), (9, 4, 3, None)]
    assert b"simonpcouch@rstats.me" not in (tmp_path / "out/tweets.csv").read_bytes()


def test_a_withheld_card_shows_nothing_it_said():
    from dnflow.platforms import PLATFORMS
    from dnflow.rows import card as card_of
    from dnflow.site.data import card

    rec = next(r for r in records(corpus_body("get_timeline_hashtag_anonymous.0.json"))
               if r.author.indexable is False)
    c = card(orjson.loads(orjson.dumps(card_of(rec))), PLATFORMS["mastodon"])
    assert (c["withheld"], c["name"], c["username"], c["href"]) == (True, "an account", "",
                                                                     None)
    assert c["links"] == [] and c["media"] == [] and str(c["html"]) == ""
    shown = next(r for r in records(corpus_body("get_timeline_hashtag_anonymous.0.json"))
                 if r.author.indexable)
    c = card(orjson.loads(orjson.dumps(card_of(shown))), PLATFORMS["mastodon"])
    assert c["withheld"] is False and c["links"] and c["username"].endswith("@hachyderm.io")


def test_demo_archive_gzip(tmp_path):
    from dnflow.generate_mastodon import write_demo_archive

    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    write_demo_archive(a, 50, 2)
    write_demo_archive(b, 50, 2)
    assert a.read_bytes()[:2] == b"\x1f\x8b" and a.read_bytes() == b.read_bytes()
    s = summarize([a], tmp_path / "out", {"slug": "d", "source": "archive"})
    assert s["tweets"] + s.get("left_out", 0) == 50


def test_a_spilled_mastodon_summary_is_the_in_memory_one(tmp_path):
    """Text keys (status URIs, hidden keys) through dnflow.spill's sorted runs on disk,
    in one process and with workers: the same bytes as counting in memory."""
    from dnflow.generate_mastodon import write_demo_archive

    from .golden.cases import digests

    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    write_demo_archive(files[0], 400, 6)
    write_demo_archive(files[1], 300, 7)
    meta = {"slug": "m", "source": "archive"}
    mem = summarize(files, tmp_path / "mem", meta)
    for workers in (1, 2):
        out = tmp_path / f"spilled-{workers}"
        got = summarize(files, out, meta, workers=workers, min_parallel_bytes=1,
                        spill_min_bytes=0, spill_keys=40)
        assert (got["tweets"], got["left_out"], got["withheld"]) == (
            mem["tweets"], mem["left_out"], mem["withheld"])
        assert digests(out) == digests(tmp_path / "mem")
