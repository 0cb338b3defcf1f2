"""Read a search's summary directory (docs/internals.md) into what the templates show.

Only top-N rows are kept, so a page's size does not grow with the collection. The site
never counts: it takes the summarizer's files as they are, and only ranks users (by
followers, by follow ratio) with a bounded heap over users.csv.
"""

from __future__ import annotations

import csv
import heapq
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from dnflow import counting, optouts, outputs
from dnflow.platforms import Platform
from dnflow.rows import splits_at_commas
from dnflow.publish import ANONYMOUS, Publisher
from dnflow.site import text as tx

log = logging.getLogger(__name__)

TOP_N = 25
TOP_CARDS = 25
SAMPLE_CARDS = 10
TOP_MEDIA = 25
MAX_ROWS = 100
MAX_CARD_LINKS = 4  # run history / files read / skipped lines shown on a page

csv.field_size_limit(1 << 26)

LANGUAGES = {
    "am": "Amharic", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "bo": "Tibetan",
    "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German",
    "dv": "Divehi", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "gu": "Gujarati",
    "he": "Hebrew", "hi": "Hindi", "ht": "Haitian Creole", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "in": "Indonesian", "is": "Icelandic",
    "it": "Italian", "iw": "Hebrew", "ja": "Japanese", "ka": "Georgian", "km": "Khmer",
    "kn": "Kannada", "ko": "Korean", "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian",
    "ml": "Malayalam", "mr": "Marathi", "ms": "Malay", "my": "Burmese", "ne": "Nepali",
    "nl": "Dutch", "no": "Norwegian", "or": "Odia", "pa": "Punjabi", "pl": "Polish",
    "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sd": "Sindhi",
    "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish",
    "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
    "und": "undetermined", "zxx": "no linguistic content", "qme": "media only",
    "qam": "mentions only", "qct": "cashtags only", "qht": "hashtags only",
    "qst": "very short text", "art": "artificial language",
}
# lang attributes only for real language tags (axe checks them; X's q* codes are not)
HTML_LANGS = {k: k for k in LANGUAGES if len(k) == 2} | {"in": "id", "iw": "he"}


# ------------------------------------------------------------------ small readers


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def iter_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV as dicts; nothing if the file is missing."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def head_rows(path: Path, n: int = TOP_N) -> list[dict[str, str]]:
    out = []
    for row in iter_rows(path):
        if len(out) >= n:
            break
        out.append(row)
    return out


def to_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ time

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?")


def parse_iso(s: Any) -> datetime | None:
    m = _ISO.match(s) if isinstance(s, str) else None
    if not m:
        return None
    try:
        return datetime(*(int(g or 0) for g in m.groups()), tzinfo=UTC)
    except ValueError:
        return None


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_time(s: Any) -> str:
    dt = parse_iso(s)
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "–"


def span_text(first: Any, last: Any) -> str:
    a, b = parse_iso(first), parse_iso(last)
    if not a or not b:
        return "–"
    if a.date() == b.date():
        return f"{a:%Y-%m-%d} {a:%H:%M}–{b:%H:%M} UTC"
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M} UTC"


def every_seconds(every: Any) -> int | None:
    m = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", every) if isinstance(every, str) else None
    if not m:
        return None
    return int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]


_RUN_TIME_KEYS = ("finished", "finished_at", "ended", "retrieved_at", "started",
                  "started_at", "time", "window", "stamp")


def run_time(run: Mapping[str, Any]) -> datetime | None:
    for key in _RUN_TIME_KEYS:
        dt = parse_iso(run.get(key))
        if dt:
            return dt
    return None


def last_update(summary: Mapping[str, Any]) -> datetime | None:
    """Newest run record if any, else the summary's ``generated`` time."""
    times = [t for r in summary.get("runs") or () if isinstance(r, Mapping)
             if (t := run_time(r))]
    return max(times) if times else parse_iso(summary.get("generated"))


def pct(count: int | None, total: int | None) -> str:
    if not count or not total:
        return "0%"
    p = 100 * count / total
    return f"{p:.1f}%" if p >= 0.1 else "<0.1%"


