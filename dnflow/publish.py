"""Publishing levels: what of a search reaches site/ (issue 14).

The private data/ folder keeps everything a search collected and counted; only what is
published under site/ changes with the search's level (``publish:`` in searches.yaml):

- ``everything``: every summary file, the cards with their text, the raw archive.
- ``ids``: counts, charts and ids. No post text anywhere, no raw archive; cards are links
  to the post on its platform; an account with fewer followers than
  ``public_figure_followers`` (or whose followers the platform does not give) is "an
  account" on pages and a pseudonymous id (:func:`pseudonym`) in the downloads.
- ``counts``: aggregates only (timeline, hashtags, domains, languages, clients, kinds).

What each summary file holds is declared by the count that writes it
(:class:`dnflow.counting.Output`: ``level``, ``accounts``, ``texts``, ``scan``); a file
that declares nothing is published only at ``everything``. The default level of a search
is its source's (:attr:`dnflow.sources.Source.publish`).

Later sections (networks, media groups) call :meth:`Publisher.account` for every node or
member id they publish and :meth:`Publisher.label` for every account they show, and
publish their files through :meth:`Publisher.allows` / :func:`publish_file`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from dnflow import optouts
from dnflow.counting import Output
from dnflow.rows import splits_at_commas

LEVELS = ("everything", "ids", "counts")  # from the most open to the least
DEFAULT_FOLLOWERS = 5000
ANONYMOUS = optouts.ANONYMOUS  # how a page shows a small account: "an account"
# the summary files a publisher reads (the index job's inputs for such searches)
READS = ("users.csv", "mentions.csv", "retweets.csv", "cards.json")
SECRET_NAME = ".publish-secret"  # in data/: the key of the pseudonyms, never published
PSEUDONYM_PREFIX = "account-"

def at_least(level: str, needed: str) -> bool:
    """Whether a search published at ``level`` publishes what needs ``needed`` (a file
    of level "ids" is published at "ids" and "everything")."""
    return LEVELS.index(level) <= LEVELS.index(needed)


def settings(search: Mapping[str, Any]) -> dict[str, Any]:
    """A search's publishing (its searches.yaml entry, validated): ``level`` and
    ``followers``; the level defaults to its source's."""
    from dnflow.sources import SOURCES

    src = SOURCES.get(str(search.get("source") or ""))
    level = search.get("publish") or (src.publish if src else "ids")
    followers = search.get("public_figure_followers")
    return {"level": str(level),
            "followers": DEFAULT_FOLLOWERS if followers is None else int(followers)}


def default_settings(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The publishing of a search known only by its summary.json (its source's default)."""
    return settings({"source": summary.get("source")})


# ------------------------------------------------------------------ pseudonyms


def project_secret(datadir: str | Path) -> bytes:
    """The key of every pseudonym: ``data/.publish-secret``, made on first use (32 random
    bytes). It stays in data/ (the private side): without it a pseudonym cannot be
    reversed by trying handles; with a new data/ the pseudonyms change."""
    path = Path(datadir) / SECRET_NAME
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{SECRET_NAME}.{os.getpid()}.tmp")
    tmp.write_text(secrets.token_hex(32) + "\n")
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)  # atomic, and never replaces one another job made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def handle_key(handle: str) -> str:
    """A handle as pseudonyms and follower lookups key it: case-folded, without "@"."""
    return handle.strip().lstrip("@＠").casefold()


def pseudonym(secret: bytes, slug: str, handle: str) -> str:
    """The stable pseudonymous id of an account in one search: HMAC-SHA256 of the slug
    and the handle under the project's secret, 64 bits as hex. The same account has the
    same id in every file of the search (users, mentions, networks), and other ids in
    other searches (they cannot be joined across searches)."""
    mac = hmac.new(secret, f"{slug}\n{handle_key(handle)}".encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + mac.hexdigest()[:16]


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class Pseudonyms:
    """:func:`pseudonym` of one secret and search, for many accounts: HMAC's two SHA-256
    states are keyed once (a fresh ``hmac.new`` per account costs three times as much,
    and a big search publishes hundreds of thousands), and each account is worked out
    once however many files name it. tests/test_publish.py holds it to
    :func:`pseudonym`."""

    def __init__(self, secret: bytes, slug: str) -> None:
        self.secret, self.slug = secret, slug
        key = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))
        self._memo: dict[str, str] = {}

    def __call__(self, handle: str) -> str:
        return self.of_key(handle_key(handle))

    def of_key(self, key: str) -> str:
        """The pseudonym of the account whose :func:`handle_key` is ``key``."""
        found = self._memo.get(key)
        if found is None:
            inner = self._inner.copy()
            inner.update(f"{self.slug}\n{key}".encode())
            outer = self._outer.copy()
            outer.update(inner.digest())
            found = self._memo[key] = PSEUDONYM_PREFIX + outer.hexdigest()[:16]
        return found


