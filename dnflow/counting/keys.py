"""Counts of one key per post: hashtags, mentions, URLs, domains, languages, clients.

Each is a ``KeyCount``: its rule is ``keys`` (a page's posts → the keys to count, each
post at most once per distinct key); counting, merging, the CSV and the summary's
distinct number are shared. A repost's own entities are cut with its text, so reposts
count their original's.
"""

from __future__ import annotations

from collections import Counter, _count_elements  # type: ignore[attr-defined]
from operator import attrgetter
from pathlib import Path
from typing import Any

from dnflow.counting import (
    COUNTS,
    Count,
    Output,
    Page,
    Section,
    ranked_counts,
    write_csv,
)
from dnflow.optouts import WITHHELD_ACCOUNTS, WITHHELD_MENTIONED, hidden_mention


class KeyCount(Count):
    """A counter of keys; subclasses set ``name``, ``file``, ``header``, ``keys`` and what
    describes them. The CSV is ``file`` with ``header``, by count then key; the page's
    section (when ``title`` is set) ranks its first column."""

    file = ""
    header: tuple[str, str] = ("key", "count")
    note = ""  # the download's note
    distinct_key = ""  # its summary.json ``counts`` entry
    # its page section (dnflow.counting.Section): words in {post}/{posts}… placeholders
    title = ""
    label = ""  # the first column's heading
    link = ""  # how a value links to the platform (Section.link)
    noun = ""
    about = ""  # the section's note: how it is counted
    prefix = ""
    position = 100
    compare = False
    # its file at the publishing levels (dnflow.counting.Output, dnflow.publish):
    # counts of values are aggregates; a count of accounts or URLs says so
    level = "counts"
    accounts: tuple[str, ...] = ()
    scan: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.outputs = (Output(self.file, self.header, self.note, level=self.level,
                               accounts=self.accounts, scan=self.scan),)

    def keys(self, posts: Page) -> list:
        raise NotImplementedError

    def start(self) -> Counter:
        return Counter()

    def take(self, part: Counter, posts: Page) -> Counter:
        keys = self.keys(posts)
        if keys:
            _count_elements(part, keys)  # collections' C counter, a page at once
        return part

    def merge(self, part: Counter, later: Counter) -> Counter:
        part.update(later)
        return part

    def dump(self, part: Counter) -> dict:
        return dict(part)

    def load(self, data: dict) -> Counter:
        return Counter(data)

    spills = True

    def items(self, part: Counter, order: int) -> Any:
        return part.items()

    def combine(self, value: int, later: int) -> int:
        return value + later

    def distinct(self, part: Any) -> dict[str, int]:
        return {self.distinct_key: len(part)}

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        write_csv(outdir / self.file, self.header, ranked_counts(part))

    def sections(self) -> list[Section]:
        if not self.title:
            return []
        return [Section(self.name, self.title, self.file, [self.label, "{Posts}"],
                        self.header[0], self.link, self.noun, self.about, prefix=self.prefix,
                        distinct=self.distinct_key, position=self.position,
                        compare=self.compare)]


def _folded(posts: Page, field: str) -> list[str]:
    """A case-folded list field of each post (its original's for a repost), distinct."""
    out: list[str] = []
    get = attrgetter(field)
    for p in posts.sources:
        values = get(p)
        if values:
            if len(values) == 1:
                out.append(values[0].casefold())
            else:
                out.extend({v.casefold() for v in values})
    return out


@COUNTS.register
class Hashtags(KeyCount):
    name = "hashtags"
    file = "hashtags.csv"
    header = ("hashtag", "count")
    note = "hashtag, {posts}"
    distinct_key = "hashtags"
    title = "Hashtags"
    label = "Hashtag"
    link = "hashtag"
    noun = "hashtags"
    about = ("Case-folded. A {post} counts once per distinct hashtag. {Reposts} count the "
             "hashtags of the original {post}, because a {repost}'s own text is cut short.")
    prefix = "#"
    position = 10
    compare = True

    def keys(self, posts: Page) -> list:
        return _folded(posts, "hashtags")