def size_text(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


# ------------------------------------------------------------------ summary


def load_summary(summary_dir: Path) -> dict[str, Any]:
    """summary.json, or a failed stand-in saying why it could not be read."""
    path = summary_dir / "summary.json"
    try:
        summary = read_json(path)
        if not isinstance(summary, dict):
            raise ValueError("summary.json is not an object")
    except (OSError, ValueError) as e:
        log.warning("cannot read %s: %s", path, e)
        return {"status": "failed", "error": f"cannot read summary.json: {e}"}
    return summary


def status_of(summary: Mapping[str, Any]) -> str:
    return "failed" if summary.get("status") == "failed" else "ok"


# ------------------------------------------------------------------ count sections


def _row(label: str, href: str | None, value: float, total: int | None,
         extra: Sequence[str] = (), share: bool = True, value_text: str | None = None
         ) -> dict[str, Any]:
    return {
        "label": label,
        "href": href,
        "value": value,
        "value_text": value_text if value_text is not None else f"{int(value):,}",
        "extra": list(extra),
        "pct": pct(int(value), total) if share else None,
    }


def _plain_counts(rows: list[dict[str, str]], key: str, kind: str, total: int | None,
                  platform: Platform, prefix: str = "", pub: Publisher | None = None
                  ) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        value = r.get(key) or ""
        count = to_int(r.get("count")) or 0
        if kind == "user" and pub is not None and not pub.is_public(value):
            out.append(_row(ANONYMOUS, None, count, total))  # its handle is not published
            continue
        if kind == "url":
            label = tx.short_url(value)
        elif kind == "lang":
            name = LANGUAGES.get(value)
            label = f"{name} ({value})" if name else value
        elif kind == "user" and optouts.is_hidden(value):  # a withheld author mentioned
            out.append(_row(optouts.ANONYMOUS, None, count, total))
            continue
        else:
            label = prefix + value
        out.append(_row(label, tx.value_link(kind, value, platform), count, total))
    return out


def top_users(path: Path, n: int = TOP_N) -> tuple[list[dict], list[dict]]:
    """Top ``n`` users.csv rows by followers and by follow ratio (one pass, ties by name).

    Ratio is followers / following, with following 0 counted as 1.
    """
    by_followers: list[tuple] = []  # min-heaps of the best n so far
    by_ratio: list[tuple] = []
    for i, (followers, following, username, r) in enumerate(user_numbers(path)):
        if followers is None:
            continue
        # ties: the smaller username ranks first, so it must compare as "larger" here
        if len(by_followers) < n or followers >= by_followers[0][0]:
            _push(by_followers, (followers, _desc(username), i, r), n)
        if following is not None:
            ratio = followers / max(following, 1)
            if len(by_ratio) < n or ratio >= by_ratio[0][0]:
                _push(by_ratio, (ratio, _desc(username), i, r), n)
    return ([dict(_user_dict(r), _score=str(k)) for k, _, _, r in sorted(by_followers,
                                                                        reverse=True)],
            [dict(_user_dict(r), _score=repr(k)) for k, _, _, r in sorted(by_ratio,
                                                                         reverse=True)])


_USERS_HEADER = b"username,name,tweets,followers,following"
# a users.csv line without quoted fields (dnflow writes most of them so)
_USERS_BLOCK = 1 << 22  # bytes of users.csv lines split at once
_USER_LINE = re.compile(rb"([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)\r\n")


def user_numbers(path: Path) -> Iterator[tuple[int | None, int | None, str, Any]]:
    """(followers, following, username, row) per users.csv row; ``row`` as _user_dict
    takes it. A big search's users.csv has a row per author (389k for a million tweets,
    millions for the biggest): without quoted fields, a regex splits a block of lines
    at a time, and only the best become dicts."""
    try:
        with open(path, "rb") as f:
            ours = f.readline().rstrip(b"\r\n") == _USERS_HEADER
    except FileNotFoundError:
        return
    if not (ours and splits_at_commas(path, 5)):
        for r in iter_rows(path):  # quoted fields (or not dnflow's): the csv module
            yield (to_int(r.get("followers")), to_int(r.get("following")),
                   r.get("username") or "", r)
        return
    with open(path, "rb") as f:
        f.readline()
        while lines := f.readlines(_USERS_BLOCK):
            for r in _USER_LINE.findall(b"".join(lines)):
                yield _int_or_none(r[3]), _int_or_none(r[4]), r[0].decode(), r


def _int_or_none(b: bytes) -> int | None:
    try:
        return int(b)
    except ValueError:
        return None


def _user_dict(r: Any) -> dict[str, str]:
    if isinstance(r, dict):
        return r
    return dict(zip(("username", "name", "tweets", "followers", "following"),
                    (v.decode() for v in r), strict=True))


def _desc(s: str) -> str:
    # maps a string to one that sorts in reverse order (for ascending-name tie breaks)
    return "".join(chr(0x10FFFF - ord(c)) for c in s) + "\U0010ffff"


def _push(heap: list, item: tuple, n: int) -> None:
    if len(heap) < n:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)


