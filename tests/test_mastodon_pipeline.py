"""End to end: snakemake runs a ``source: mastodon`` search against the fake (two
instances, one of them login-only), beside a Mastodon archive and an X archive; the page
shows the coverage by instance, the opt-outs and the withheld authors, no markup from a
post, no raw answers; no token anywhere; incremental windows."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import orjson

from dnflow import optouts, outputs

from .conftest import V2
from .mastodonutil import (
    INSTANCES,
    MASTODON,
    SEARCH,
    TAG,
    TOKEN,
    archived,
    expected,
    m_env,
    make_fake,
    snakemake,
)

# a post whose text looks like markup, by an author whose name does too
EVIL_CONTENT = ('<p>&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(2)>'
                '<script>alert(3)</script> <a href="javascript:alert(4)">click</a> '
                '<a href="https://mastodon.social/tags/climatestrike" class="mention hashtag" '
                'rel="tag">#<span>climatestrike</span></a></p>')


def evil_status(api) -> dict:
    base = next(s for s in api.statuses("mastodon.social", TAG)
                if s["account"]["indexable"] and not optouts.left_out_reason(s["account"]))
    s = copy.deepcopy(base)
    s["uri"] = "https://mastodon.social/users/evil/statuses/1"
    s["url"] = "https://mastodon.social/@evil/1"
    s["id"] = str(int(max(int(x["id"]) for x in api.statuses("mastodon.social", TAG))) + 1)
    s["content"] = EVIL_CONTENT
    s["account"] = dict(s["account"], username="evil", acct="evil",
                        url="https://mastodon.social/@evil",
                        uri="https://mastodon.social/users/evil",
                        display_name='"Eve" <b>bold</b> <script>alert(5)</script>')
    s["media_attachments"], s["card"], s["quote"] = [], None, None
    s["tags"] = [{"name": TAG, "url": f"https://mastodon.social/tags/{TAG}"}]
    return s


def write_config(work: Path, searches: dict) -> Path:
    path = work / "searches.yaml"
    path.write_text(json.dumps({"searches": searches}))
    return path


def summary(work: Path, slug: str) -> dict:
    return json.loads((work / "data" / slug / "summary" / "summary.json").read_text())


def page_text(work: Path, slug: str) -> str:
    return (work / "site" / slug / "index.html").read_text()


def run(work: Path, cfg: Path, env: dict, now: str):
    r = snakemake(work, cfg, dict(env, DNFLOW_NOW=now))
    assert r.returncode == 0, r.stderr[-4000:]
    assert TOKEN not in r.stdout + r.stderr
    return r


def test_mastodon_search_through_snakemake(tmp_path):
    corpus = tmp_path / "corpus-mastodon.jsonl"
    corpus.write_bytes(b"".join(orjson.dumps(orjson.loads(p.read_bytes())["body"]) + b"\n"
                                for p in sorted(MASTODON.glob("*.json"))))
    searches = {
        # published in full: its page and downloads are tested for what opt-outs withhold
        "fedi": dict(SEARCH, title="Climate strike on the fediverse", every="6h",
                     publish="everything"),
        "fedi-archive": {"source": "archive", "files": str(corpus)},
        "brexit": {"source": "archive", "files": str(V2 / "2sets.jsonl")},
    }
    with make_fake(260, login=["fosstodon.org"], tokens={"fosstodon.org": TOKEN}) as api:
        evil = evil_status(api)
        api.add([evil])
        # the same post alone in an archive: its page's sample shows it as a card
        (tmp_path / "evil.jsonl").write_bytes(orjson.dumps(evil) + b"\n")
        searches["fedi-evil"] = {"source": "archive", "files": str(tmp_path / "evil.jsonl"),
                                 "publish": "everything"}  # its card's text is tested
        cfg = write_config(tmp_path, searches)
        env = m_env(api, MASTODON_TOKEN=f"fosstodon.org={TOKEN}")
        run(tmp_path, cfg, env, "2026-11-28T06:10:00Z")
        want = expected(api)
        s = summary(tmp_path, "fedi")
        assert s["status"] == "ok" and s["tweets"] == len(want)
        assert s["instances"] == INSTANCES and s["query"] == f"#{TAG}"
        assert s["left_out"] > 0 and s["withheld"] > 0
        rec = json.loads((tmp_path / "data/fedi/runs/2026-11-28T06.json").read_text())
        assert rec["status"] == "ok"
        assert sum(rec["instances"][i]["new"] for i in INSTANCES) == len(want)
        assert {e["instance"] for e in api.requests if e["auth"] == "token"} == {"fosstodon.org"}

        page = page_text(tmp_path, "fedi")
        # coverage by instance: what each brought and what was new
        cov = page[page.index("Coverage by instance"):page.index("Files read")]
        for inst in INSTANCES:
            new = rec["instances"][inst]["new"]
            assert re.search(rf"<code>{re.escape(inst)}</code></th><td class=\"num\">"
                             rf"{rec['instances'][inst]['posts']:,}</td><td class=\"num\">"
                             rf"{new:,}</td>", cov), inst
        assert f"Opt-outs are respected: {s['left_out']:,} posts" in page
        assert f"{s['withheld']:,} counted posts are by accounts that did not opt in" in page
        # words and links of the platform
        assert ">Boosts<" in page and "Most retweeted" not in page
        assert f'href="https://mastodon.social/tags/{TAG}"' in page
        assert "an account" in page  # withheld authors in the users' tables
        # no markup of a post's HTML survives as markup, nothing runs
        for tell in ('class="mention hashtag"', 'class="invisible"', "h-card", "<script",
                     "onerror=", "javascript:", "<b>bold"):
            assert tell not in page, tell
        # the raw answers (with the withheld accounts' text) are not published
        assert not any((tmp_path / "site/fedi/downloads/raw").iterdir())
        assert "The raw answers are not published" in page
        # nothing of withheld or left-out accounts in what is published
        withheld_handles = {st["account"]["acct"].split("@")[0] for i in INSTANCES
                            for st in api.statuses(i, TAG)
                            if st["account"]["indexable"] is False
                            or optouts.left_out_reason(st["account"])}
        published = b"".join(p.read_bytes() for p in (tmp_path / "site").rglob("*")
                             if p.is_file())
        shown_handles = {st["account"]["acct"].split("@")[0] for i in INSTANCES
                         for st in api.statuses(i, TAG) if st["uri"] in want
                         and st["account"]["indexable"] is not False}
        # (others may mention them: a mention is the mentioning post's, and an account
        # seen only in a mention has no opt-in flag to go by)
        mentioned = {m["acct"].split("@")[0] for i in INSTANCES for st in api.statuses(i, TAG)
                     for m in st["mentions"]}
        hidden = sorted(withheld_handles - shown_handles - mentioned)
        assert len(hidden) > 10
        for handle in hidden:
            assert f"@{handle}".encode() not in published, handle
            assert f"{handle}@".encode() not in published, handle

        # a post's text that looks like markup is shown as text, escaped; its real
        # markup (img, script, a javascript: link) is gone
        card, = json.loads((tmp_path / "data/fedi-evil/summary/cards.json").read_text())[
            "sample"]
        assert card["text"] == "<script>alert(1)</script>  click #climatestrike"
        assert card["url"] == "https://mastodon.social/@evil/1"
        evil_page = page_text(tmp_path, "fedi-evil")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil_page
        assert '&#34;Eve&#34; &lt;b&gt;bold&lt;/b&gt;' in evil_page
        for tell in ("<script", "onerror", "javascript:", "<b>bold"):
            assert tell not in evil_page, tell
        assert 'href="https://mastodon.social/@evil/1"' in evil_page  # the status's own URL

        # the Mastodon archive is read as Mastodon's; the X archive as X's
        a = summary(tmp_path, "fedi-archive")
        assert (a["tweets"], a["left_out"], a["withheld"]) == (9, 4, 3)
        assert ">Boosts<" in page_text(tmp_path, "fedi-archive")
        assert ">Retweets<" in page_text(tmp_path, "brexit")
        assert "Opt-outs" not in page_text(tmp_path, "brexit")
        assert (tmp_path / "site/compare.html").exists()

        # the next window: only what is new, forwards
        api.add({"generated": 40, "seed": 11})
        mark = len(api.requests)
        run(tmp_path, cfg, env, "2026-11-28T12:10:00Z")
        assert all("min_id" in e["params"] for e in api.requests[mark:])
        assert summary(tmp_path, "fedi")["tweets"] == len(expected(api)) > len(want)
        # a window that brings nothing re-summarizes nothing
        files = outputs.names()
        before = {n: (tmp_path / "data/fedi/summary" / n).stat().st_mtime_ns for n in files}
        time.sleep(0.05)
        run(tmp_path, cfg, env, "2026-11-28T18:10:00Z")
        after = {n: (tmp_path / "data/fedi/summary" / n).stat().st_mtime_ns for n in files}
        assert after == before
        assert "2026-11-28T18" in page_text(tmp_path, "fedi")  # in the run history
        per = archived(tmp_path / "data", "fedi")
        assert all(len(u) == len(set(u)) for u in per.values())

    # no token anywhere: data, site, logs, Snakemake's metadata
    for d in ("data", "site", "logs", ".snakemake"):
        assert (tmp_path / d).is_dir()
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []


def test_a_login_only_instance_without_token_fails_alone_on_the_page(tmp_path):
    searches = {"fedi": dict(SEARCH, every="1d", publish="everything"),
                "opted": dict(SEARCH, every="1d", include_opted_out=True, publish="everything")}
    cfg = write_config(tmp_path, searches)
    with make_fake(120, login=["fosstodon.org"]) as api:
        run(tmp_path, cfg, m_env(api), "2026-11-28T09:00:00Z")
    s = summary(tmp_path, "fedi")
    assert s["status"] == "ok" and s["tweets"] > 0  # mastodon.social's posts are counted
    page = page_text(tmp_path, "fedi")
    assert "The latest collection run failed" in page
    assert ("fosstodon.org requires login for its hashtag timelines (401 Unauthorized: This "
            "method requires an authenticated user)") in page
    opted = page_text(tmp_path, "opted")
    assert "Opt-outs are not respected in this search" in opted
    assert "include_opted_out: true" in opted
    assert any((tmp_path / "site/opted/downloads/raw").iterdir())  # its raw is published
    assert summary(tmp_path, "opted").get("left_out") is None
