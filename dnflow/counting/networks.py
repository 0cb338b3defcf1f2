"""The networks of a search: who mentions, reposts, quotes and replies to whom, and which
hashtags are used together (edge lists for Gephi and network.gexf), in the one pass.

Accounts are keyed by their platform id; an account known only by a handle (a mention,
an "RT @handle:" repost whose original the archive lacks) is ``@`` and its case-folded
handle, the same folding as mentions.csv. When writing, such a handle becomes the id
of the account the search saw with that handle (its first post with both), so an
account mentioned by handle and posting under its id is one node.

Nothing is held while the pass reads: each post gives (key, value) items, streamed to
a file of rows as tweets.csv is, and writing sums them (equal keys combined in input
order) by sorted runs on disk (dnflow.spill), so memory is bounded by a run's keys and
an external sort's rows, whatever the size of the search. The first character of a key
says what it is, the rest is the key itself:

- ``A@handle`` → id: an author's handle, first seen;
- ``M``, ``R``, ``Q``, ``P`` + source NUL target → [weight, first, last]: mentions,
  reposts, quotes, replies (P: "post replied to");
- ``H`` + tag NUL tag → [weight, first, last]: hashtags of one post, in order;
- ``F`` + platform → platform: the platforms of the posts;
- ``N`` + account → [posts, first, last, followers, handle]: an author, as of their
  newest post (equal times: the later one).

Times are the posts' ``created_at`` text; a post without one does not move first or
last (``_NO_FIRST``/``""`` sort after and before every time). Writing resolves handles
by two sort-merge joins with the aliases and sums the edges that became one, by sorts
that hold at most ``RANK_CHUNK`` rows (more than ``SUM_CHUNK`` keys) or in memory (a
search whose keys fit in one dict), the same rows either way.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from dnflow import spill
from dnflow.counting import COUNTS, Count, Output, Page, read_rows, write_csv
from dnflow.counting.gexf import write_gexf

EDGE_HEADER = ("source", "target", "weight", "first", "last")
# key letter → the network's file
KINDS = {"M": "mentions", "R": "retweets", "Q": "quotes", "P": "replies"}
FILES = {k: f"edges-{name}.csv" for k, name in KINDS.items()}
HASHTAGS_FILE = "edges-hashtags.csv"
GEXF_FILE = "network.gexf"
_NO_FIRST = "~"  # after every ISO time: a post without a time never is the first
SEP = "\0"
_AT_URI = "at://"
# keys summed in a dict before they go to a sorted run, and rows an external sort holds
# at once: about 60 and 50 MB of Python objects (a network's items are small)
SUM_CHUNK = 200_000
RANK_CHUNK = 200_000


def account(a: Any) -> str | None:
    """The key of an author: the id, else "@" and the case-folded handle."""
    if a.id:
        return a.id
    return "@" + a.handle.casefold() if a.handle else None


def _did_of(uri: str | None) -> str | None:
    """The account of a Bluesky at-URI (at://did/collection/rkey)."""
    if uri and uri.startswith(_AT_URI):
        return uri[len(_AT_URI):].split("/", 1)[0] or None
    return None


def _rt_handle(text: str) -> str | None:
    """The handle of an X "RT @handle: …" text (a repost whose original is not there)."""
    if text.startswith("RT @"):
        end = text.find(":", 4)
        if end > 4:
            return "@" + text[4:end].casefold()
    return None


def _targets(p: Any) -> Iterator[tuple[str, str]]:
    """(kind letter, target account) of each edge a post makes, each once."""
    if p.kind == "repost":
        orig = p.reposted
        tgt = account(orig.author) if orig is not None else _rt_handle(p.text)
        if tgt:
            yield "R", tgt
        return  # a repost's own mentions are its original's, cut with its text
    if p.mentions:
        for h in dict.fromkeys(m.casefold() for m in p.mentions):
            yield "M", "@" + h
    if p.quote_of:
        tgt = p.quote_user or _did_of(p.quote_of)
        if tgt:
            yield "Q", tgt
    if p.reply_to:
        tgt = p.reply_user or _did_of(p.reply_to)
        if tgt:
            yield "P", tgt



@COUNTS.register
class Networks(Count):
    """Streamed, not held: ``rows`` gives each page's (key, value) items (the keys and
    values above, each post's own), the pass appends them to a file of rows beside
    tweets.csv, and ``write`` sums them by sorted runs (dnflow.spill)."""

    name = "networks"
    streamed = True
    outputs = (
        Output(FILES["M"], EDGE_HEADER, "who mentions whom: source, target, {posts}, "
               "first, last"),
        Output(FILES["R"], EDGE_HEADER, "who {repost}s whom (the original's author)"),
        Output(FILES["Q"], EDGE_HEADER, "who quotes whom (the quoted {post}'s author)"),
        Output(FILES["P"], EDGE_HEADER, "who replies to whom"),
        Output(HASHTAGS_FILE, EDGE_HEADER, "hashtags used in one {post} together "
               "(undirected)"),
        Output(GEXF_FILE, (), "the account networks in one GEXF 1.3 file, for Gephi"),
    )

    def start(self) -> None:
        return None

    def take(self, part: None, posts: Page) -> None:
        return None

    def merge(self, part: None, later: None) -> None:
        return None

    def rows(self, posts: Page) -> list[tuple[str, Any]]:
        return page_rows(posts)

    def combine(self, value: Any, later: Any) -> Any:
        if value.__class__ is str:  # an alias: first seen
            return value
        out = [value[0] + later[0], min(value[1], later[1]), max(value[2], later[2])]
        if len(value) == 5:  # an author: as of the newest post, equal times the later
            out += later[3:] if later[2] >= value[2] else value[3:]
        return out

    def write(self, part: None, outdir: Path, ctx: dict[str, Any]) -> None:
        path = (ctx.get("rows") or {}).get(self.name)
        spiller = spill.Spiller(outdir / f".{self.name}-spill")
        try:
            summed = summed_rows(path, self.combine, spiller)
            if isinstance(summed, spill.Run):
                items = _of_run(summed)
                sort = _external(spiller)
                edges: Iterable[tuple] = resolved_edges(items, sort)
            else:
                items = _of_dict(summed)
                sort = _in_memory
                edges = resolved_in_memory(summed)
            # not in summary.json: the summaries of searches made before stay as they were
            ctx["networks"] = write_networks(edges, items, sort, outdir)
            platforms = ",".join(k[1:] for k, _ in items("F"))
            write_gexf(outdir / GEXF_FILE, [outdir / FILES[k] for k in KINDS],
                       nodes(items), platforms, sort)
        finally:
            spill.remove_folder(spiller.folder)


def page_rows(posts: Page) -> list[tuple[str, Any]]:
    """The (key, value) items of a page's posts: an item per author, alias, edge and
    hashtag pair, and one per platform of the page."""
    out: list[tuple[str, Any]] = []
    add = out.append
    platforms = set()
    for p, src_post in zip(posts, posts.sources, strict=True):
        a = p.author
        src = a.id or ("@" + a.handle.casefold() if a.handle else None)
        if src is None:
            continue
        platforms.add(p.platform)
        t = p.created_at or ""
        lo = t or _NO_FIRST
        add(("N" + src, [1, lo, t, a.followers, a.handle]))
        if a.id and a.handle:
            add(("A@" + a.handle.casefold(), a.id))
        orig = p.reposted
        if orig is not None and orig.author.id and orig.author.handle:
            add(("A@" + orig.author.handle.casefold(), orig.author.id))
        for kind, tgt in _targets(p):
            add((kind + src + SEP + tgt, [1, lo, t]))
        tags = src_post.hashtags
        if tags and len(tags) > 1:
            distinct = sorted({h.casefold() for h in tags})
            for i, x in enumerate(distinct):
                for y in distinct[i + 1:]:
                    add(("H" + x + SEP + y, [1, lo, t]))
    for platform in sorted(platforms):
        add(("F" + platform, platform))
    return out


def summed_rows(path: Path | None, combine: Callable[[Any, Any], Any],
                spiller: spill.Spiller) -> dict | spill.Run:
    """The streamed items with equal keys combined in input order: a dict if at most
    ``SUM_CHUNK`` keys, else one sorted run merged from runs of that many keys."""
    summed: dict = {}
    runs: list[spill.Run] = []
    for block in read_rows(path):
        get = summed.get
        for k, v in block:
            known = get(k)
            if known is None:
                summed[k] = v
            elif known.__class__ is list:  # ``combine`` in place (an alias: first seen)
                known[0] += v[0]
                if v[1] < known[1]:
                    known[1] = v[1]
                if v[2] >= known[2]:  # the last time, and an author's newest details
                    known[2:] = v[2:]
        if len(summed) >= SUM_CHUNK:
            runs.append(spiller.run("networks", spill.sort_items(summed.items())))
            summed = {}
    if not runs:
        return summed
    if summed:
        runs.append(spiller.run("networks", spill.sort_items(summed.items())))
    del summed
    run = spiller.run("networks", spill.merged(runs, combine))
    for r in runs:
        r.drop()
    return run


# ---------------------------------------------------------------- writing


Sort = Callable[[Iterable, Callable], Iterable]
# the summed items whose keys start with one of the letters given, in key order
Items = Callable[[str], Iterable[tuple[str, Any]]]
EDGE_KEYS = "".join(sorted(KINDS))


def _of_dict(summed: dict) -> Items:
    keys = sorted(summed)

    def items(letters: str) -> Iterator[tuple[str, Any]]:
        for letter in letters:  # keys of one letter are together: bisect their ends
            lo = bisect_left(keys, letter)
            hi = bisect_left(keys, chr(ord(letter) + 1), lo)
            for k in keys[lo:hi]:
                yield k, summed[k]
    return items


def _of_run(run: spill.Run) -> Items:
    def items(letters: str) -> Iterator[tuple[str, Any]]:
        return ((k, v) for k, v in run.items() if k[0] in letters)
    return items


def _in_memory(rows: Iterable, key: Callable) -> Iterable:
    return sorted(rows, key=key)


def _external(spiller: spill.Spiller) -> Sort:
    def sort(rows: Iterable, key: Callable) -> Iterable:
        return spill.ranked(rows, key, spiller, RANK_CHUNK)
    return sort


def aliases(items: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, str]]:
    """("@handle", id) in handle order: the keys that come first in key order."""
    for k, v in items:
        if k[0] != "A":
            return
        yield k[1:], v