# {post}, {posts}, {repost}, {Reposts}, {label}: the platform's words (text.words)
def name(r: Mapping[str, Any]) -> str:
    return tx.clip(r.get("name") or "", 100)


def count_sections(d: Path, summary: Mapping[str, Any], platform: Platform,
                   gaps: Mapping[str, str] | None = None, pub: Publisher | None = None
                   ) -> list[dict[str, Any]]:
    """The page's ranked tables: every registered count's sections (dnflow.counting), in
    their page order, each read from its CSV in ``d``. A section whose data the search
    lacks (``gaps``: dnflow.sources.gaps_of, in the platform's words) says why instead.
    ``pub`` (dnflow.publish): a section whose file the search's level does not publish
    is left out, small accounts are "an account", and rows that name one are left out of
    a table of values that can (URLs)."""
    gaps = gaps or {}
    pub = pub or Publisher("")
    files = {o.name: o for o in outputs.manifest()}
    total = to_int(summary.get("tweets"))
    w = tx.words(platform)
    distinct = summary.get("counts") or {}
    users_total = to_int(summary.get("users"))
    specs = counting.sections()
    ranked: tuple[list[dict], list[dict]] | None = None  # users.csv's top, read once
    secs: list[dict[str, Any]] = []
    for spec in specs:
        table = spec.table
        out = files.get(spec.csv)
        if out is not None and not pub.shows(out):
            continue
        gap = gaps.get(spec.needs) if spec.needs else None
        if gap is not None:
            secs.append({"id": spec.id, "title": spec.title.format(**w), "csv": spec.csv,
                         "rows": [], "gap": gap, "note": spec.note.format(**w)})
            continue
        if table in ("followers", "ratio") and ranked is None:
            ranked = top_users(d / spec.csv)
        if table == "posts":
            rows = _author_rows(head_rows(d / spec.csv), total, platform, pub)
        elif table == "followers":
            rows = _followed_rows(ranked[0], platform, pub)
        elif table == "ratio":
            rows = _ratio_rows(ranked[1], platform, pub)
        else:
            head = head_rows(d / spec.csv, TOP_N * 4 if out and out.scan else TOP_N)
            if out is not None and spec.key in out.scan and not pub.everything:
                head = [r for r in head if not pub.names_hidden(r.get(spec.key) or "")]
            rows = _plain_counts(head[:TOP_N], spec.key, spec.link, total,
                                 platform, spec.prefix, pub)
        secs.append({
            "id": spec.id, "title": spec.title.format(**w), "csv": spec.csv,
            "headers": [h.format(**w) for h in spec.headers], "rows": rows,
            "noun": spec.noun,
            "all": (to_int(distinct.get(spec.distinct or "")) if table == "counts"
                    else users_total),
            "note": spec.note.format(**w), "value_fmt": "ratio" if table == "ratio" else "int",
            "share": bool(rows) and rows[0]["pct"] is not None,
            "extra_num": table == "ratio",
            "gap": None,
        })
    return secs


def _shown(r: Mapping[str, Any], pub: Publisher) -> bool:
    return pub.everything or pub.is_public(r.get("username"))


def _user_link(r: Mapping[str, Any], platform: Platform, pub: Publisher) -> str | None:
    if not _shown(r, pub):
        return None
    return tx.value_link("user", r.get("username") or "", platform)


def _handle(r: Mapping[str, Any], platform: Platform, pub: Publisher) -> str:
    """A users.csv row's label: ``@handle``, or on a platform with withheld authors
    (Mastodon) "an account" for a row without one (dnflow.optouts), and for a small
    account at publishing level ids (dnflow.publish)."""
    if r.get("username") and _shown(r, pub):
        return "@" + r["username"]
    return ANONYMOUS if platform.withholds_authors or r.get("username") else "@?"


def _name(r: Mapping[str, Any], pub: Publisher) -> str:
    return name(r) if _shown(r, pub) else ""


def _author_rows(rows: list[dict], total: int | None, platform: Platform,
                 pub: Publisher) -> list[dict]:
    return [_row(_handle(r, platform, pub), _user_link(r, platform, pub),
                 to_int(r.get("tweets")) or 0, total, extra=[_name(r, pub)]) for r in rows]