# ------------------------------------------------------------------ one search

# what may spell out a handle inside a value: a dotted name (a Bluesky handle, a host) or
# a word (an X handle, a Mastodon account's local part in a URL)
_TOKEN = re.compile(r"[\w-]+(?:\.[\w-]+)*")
_DIGIT_LINES = re.compile(r"[0-9\n]*")


@dataclass
class Publisher:
    """What one search publishes: its level, and who is public at ``ids``.

    ``public``: handle keys of accounts with at least ``followers`` followers (where the
    platform gives followers: an account whose followers are unknown is not public).
    ``hidden``: the handle keys of every other account the search names (for
    :meth:`names_hidden`), and the local parts of fediverse handles."""

    slug: str
    level: str = "everything"
    followers: int = DEFAULT_FOLLOWERS
    secret: bytes = b""
    public: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)
    authors_hidden: int = 0  # authors shown as "an account" (users.csv rows)
    _pseudonyms: Pseudonyms | None = field(default=None, init=False, repr=False,
                                           compare=False)

    @property
    def everything(self) -> bool:
        return self.level == "everything"

    def allows(self, level: str) -> bool:
        """Whether something of ``level`` ("counts", "ids", "everything") is published."""
        return at_least(self.level, level)

    def shows(self, output: Output) -> bool:
        """Whether ``output`` is published at this level: a file naming accounts never
        at ``counts``, whatever level it declares."""
        return self.allows(output.level) and (not output.accounts or self.allows("ids"))

    def is_public(self, handle: str | None) -> bool:
        return self.everything or bool(handle) and handle_key(handle) in self.public

    def account(self, handle: str) -> str:
        """An account's id in published files: its handle if public, else its pseudonym.
        The one function networks and other sections call for a node or member id."""
        if self.everything or not handle:
            return handle
        key = handle_key(handle)  # once: is_public and the pseudonym both key by it
        if key in self.public:
            return handle
        p = self._pseudonyms
        if p is None or p.secret != self.secret or p.slug != self.slug:
            p = self._pseudonyms = Pseudonyms(self.secret, self.slug)
        return p.of_key(key)

    def label(self, handle: str | None) -> str | None:
        """How a page shows an account: its handle if public, None for "an account"."""
        return handle if handle and self.is_public(handle) else None

    def names_hidden(self, value: str) -> bool:
        """Whether ``value`` (a URL, an id, a domain) spells out a hidden account's handle."""
        if self.everything or not self.hidden:
            return False
        for tok in _TOKEN.findall(value.casefold()):
            if tok in self.hidden:
                return True
            if "." in tok and any(p in self.hidden for p in _suffixes(tok)):
                return True
        return False

    def digits_name_nobody(self) -> bool:
        """Whether a value of digits alone (an X id) names no hidden account: no hidden
        handle is digits alone. Then tweet-ids.txt, millions of such lines, is copied a
        block at a time instead of scanned line by line."""
        return self.everything or not any(h.isdigit() for h in self.hidden)

    def note(self) -> str:
        """The page's one line about its level."""
        if self.level == "everything":
            return "Published as everything: post text and handles, counts and ids."
        if self.level == "counts":
            return "Published as counts: aggregates only, no ids and no accounts."
        n = self.authors_hidden
        return (f"Published as ids: {n:,} account{'s' if n != 1 else ''} shown as "
                f"\"{ANONYMOUS}\".")


def _suffixes(tok: str) -> Iterable[str]:
    # "alice.bsky.social.example" → the dotted tails, and "www.x.com/alice" → "alice"
    parts = tok.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[i:])
        yield ".".join(parts[:i])


def publisher(slug: str, summary_dir: str | Path, level: str = "everything",
              followers: int = DEFAULT_FOLLOWERS, datadir: str | Path | None = None
              ) -> Publisher:
    """The publisher of a search from its summary files (``data/<slug>/summary``): at
    ``ids`` and ``counts`` it reads who is public from users.csv (an author's followers
    as of its newest post; cards.json's records where they give followers), and every
    handle the search names from users.csv, mentions.csv and retweets.csv."""
    if level not in LEVELS:
        raise ValueError(f"publish: {level!r} is not one of {', '.join(LEVELS)}")
    pub = Publisher(slug, level, followers)
    if pub.everything:
        return pub
    d = Path(summary_dir)
    pub.secret = project_secret(datadir if datadir is not None else d.parent.parent)
    from dnflow.site import data as sd

    authors: list[str] = []
    for n, _, handle, _ in sd.user_numbers(d / "users.csv"):
        if handle:
            authors.append(key := handle_key(handle))
            if n is not None and n >= followers:
                pub.public.add(key)
    for author in _card_authors(d / "cards.json"):
        h, n = author.get("username"), author.get("followers")
        if isinstance(h, str) and h and isinstance(n, int) and n >= followers:
            pub.public.add(handle_key(h))
    pub.hidden = {k for k in authors if k not in pub.public}
    pub.authors_hidden = len(pub.hidden)
    for name, col in (("mentions.csv", "username"), ("retweets.csv", "username")):
        for h in _csv_column(d / name, col):
            if h and handle_key(h) not in pub.public:
                pub.hidden.add(handle_key(h))
    # a fediverse handle (user@server) is written server/@user in its URLs
    pub.hidden |= {h.partition("@")[0] for h in pub.hidden if "@" in h}
    pub.hidden.discard("")
    return pub