@COUNTS.register
class Mentions(KeyCount):
    name = "mentions"
    file = "mentions.csv"
    header = ("username", "count")
    level = "ids"
    accounts = ("username",)
    note = "username, {posts}"
    distinct_key = "mentions"
    title = "Mentions"
    label = "Username"
    link = "user"
    noun = "mentioned users"
    about = ("Case-folded usernames written in the {posts}. {Reposts} count the mentions in "
             "the original {post}, so the {repost}ed account itself is not a mention.")
    prefix = "@"
    position = 20

    def keys(self, posts: Page) -> list:
        return _folded(posts, "mentions")

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        rows = ranked_counts(part)
        hidden = ctx.get(WITHHELD_ACCOUNTS)
        if hidden:  # a withheld author's handle shows as "an account" (dnflow.optouts)
            mentioned = ctx[WITHHELD_MENTIONED] = []

            def hide(rows: Any) -> Any:
                for k, c in rows:
                    shown = hidden_mention(k, hidden)
                    if shown != k:
                        mentioned.append(k)
                    yield shown, c

            rows = hide(rows)
        write_csv(outdir / self.file, self.header, rows)


@COUNTS.register
class Domains(KeyCount):
    name = "domains"
    file = "domains.csv"
    header = ("domain", "count")
    scan = ("domain",)  # a Bluesky handle is a domain name
    note = "domain, {posts}"
    distinct_key = "domains"
    title = "Domains"
    label = "Domain"
    link = "domain"
    noun = "domains"
    about = ("The host of each shared URL, lower-case, without www. A {post} counts once per "
             "distinct domain.")
    position = 30
    compare = True

    def keys(self, posts: Page) -> list:
        out: list[str] = []
        for p in posts.sources:
            links = p.links
            if links:
                if len(links) == 1:
                    if links[0]["domain"]:
                        out.append(links[0]["domain"])
                else:
                    out.extend({u["domain"] for u in links if u["domain"]})
        return out


@COUNTS.register
class Urls(KeyCount):
    name = "urls"
    file = "urls.csv"
    header = ("url", "count")
    level = "ids"  # a URL can name a post and its author (x.com/<handle>/status/<id>)
    scan = ("url",)
    note = "url, {posts}"
    distinct_key = "urls"
    title = "URLs"
    label = "URL"
    link = "url"
    noun = "URLs"
    about = ("Expanded (or unwound) URLs; t.co short links and links to {posts} themselves "
             "are left out. A {post} counts once per distinct URL.")
    position = 40

    def keys(self, posts: Page) -> list:
        out: list[str] = []
        for p in posts.sources:
            links = p.links
            if links:  # already distinct per post (the formats make them so)
                if len(links) == 1:
                    out.append(links[0]["url"])
                else:
                    out.extend([u["url"] for u in links])
        return out


@COUNTS.register
class Languages(KeyCount):
    name = "languages"
    file = "languages.csv"
    header = ("lang", "count")
    note = "language, {posts}"
    distinct_key = "languages"
    title = "Languages"
    label = "Language"
    link = "lang"
    noun = "languages"
    about = ("The language {label} detected for each {post} (und: undetermined; q-codes: "
             "media, hashtags or mentions only).")
    position = 60

    def keys(self, posts: Page) -> list:
        out: list[str] = []
        for p, src in zip(posts, posts.sources, strict=True):
            lang = p.lang or src.lang
            if lang:
                out.append(lang)
        return out


@COUNTS.register
class Clients(KeyCount):
    name = "clients"
    file = "sources.csv"
    header = ("source", "count")
    note = "client, {posts}"
    distinct_key = "sources"
    title = "Clients"
    label = "Client"
    link = "client"
    noun = "clients"
    about = "The app a {post} was posted with, where the platform reports it."
    position = 70

    def keys(self, posts: Page) -> list:
        return [p.client for p in posts if p.client]