def _followed_rows(rows: list[dict], platform: Platform, pub: Publisher) -> list[dict]:
    return [_row(_handle(r, platform, pub), _user_link(r, platform, pub),
                 to_int(r.get("followers")) or 0, None, extra=[_name(r, pub)], share=False)
            for r in rows]


def _ratio_rows(rows: list[dict], platform: Platform, pub: Publisher) -> list[dict]:
    return [_row(_handle(r, platform, pub), _user_link(r, platform, pub),
                 float(r["_score"]), None, share=False, value_text=f"{float(r['_score']):,.1f}",
                 extra=[f"{to_int(r.get('followers')) or 0:,}",
                        f"{to_int(r.get('following')) or 0:,}"])
            for r in rows]


# ------------------------------------------------------------------ cards and media


def _html_lang(lang: Any) -> str | None:
    return HTML_LANGS.get(lang) if isinstance(lang, str) else None


def _thumb(m: Mapping[str, Any], count: int | None = None) -> dict[str, Any] | None:
    """A media item as a link to it on its platform (pages load nothing from elsewhere:
    the archive's own copies are shown by dnflow.site.image_groups)."""
    href = tx.safe_url(m.get("url")) or tx.safe_url(m.get("preview") or m.get("preview_url"))
    if not href:
        return None
    kind = {"photo": "Photo", "video": "Video", "animated_gif": "GIF"}.get(
        m.get("type") or "", "Media")
    alt = (m.get("alt_text") or "").strip()
    return {
        "href": href,
        "kind": kind,
        "alt": tx.clip(alt, 1000) if alt else f"{kind} (no description given by the author)",
        "has_alt": bool(alt),
        "alt_hidden": False,
        "count": count,
    }


def card(rec: Mapping[str, Any], platform: Platform, pub: Publisher | None = None
         ) -> dict[str, Any]:
    if pub is not None and not pub.everything:
        return id_card(rec, platform, pub)
    w = tx.words(platform)
    author = rec.get("author") or {}
    handle, shown_name = optouts.shown_author(author)
    username = handle or ""
    metrics = rec.get("metrics") or {}
    if rec.get("retweet_of"):
        kind = w["Repost"]
    elif rec.get("quote_of"):
        kind = "Quote"
    elif rec.get("reply_to"):
        kind = "Reply"
    else:
        kind = None
    return {
        "name": tx.clip(str(shown_name or username or "unknown"), 100),
        "withheld": (withheld := author.get("indexable") is False and not handle),
        "ids_only": False,
        "username": username,
        "user_href": tx.value_link("user", username, platform),
        "html": tx.tweet_html(rec, platform),
        # a withheld post's card shows nothing of what it said, links included
        "links": [] if withheld else tx.extra_links(rec)[:MAX_CARD_LINKS],
        "lang": _html_lang(rec.get("lang")),
        "time": rec.get("created_at"),
        "time_text": fmt_time(rec.get("created_at")),
        "href": (href := tx.post_url(rec, platform)),
        "host": urlsplit(href).netloc if href else None,
        "w": w,
        "kind": kind,
        "in_search": to_int(rec.get("retweets_in_search")),
        "metrics": _metrics(metrics, w),
        "media": [] if withheld else [t for m in (rec.get("media") or ())[:4]
                                      if isinstance(m, Mapping) if (t := _thumb(m))],
    }


def _metrics(metrics: Mapping[str, Any], w: Mapping[str, str]) -> list[tuple[str, int]]:
    """A card's counts as (word, number), those the platform gave."""
    return [(one if n == 1 else many, n) for one, many, key in (
        (w["repost"], w["reposts"], "retweet_count"), ("quote", "quotes", "quote_count"),
        ("reply", "replies", "reply_count"), ("like", "likes", "like_count"))
        if (n := to_int(metrics.get(key))) is not None]


def _kind(rec: Mapping[str, Any], w: Mapping[str, str]) -> str | None:
    if rec.get("retweet_of"):
        return w["Repost"]
    if rec.get("quote_of"):
        return "Quote"
    if rec.get("reply_to"):
        return "Reply"
    return None