def _edges(items: Iterable[tuple[str, Any]]) -> Iterator[tuple]:
    for k, v in items:
        if k[0] in KINDS:
            src, tgt = k[1:].split(SEP)
            yield (k[0], src, tgt, v[0], v[1], v[2])


def _joined(rows: Iterable[tuple], names: Iterator[tuple[str, str]], at: int) -> Iterator:
    """``rows`` (sorted by their field ``at``) with each "@handle" there that an author
    had replaced by the author's id: a merge of two sorted streams."""
    cur = next(names, None)
    for row in rows:
        ref = row[at]
        if ref[0] == "@":
            while cur is not None and cur[0] < ref:
                cur = next(names, None)
            if cur is not None and cur[0] == ref:
                row = (*row[:at], cur[1], *row[at + 1:])
        yield row


_EDGE = itemgetter(0, 1, 2)


def resolved_edges(items: Items, sort: Sort) -> Iterator[tuple]:
    """Every account edge once, handles resolved and edges that became one summed, in
    (kind, source, target) order."""
    rows = _joined(sort(_edges(items(EDGE_KEYS)), itemgetter(2)), aliases(items("A")), 2)
    rows = _joined(sort(rows, itemgetter(1)), aliases(items("A")), 1)
    for key, group in groupby(sort(rows, _EDGE), key=_EDGE):
        w, lo, hi = 0, _NO_FIRST, ""
        for row in group:
            w += row[3]
            lo = min(lo, row[4])
            hi = max(hi, row[5])
        yield (*key, w, lo, hi)


