"""The bytes of output rows: tweets.csv lines, users.csv profiles, retweets.csv rows and
tweet cards, as counting keeps them.

Formatted by hand where it is hot (the csv module walks every character of every field),
always with the csv module's bytes: anything unusual (a quote in a value, a value that is
not text) takes the csv module's path.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from dnflow import userscsv
from dnflow.platforms import PLATFORMS
from dnflow.record import Post

TWEETS_CSV_HEADER = (
    "id", "created_at", "author_id", "username", "name", "type", "text", "lang",
    "retweet_of", "quote_of", "reply_to", "hashtags", "mentions", "urls", "media_keys",
    "retweet_count", "reply_count", "like_count", "quote_count", "source", "place",
    # the accounts the post points at, where its record knows them (dnflow.networks)
    "retweet_of_author_id", "retweet_of_username", "quote_of_author_id",
    "reply_to_author_id",
    # a repost's original's hashtags (its own are cut with its text): hashtag pairs
    "retweet_of_hashtags",
)


def packed(value: Any) -> bytes:
    """orjson bytes that take only their size: orjson's own keep its whole work buffer
    (about 1 KiB however short the JSON), which for every user of a big search adds up."""
    return bytes(memoryview(orjson.dumps(value)))


# the time key of a profile whose tweet names no username (any with one replaces it),
# and of one whose tweet has no usable time: both sort before every real time
# (the format of a profile is dnflow.userscsv's: TIME_KEY bytes, then the row)
TIME_KEY = userscsv.TIME_KEY
NOBODY = userscsv.NOBODY.decode()
NO_TIME = " " * TIME_KEY
# where a users.csv row takes its tweet count: lone surrogates never come out of JSON
# parsers, and "surrogateescape" encodes this one as userscsv.COUNT_SLOT (0xFF)
COUNT_SLOT_STR = userscsv.COUNT_SLOT.decode("utf-8", "surrogateescape")


def time_key(created: str) -> str:
    """TIME_KEY printable ASCII characters that sort as the profile's tweet time."""
    if len(created) == TIME_KEY and created.isascii() and created.isprintable():
        return created
    return NO_TIME


def user_row(t: str, username: Any, name: Any, followers: Any, following: Any) -> bytes:
    """An author's time key then users.csv line, the tweet count left as one 0xFF byte.

    Built once per profile and kept as bytes: a big search has a row per author, and
    most of them never change again.
    """
    username = username or ""
    name = name or ""
    if followers.__class__ is not int:
        followers = num(followers)
    if following.__class__ is not int:
        following = num(following)
    if username.__class__ is str and name.__class__ is str:
        line = (f"{t}{csv_field(username)},{csv_field(name)},{COUNT_SLOT_STR},"
                f"{followers},{following}\r\n")
    else:  # not text: as the csv module writes it
        line = (t + csv_plain((username, name, ""))[:-2] + COUNT_SLOT_STR
                + csv_plain(("", followers, following))[:-2] + "\r\n")
    return line.encode("utf-8", "surrogateescape")


def original_row(tid: str, orig: Post) -> tuple[bytes, bytes]:
    """An original's retweets.csv row up to its count, and its card."""
    username, text = orig.author.handle or "", orig.text or ""
    if tid.__class__ is str and username.__class__ is str and text.__class__ is str:
        row = f"{csv_field(tid)},{csv_field(username)},{csv_field(text)},"
    else:  # not text: as the csv module writes it
        row = csv_plain((tid, username, text))[:-2] + ","
    return row.encode(), packed(card(orig))


def card(rec: Post) -> dict:
    """What a tweet card needs, without the bulk of a full record (and, on a platform
    whose post links are not made from an id, the post's ``url``; an author's
    ``indexable`` where the platform has it)."""
    a = rec.author
    out = _card(rec, a)
    if _URLS_IN_RECORDS[rec.platform]:
        out["url"] = rec.url
    if a.indexable is not None:
        out["author"]["indexable"] = a.indexable
    return out


def _card(rec: Post, a: Any) -> dict:
    return {
        "id": rec.id,
        "created_at": rec.created_at,
        "author": {"id": a.id, "username": a.handle, "name": a.name,
                   "verified": a.verified, "profile_image_url": a.avatar},
        "text": rec.text,
        "lang": rec.lang,
        "hashtags": rec.hashtags,
        "mentions": rec.mentions,
        "urls": rec.links,
        "media": rec.media,
        "metrics": rec.metrics,
        "retweet_of": rec.repost_of,
        "quote_of": rec.quote_of,
        "reply_to": rec.reply_to,
    }


# ---------------------------------------------------------------- tweets.csv rows

METRICS = itemgetter("retweet_count", "reply_count", "like_count", "quote_count")