def id_card(rec: Mapping[str, Any], platform: Platform, pub: Publisher) -> dict[str, Any]:
    """A post's card at publishing level ids: no text, links or media, only a link to the
    post on its platform (which shows it only while it exists), its time, kind and
    counts, and its author's handle if public (else "an account", and a link that does
    not spell the handle out: X's i/web links; none where every link to the post names
    its author, as Mastodon's do)."""
    w = tx.words(platform)
    author = rec.get("author") or {}
    handle = pub.label(optouts.shown_author(author)[0])
    shown = dict(rec, author=dict(author, username=handle)) if not handle else rec
    href = tx.post_url(shown, platform)
    if href and pub.names_hidden(href):
        href = None
    metrics = rec.get("metrics") or {}
    return {
        "name": tx.clip(str(author.get("name") or handle), 100) if handle else ANONYMOUS,
        "withheld": False, "ids_only": True,
        "username": handle or "",
        "user_href": tx.value_link("user", handle or "", platform),
        "html": "", "links": [], "media": [], "lang": None,
        "time": rec.get("created_at"),
        "time_text": fmt_time(rec.get("created_at")),
        "href": href,
        "host": urlsplit(href).netloc if href else None,
        "w": w,
        "kind": _kind(rec, w),
        "in_search": to_int(rec.get("retweets_in_search")),
        "metrics": _metrics(metrics, w),
    }


def load_cards(d: Path, platform: Platform, pub: Publisher | None = None
               ) -> tuple[list[dict], list[dict]]:
    """The most reposted originals and the sample as cards; none at level counts."""
    if pub is not None and not pub.allows("ids"):
        return [], []
    try:
        cards = read_json(d / "cards.json")
    except (OSError, ValueError):
        return [], []
    if not isinstance(cards, dict):
        return [], []
    top = [card(r, platform, pub) for r in (cards.get("top_retweeted") or [])[:TOP_CARDS]
           if isinstance(r, dict)]
    sample = [card(r, platform, pub) for r in (cards.get("sample") or [])[:SAMPLE_CARDS]
              if isinstance(r, dict)]
    return top, sample


def load_media(d: Path, pub: Publisher | None = None) -> tuple[list[dict], int]:
    """Most shared media with a usable URL, and how many rows had no URL at all; none at
    publishing level counts, and no alt text (people's words) at ids."""
    shown, missing = [], 0
    if pub is not None and not pub.allows("ids"):
        return [], 0
    alt = pub is None or pub.everything
    for r in iter_rows(d / "media.csv"):
        if not (r.get("url") or r.get("preview_url")):
            missing += 1
        elif not alt and pub.names_hidden(f"{r.get('url')} {r.get('preview_url')}"):
            continue  # as media.csv's published copy leaves it out (dnflow.publish)
        elif len(shown) < TOP_MEDIA:
            t = _thumb({"type": r.get("type"), "url": r.get("url"),
                        "preview": r.get("preview_url"),
                        "alt_text": r.get("alt_text") if alt else None},
                       to_int(r.get("count")))
            if t and not alt:  # people's words: not published below everything
                t.update(alt=f"{t['kind']} (its description is not published)",
                         alt_hidden=True)
            if t:
                shown.append(t)
    return shown, missing


# ------------------------------------------------------------------ timeline


def load_timeline(d: Path) -> list[tuple[str, int]]:
    out = []
    for r in iter_rows(d / "timeline.csv"):
        t, c = r.get("time"), to_int(r.get("count"))
        if t and _ISO.match(t) and c is not None:
            out.append((str(t), c))
    return out


def busiest(points: Sequence[tuple[str, int]], n: int = 5) -> list[tuple[str, int]]:
    return heapq.nsmallest(n, (p for p in points if p[1]), key=lambda p: (-p[1], p[0]))


# ------------------------------------------------------------------ runs and files


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, str):
        return tx.clip(v, 300)
    return tx.clip(orjson.dumps(v).decode(), 300)


# run record fields shown in the run history (all of them are in runs.json)
RUN_COLUMNS = (
    ("window", "Window"), ("attempt", "Attempt"), ("status", "Status"),
    ("finished", "Finished"), ("new_tweets", "New {posts}"), ("new_posts", "New {posts}"),
    ("pages", "Pages"),
    ("requests", "Requests"), ("retries", "Retries"), ("waits", "Waited (s)"),
    ("rate_limit_waits", "Rate-limit waits"), ("stopped", "Stopped"),
)