def by_weight(row: tuple) -> tuple:
    """Within a network: weight descending, then source, then target (code points)."""
    return row[0], -row[3], row[1], row[2]


def _csv_row(row: tuple) -> tuple:
    first = "" if row[4] == _NO_FIRST else row[4]
    return row[1], row[2], row[3], first, row[5]


def resolved_in_memory(part: dict) -> list[tuple]:
    """What :func:`resolved_edges` gives, by dicts (a part that fits in memory): the
    same aliases, the same sums, in any order (the files are sorted after)."""
    alias = {k[1:]: v for k, v in part.items() if k[0] == "A"}
    out: dict[tuple, list] = {}
    for k, v in part.items():
        if k[0] not in KINDS:
            continue
        src, tgt = k[1:].split(SEP)
        if src[0] == "@":
            src = alias.get(src, src)
        if tgt[0] == "@":
            tgt = alias.get(tgt, tgt)
        key = (k[0], src, tgt)
        known = out.get(key)
        if known is None:
            out[key] = v
        else:
            out[key] = [known[0] + v[0], min(known[1], v[1]), max(known[2], v[2])]
    return [(*k, *v) for k, v in out.items()]


def write_networks(edges: Iterable[tuple], items: Items, sort: Sort,
                   outdir: Path) -> dict[str, int]:
    """The four account edge lists (``edges``: resolved) and the hashtags' one; how many
    edges each has."""
    counts = dict.fromkeys(KINDS.values(), 0)
    ranked = groupby(sort(edges, by_weight), key=itemgetter(0))
    done = set()
    for kind, rows in ranked:
        n = [0]

        def counted(rows: Iterable, n: list = n) -> Iterator:
            for row in rows:
                n[0] += 1
                yield _csv_row(row)
        write_csv(outdir / FILES[kind], EDGE_HEADER, counted(rows))
        counts[KINDS[kind]] = n[0]
        done.add(kind)
    for kind in KINDS:
        if kind not in done:
            write_csv(outdir / FILES[kind], EDGE_HEADER, ())
    tags = (("H", *k[1:].split(SEP), v[0], v[1], v[2]) for k, v in items("H"))
    n = [0]

    def counted_tags(rows: Iterable) -> Iterator:
        for row in rows:
            n[0] += 1
            yield _csv_row(row)
    write_csv(outdir / HASHTAGS_FILE, EDGE_HEADER, counted_tags(sort(tags, by_weight)))
    counts["hashtags"] = n[0]
    return counts


def nodes(items: Items) -> Iterator[tuple[str, list]]:
    """(account, [posts, first, last, followers, handle]) of every author, by account."""
    for k, v in items("N"):
        yield k[1:], v