def tweet_row(rec: Post) -> bytes:
    """One tweets.csv line (UTF-8), as ``csv.writer(quoting=QUOTE_NONNUMERIC)`` writes it.

    Formatted by hand (the csv module walks every character of every field): strings
    and missing values quoted, quotes doubled, counts as bare numbers, CRLF ends. A value
    with a quote, or not a string, takes the csv module's path.
    """
    a = rec.author
    m = rec.metrics
    place = rec.place
    kind = _KIND_WORDS[rec.platform][rec.kind]
    urls = rec.links
    media = rec.media
    try:
        rc, pc, lc, qc = METRICS(m)
    except KeyError:  # a count the data does not have: written empty, by the csv module
        return csv_row(rec).encode()
    if not (type(rc) is int and type(pc) is int and type(lc) is int and type(qc) is int):
        return csv_row(rec).encode()
    # None is written as "" (quoted, as csv does): `"" if v is None else v`, inlined
    try:
        head = '","'.join((
            rec.id,
            "" if (v := rec.created_at) is None else v,
            "" if (v := a.id) is None else v,
            "" if (v := a.handle) is None else v,
            "" if (v := a.name) is None else v,
            kind,
            rec.text,
            "" if (v := rec.lang) is None else v,
            "" if (v := rec.repost_of) is None else v,
            "" if (v := rec.quote_of) is None else v,
            "" if (v := rec.reply_to) is None else v,
            " ".join(rec.hashtags),
            " ".join(rec.mentions),
            " ".join([u["url"] for u in urls]) if urls else "",
            " ".join([x["key"] for x in media if x["key"]]) if media else "",
        ))
        source = "" if (v := rec.client) is None else v
        place = "" if place is None or (v := place["full_name"]) is None else v
        orig = rec.reposted
        tail = '","'.join((
            source, place,
            "" if orig is None or (v := orig.author.id) is None else v,
            "" if orig is None or (v := orig.author.handle) is None else v,
            "" if (v := rec.quote_user) is None else v,
            "" if (v := rec.reply_user) is None else v,
            "" if orig is None else " ".join(orig.hashtags),
        ))
        line = f'"{head}",{rc},{pc},{lc},{qc},"{tail}"\r\n'.encode()
    except TypeError:  # a value that is not text where text is expected: let csv say it
        return csv_row(rec).encode()
    # 22 quoted fields: any other quote came from a value and must be doubled
    if line.count(b'"') != 44:
        return csv_row(rec).encode()
    return line


def csv_line(values: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC).writerow(values)
    return buf.getvalue()


def csv_row(rec: Post) -> str:
    a = rec.author
    m = rec.metrics
    place = rec.place
    return csv_line((
        rec.id, rec.created_at, a.id, a.handle, a.name,
        _KIND_WORDS[rec.platform][rec.kind], rec.text, rec.lang,
        rec.repost_of, rec.quote_of, rec.reply_to, " ".join(rec.hashtags),
        " ".join(rec.mentions),
        " ".join([u["url"] for u in rec.links]) if rec.links else "",
        " ".join([x["key"] for x in rec.media if x["key"]]) if rec.media else "",
        m.get("retweet_count"), m.get("reply_count"), m.get("like_count"),
        m.get("quote_count"), rec.client, place["full_name"] if place else None,
        orig.author.id if (orig := rec.reposted) is not None else None,
        orig.author.handle if orig is not None else None,
        rec.quote_user, rec.reply_user,
        " ".join(orig.hashtags) if orig is not None else None,
    ))


def num(v: Any) -> Any:
    # a number, or nothing (followers/following the archive does not have)
    return v if v.__class__ is int or isinstance(v, int) else ""


# what makes the csv module (QUOTE_MINIMAL, the default) quote a field
_CSV_SPECIAL = re.compile('[",\r\n]')


def csv_field(text: str) -> str:
    """A text field as ``csv.writer`` writes it in a row of more than one field: quoted,
    with its quotes doubled, only if it has a comma, a quote or a line break."""
    if _CSV_SPECIAL.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_plain(values: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


class _KindWords(dict):
    """platform name → its words for the record kinds (tweets.csv's ``type``)."""

    def __missing__(self, platform: str) -> dict[str, str]:
        words = self[platform] = PLATFORMS[platform].kind_words
        return words


_KIND_WORDS = _KindWords()


class _UrlsInRecords(dict):
    """platform name → whether its post links are the records' own URLs."""

    def __missing__(self, platform: str) -> bool:
        value = self[platform] = PLATFORMS[platform].post_urls_in_records
        return value


_URLS_IN_RECORDS = _UrlsInRecords()


def write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    try:
        data = orjson.dumps(value, option=option)
    except TypeError:  # a lone surrogate (a file name's undecodable bytes, an error text)
        data = orjson.dumps(_no_surrogates(value), option=option)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _no_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its text made "?" (JSON cannot hold one)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if any(
            "\ud800" <= c <= "\udfff" for c in value) else value
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_surrogates(v) for v in value]
    return value


def splits_at_commas(path: Path, fields: int | None = None) -> bool:
    """Whether each line of CSV file ``path`` is a row whose fields split at its commas,
    as the csv module reads them: no quote and no NUL anywhere, and every line ends in
    CRLF (as dnflow writes them), with no other carriage return and no empty line; with
    ``fields``, each line has that many. Splitting takes a quarter of the csv module's
    time on a big users.csv, and one block of lines at a time, little memory."""
    with open(path, "rb") as f:
        while lines := f.readlines(1 << 20):
            block = b"".join(lines)
            crlf = block.count(b"\r\n")
            if (b'"' in block or b"\0" in block or not block.endswith(b"\r\n")
                    or block.count(b"\n") != crlf or block.count(b"\r") != crlf
                    or block.startswith(b"\r\n") or b"\n\r\n" in block
                    or fields is not None and block.count(b",") != (fields - 1) * crlf):
                return False
    return True
