"""Issue 15, class 8 (part): feed.xml stays valid XML whatever a search's title,
description or error holds (generated control characters, lone surrogates, U+FFFF)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow.site.render import build_site
from dnflow.summary import summarize, write_failed

from .conftest import V2

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
