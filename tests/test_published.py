"""Issue 15, class 8 (part): feed.xml stays valid XML whatever a search's title,
description or error holds (generated control characters, lone surrogates, U+FFFF)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow.site.render import build_site
from dnflow.summary import summarize, write_failed

from .conftest import V2

# these tests are about what "everything" may still never publish
EVERYTHING = {"level": "everything", "followers": 5000}

NASTY = st.text(st.one_of(st.characters(max_codepoint=0x1F), st.sampled_from(
    ["\ud800", "\udfff", "\ufffe", "\uffff", "<", "&", "]", ">", "é", "\u2028"]),
    st.characters()), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(title=NASTY, description=NASTY, error=NASTY)
def test_feed_is_valid_xml_whatever_a_search_holds(tmp_path_factory, title, description,
                                                   error):
    tmp = tmp_path_factory.mktemp("feed")
    failed = tmp / "data" / "bad" / "summary"
    write_failed(failed, {"slug": "bad", "title": title, "description": description},
                 error)
    good = tmp / "data" / "good" / "summary"
    summarize([V2 / "kpop.jsonl"], good, {"slug": "good", "title": title + " ok"},
              workers=1)
    build_site([("bad", failed), ("good", good)], tmp / "site")
    root = ET.fromstring((tmp / "site" / "feed.xml").read_bytes())
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2
    printable = "".join(c for c in error if c.isprintable() and c.isalnum())
    summaries = " ".join(e.find("{http://www.w3.org/2005/Atom}summary").text or ""
                         for e in entries)
    assert all(c in summaries for c in printable)  # what XML can hold is kept


def test_only_files_read_as_archives_are_published(tmp_path):
    """An archive path outside the project is allowed, but a file in which no archive
    format was found (a secret by mistake, a file a failed summary never read) is never
    published."""
    from dnflow.site.render import build_page

    secret = tmp_path / "outside" / "notes.jsonl"
    secret.parent.mkdir()
    secret.write_text('{"password": "hunter2"}\nnot json at all\n')
    out = tmp_path / "data" / "s" / "summary"
    summarize([V2 / "kpop.jsonl", secret], out, {"slug": "s"})
    site = tmp_path / "site" / "s"
    build_page(out, site / "index.html", site / "downloads", "s", base=tmp_path,
               publish=EVERYTHING)
    raw = sorted(p.name for p in (site / "downloads" / "raw").iterdir())
    assert raw == ["kpop.jsonl"]
    failed = tmp_path / "data" / "f" / "summary"
    write_failed(failed, {"slug": "f"}, "killed", [V2 / "kpop.jsonl"])
    site = tmp_path / "site" / "f"
    build_page(failed, site / "index.html", site / "downloads", "f", base=tmp_path,
               publish=EVERYTHING)
    assert not list((site / "downloads" / "raw").iterdir())
    assert "hunter2" not in "".join(p.read_text(errors="replace")
                                    for p in (tmp_path / "site").rglob("*") if p.is_file())


def test_a_mixed_archive_never_publishes_raw_mastodon_answers(tmp_path):
    """An archive search mixing X and Mastodon files: the Mastodon answers hold the text
    and handles of accounts that did not opt in to search, so that file is not published
    (the X one is), whatever platform the search's page is shown as."""
    import json

    from dnflow.site.render import build_page

    from .conftest import CORPUS

    answer = json.loads((CORPUS / "mastodon" / "decoded" /
                         "get_timeline_hashtag_anonymous.0.json").read_text())["body"]
    assert any(s["account"]["indexable"] is False for s in answer)
    masto = tmp_path / "tag.json"
    masto.write_text(json.dumps(answer) + "\n")
    out = tmp_path / "data" / "m" / "summary"
    summary = summarize([V2 / "kpop.jsonl", masto], out, {"slug": "m", "source": "archive"})
    assert summary["tweets"] == 100 + len(answer)
    site = tmp_path / "site" / "m"
    build_page(out, site / "index.html", site / "downloads", "m", base=tmp_path,
               publish=EVERYTHING)
    assert sorted(p.name for p in (site / "downloads" / "raw").iterdir()) == ["kpop.jsonl"]
    assert "The raw answers are not published" in (site / "index.html").read_text()
    withheld = [s["account"]["acct"] for s in answer if s["account"]["indexable"] is False]
    published = "".join(p.read_text(errors="replace") for p in site.rglob("*")
                        if p.is_file() and p.suffix != ".zip")
    assert not [a for a in withheld if a in published]


def test_a_withheld_author_mentioned_by_others_shows_as_an_account(tmp_path):
    """Issue 11: an account that did not opt in to search (indexable: false) is never
    named in published outputs, also where someone else's post mentions it: mentions.csv
    has its key (the page says "an account"), cards and tweets.csv say "[an account]"."""
    import copy
    import json

    from dnflow.site.render import build_page

    from .conftest import CORPUS

    answer = json.loads((CORPUS / "mastodon" / "decoded" /
                         "get_timeline_hashtag_anonymous.0.json").read_text())["body"]
    withheld = answer[0]["account"]
    assert withheld["indexable"] is False and withheld["acct"] == "simonpcouch@rstats.me"
    public = copy.deepcopy(answer[2])
    assert public["account"]["indexable"] is True
    public["id"] = "114869598531117999"
    public["uri"] = public["uri"][:-3] + "999"
    public["url"] = public["url"][:-3] + "999"
    public["content"] = public["content"].replace(
        'href="https://genomic.social/@snystrom"', 'href="https://rstats.me/@simonpcouch"'
    ).replace("<span>snystrom</span>", "<span>SimonPCouch</span>")
    public["mentions"] = [{"id": "1", "username": "simonpcouch", "acct": withheld["acct"],
                           "url": withheld["url"]}]
    archive = tmp_path / "tag.json"
    archive.write_text(json.dumps(answer + [public]) + "\n")
    out = tmp_path / "data" / "m" / "summary"
    summary = summarize([archive], out, {"slug": "m", "source": "archive"})
    assert summary["tweets"] == len(answer) + 1 and summary["withheld"] == 3
    mentions = (out / "mentions.csv").read_text()
    assert "simonpcouch" not in mentions.lower() and "withheld-" in mentions
    site = tmp_path / "site" / "m"
    build_page(out, site / "index.html", site / "downloads", "m", base=tmp_path,
               publish=EVERYTHING)
    page = (site / "index.html").read_text()
    assert "an account" in page
    everything = "".join(p.read_text(errors="replace").lower() for p in
                         [*out.iterdir(), *site.rglob("*")] if p.is_file()
                         and p.suffix != ".zip")
    # its handle in any form (its posts' links are counted, so its blog's domain shows)
    for form in ("@simonpcouch", "simonpcouch@rstats.me", "rstats.me/@simonpcouch"):
        assert form not in everything, form
    assert "[an account]" in (out / "tweets.csv").read_text()
    # public accounts are still named
    assert "snystrom@genomic.social" in mentions and "zkamvar" in everything