def load_runs(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Run records (one JSON object per file), oldest first."""
    runs = []
    for p in paths:
        try:
            r = read_json(Path(p))
        except (OSError, ValueError) as e:
            log.warning("cannot read run record %s: %s", p, e)
            continue
        if isinstance(r, dict):
            runs.append(r)
    return sorted(runs, key=_run_order)


def _run_order(r: Mapping[str, Any]) -> tuple[str, int, str]:
    t = run_time(r)
    return (iso(t) if t else "", to_int(r.get("attempt")) or 0, str(r.get("window") or ""))


def latest_run(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    runs = [r for r in summary.get("runs") or () if isinstance(r, Mapping)]
    return dict(max(runs, key=_run_order)) if runs else None


def runs_table(summary: Mapping[str, Any], posts: str = "posts") -> dict[str, Any]:
    """Run records as a table, newest first: the known fields of collection runs, or
    every field for records of another shape."""
    runs = sorted((r for r in summary.get("runs") or () if isinstance(r, Mapping)),
                  key=_run_order, reverse=True)
    known = [(k, h) for k, h in RUN_COLUMNS if any(k in r for r in runs)]
    if known:
        cols = [k for k, _ in known]
        headers = [h.format(posts=posts) for _, h in known] + ["Error or note"]
    else:
        cols = []
        for r in runs:
            cols.extend(k for k in r if k not in cols)
        headers = [c.replace("_", " ") for c in cols]
    shown = runs[:MAX_ROWS]
    rows = []
    for r in shown:
        row = [_cell(fmt_time(r[c]) if c in ("finished", "started") and r.get(c) else r.get(c))
               for c in cols]
        if known:
            row.append(_cell(r.get("error") or r.get("note")))
        rows.append({"cells": row, "failed": r.get("status") == "failed"})
    return {"headers": headers, "rows": rows, "more": len(runs) - len(shown),
            "total": len(runs)}


def coverage_table(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per instance of a search that collects from several (Mastodon): the posts it
    brought over every run, how many were new to the search, how many it gave of
    accounts that opted out, its requests, and how its latest run went. Records of a
    window left open (``open``: its figures are carried by the run that completes it)
    are not added up."""
    per: dict[str, dict[str, Any]] = {}
    order = [i for i in summary.get("instances") or () if isinstance(i, str)]
    for r in sorted((r for r in summary.get("runs") or () if isinstance(r, Mapping)),
                    key=_run_order):
        inst = r.get("instances")
        if not isinstance(inst, Mapping):
            continue
        for name, s in inst.items():
            if not isinstance(s, Mapping):
                continue
            row = per.setdefault(str(name), {"instance": str(name), "posts": 0, "new": 0,
                                             "left_out": 0, "requests": 0, "runs": 0})
            row["status"], row["error"] = s.get("status"), s.get("error")
            if r.get("open"):
                continue
            row["runs"] += 1
            for key in ("posts", "new", "left_out", "requests"):
                row[key] += to_int(s.get(key)) or 0
    names = [n for n in order if n in per] + sorted(n for n in per if n not in order)
    return [per[n] for n in names]


def opt_outs(summary: Mapping[str, Any], platform: Platform) -> dict[str, Any] | None:
    """What the page says about opt-outs (dnflow.optouts), on a platform that has them."""
    if not platform.withholds_authors:
        return None
    return {"left_out": to_int(summary.get("left_out")) or 0,
            "withheld": to_int(summary.get("withheld")) or 0,
            "included": bool(summary.get("include_opted_out"))}


def removals(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the page says about deletions (dnflow.deletions), when the search lists any."""
    if "removed" not in summary:
        return None
    checked = summary.get("removed_checked")
    return {"removed": to_int(summary.get("removed")) or 0,
            "checked": checked if isinstance(checked, str) else None}


def files_table(summary: Mapping[str, Any]) -> dict[str, Any]:
    files = [s for s in summary.get("sources") or () if isinstance(s, Mapping)]
    rows = [{
        "path": str(s.get("path") or ""),
        "formats": ", ".join(s.get("formats") or ()),
        "lines": to_int(s.get("lines")),
        "tweets": to_int(s.get("tweets")),
        "new": to_int(s.get("new")),
        "skipped": to_int(s.get("skipped")),
    } for s in files[:MAX_ROWS]]
    return {"rows": rows, "more": max(len(files) - MAX_ROWS, 0), "total": len(files)}


def skipped_rows(summary: Mapping[str, Any], n: int = 20) -> list[dict[str, str]]:
    out = []
    for s in (summary.get("skipped_sample") or ())[:n]:
        if isinstance(s, Mapping):
            out.append({"file": str(s.get("file") or ""), "line": _cell(s.get("line")),
                        "reason": _cell(s.get("reason"))})
    return out