def _card_authors(path: Path) -> Iterable[Mapping[str, Any]]:
    import orjson

    try:
        cards = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if not isinstance(cards, dict):
        return
    for key in ("top_retweeted", "sample"):
        for rec in cards.get(key) or ():
            if isinstance(rec, Mapping):
                for r in (rec, rec.get("retweeted"), rec.get("quoted")):
                    if isinstance(r, Mapping) and isinstance(r.get("author"), Mapping):
                        yield r["author"]


def _csv_column(path: Path, column: str) -> Iterable[str]:
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield row.get(column) or ""


# ------------------------------------------------------------------ files


def publish_file(src: Path, dst: Path, output: Output, pub: Publisher) -> int | None:
    """Write the published copy of summary file ``src`` at ``dst``: at ``ids`` and
    ``counts``, without the columns of people's words (``texts``), with pseudonymous ids
    for small accounts (``accounts``; at ``counts`` a file naming accounts is not
    published at all) and without rows whose ``scan`` columns name a hidden account.
    Returns how many rows (lines) were left out so; None when the file is not
    published at this level."""
    if not pub.shows(output):
        return None
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    left_out = 0
    if not src.name.endswith(".csv"):
        with open(src, encoding="utf-8") as fi, open(tmp, "w", encoding="utf-8",
                                                     newline="") as fo:
            digits = bool(output.scan) and pub.digits_name_nobody()
            while block := fi.read(1 << 20) + fi.readline():  # whole lines
                if not output.scan or digits and _DIGIT_LINES.fullmatch(block):
                    fo.write(block)
                    continue
                for line in io.StringIO(block):  # split at "\n" alone, as fi is
                    if pub.names_hidden(line):
                        left_out += 1
                    else:
                        fo.write(line)
    else:
        left_out = _publish_csv(src, tmp, output, pub)
    os.replace(tmp, dst)
    return left_out


def _publish_csv(src: Path, dst: Path, output: Output, pub: Publisher) -> int:
    plain = splits_at_commas(src)
    with open(src, newline="", encoding="utf-8") as fi, open(dst, "w", encoding="utf-8",
                                                              newline="") as fo:
        rows = map(_fields, fi) if plain else csv.reader(fi)
        header = next(rows, None)
        if header is None:
            return 0
        keep = [i for i, h in enumerate(header) if h not in output.texts]
        accounts = [i for i, h in enumerate(header) if h in output.accounts]
        scan = [i for i, h in enumerate(header) if h in output.scan]
        left_out = [0]
        out = _published_rows(rows, header, keep, accounts, scan, pub, left_out)
        if plain and len(keep) > 1:  # (a row of one empty field is written "")
            # no field has a quote, a comma or a line break (a pseudonym neither): the
            # csv module would write each as it is
            lines = map(",".join, out)
            while block := list(islice(lines, 4096)):
                block.append("")
                fo.write("\r\n".join(block))
        else:
            buf = io.StringIO()
            w = csv.writer(buf)
            for row in out:
                w.writerow(row)
                if buf.tell() > 1 << 20:
                    fo.write(buf.getvalue())
                    buf.seek(0)
                    buf.truncate()
            fo.write(buf.getvalue())
    return left_out[0]


def _published_rows(rows: Iterable[list[str]], header: list[str], keep: list[int],
                    accounts: list[int], scan: list[int], pub: Publisher,
                    left_out: list[int]) -> Iterator[list[str]]:
    """The header's and each row's ``keep`` columns, ``accounts`` as the level shows
    them; a row whose ``scan`` columns name a hidden account is counted in
    ``left_out[0]`` instead."""
    yield [header[i] for i in keep]
    names_hidden = pub.names_hidden
    for row in rows:
        n = len(row)
        if scan and any(i < n and names_hidden(row[i]) for i in scan):
            left_out[0] += 1
            continue
        for i in accounts:
            if i < n:
                row[i] = pub.account(row[i])
        yield [row[i] if i < n else "" for i in keep]


def _fields(line: str) -> list[str]:
    """A line of a file that splits_at_commas: its CRLF cut, split at commas."""
    return line[:-2].split(",")
