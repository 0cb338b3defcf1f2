"""Count a search in one streaming pass: dedup by id, every counter updated per tweet.

Memory is bounded except for the counters themselves (and the set of ids seen, which
dedup needs). Rows of tweets.csv, tweet-ids.txt and skipped.csv are streamed to disk.
The counting rules here are the ones the README and every page describe ("how counted").
"""

from __future__ import annotations

import csv
import gc
import heapq
import os
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from dnflow.sources.archive import Skip, read_json_lines
from dnflow.tweets import NotTweets, Record, normalize, tweets_in

TOP_CARDS = 25
SAMPLE_SIZE = 10
SKIPPED_SAMPLE = 100

COUNT_FILES = {
    # file: (header, counter attribute)
    "hashtags.csv": (("hashtag", "count"), "hashtags"),
    "mentions.csv": (("username", "count"), "mentions"),
    "urls.csv": (("url", "count"), "urls"),
    "domains.csv": (("domain", "count"), "domains"),
    "languages.csv": (("lang", "count"), "languages"),
    "sources.csv": (("source", "count"), "sources"),
}
TWEETS_CSV_HEADER = (
    "id", "created_at", "author_id", "username", "name", "type", "text", "lang",
    "retweet_of", "quote_of", "reply_to", "hashtags", "mentions", "urls", "media_keys",
    "retweet_count", "reply_count", "like_count", "quote_count", "source", "place",
)


def tweet_type(rec: Record) -> str:
    if rec["retweet_of"]:
        return "retweet"
    if rec["quote_of"]:
        return "quote"
    if rec["reply_to"]:
        return "reply"
    return "original"


class Counts:
    """Every counter of a search; ``add`` takes one normalized tweet."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.tweets = self.retweets = self.quotes = self.replies = self.originals = 0
        self.hashtags: Counter[str] = Counter()
        self.mentions: Counter[str] = Counter()
        self.urls: Counter[str] = Counter()
        self.domains: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.minutes: Counter[str] = Counter()
        self.media: Counter[str] = Counter()
        self.media_info: dict[str, dict] = {}
        # author id → [username, name, tweets, followers, following, created_at of that profile]
        self.users: dict[str, list] = {}
        self.retweeted: Counter[str] = Counter()
        self.originals_info: dict[str, dict] = {}
        self.first: str | None = None
        self.last: str | None = None
        self._sample: list[tuple[int, str, Record]] = []

    def add(self, rec: Record) -> bool:
        """Count one tweet; False (and nothing counted) if its id was seen already."""
        # the hot loop of every summary: locals and dict.get instead of Counter methods
        tid = rec["id"]
        seen = self.seen
        if tid is None or tid in seen:
            return False
        seen.add(tid)
        self.tweets += 1
        created = rec["created_at"]
        if created:
            if self.first is None or created < self.first:
                self.first = created
            if self.last is None or created > self.last:
                self.last = created
            minute = created[:16]
            self.minutes[minute] = self.minutes.get(minute, 0) + 1

        orig = rec["retweeted"]
        retweet_of = rec["retweet_of"]
        if retweet_of:
            self.retweets += 1
            rt = self.retweeted
            rt[retweet_of] = rt.get(retweet_of, 0) + 1
            if orig is not None and retweet_of not in self.originals_info:
                self.originals_info[retweet_of] = _card(orig)
        elif rec["quote_of"]:
            self.quotes += 1
        if rec["reply_to"]:
            self.replies += 1
        elif not (retweet_of or rec["quote_of"]):
            self.originals += 1

        # a retweet's own entities are cut with its text: count the original's
        src = orig if orig is not None else rec
        tags = src["hashtags"]
        if tags:
            c = self.hashtags
            for h in {h.casefold() for h in tags} if len(tags) > 1 else (tags[0].casefold(),):
                c[h] = c.get(h, 0) + 1
        names = src["mentions"]
        if names:
            c = self.mentions
            for m in {m.casefold() for m in names} if len(names) > 1 else (names[0].casefold(),):
                c[m] = c.get(m, 0) + 1
        urls = src["urls"]
        if urls:
            cu, cd = self.urls, self.domains
            domains = set()
            for u in urls:  # already distinct per tweet (tweets.py)
                url = u["url"]
                cu[url] = cu.get(url, 0) + 1
                if u["domain"]:
                    domains.add(u["domain"])
            for d in domains:
                cd[d] = cd.get(d, 0) + 1
        media = src["media"]
        if media:
            cm, info = self.media, self.media_info
            for m in media:
                key = m["key"]
                if key is None:
                    continue
                cm[key] = cm.get(key, 0) + 1
                known = info.get(key)
                if known is None or (known["url"] is None and m["url"]):
                    info[key] = m
        lang = rec["lang"] or (orig["lang"] if orig else None)
        if lang:
            self.languages[lang] = self.languages.get(lang, 0) + 1
        source = rec["source"]
        if source:
            self.sources[source] = self.sources.get(source, 0) + 1

        a = rec["author"]
        aid = a["id"] or a["username"]
        if aid:
            u = self.users.get(aid)
            if u is None:
                self.users[aid] = [a["username"], a["name"], 1, a["followers"],
                                   a["following"], created or ""]
            else:
                u[2] += 1
                # keep the profile as of the newest tweet, the closest to "now"
                if (created or "") >= u[5] and a["username"]:
                    u[0], u[1], u[3], u[4], u[5] = (a["username"], a["name"],
                                                    a["followers"], a["following"], created)

        # the sample keeps the smallest hashes: a min-heap of negated hashes
        b = tid.encode()
        key = -(zlib.crc32(b) << 32 | zlib.adler32(b))
        sample = self._sample
        if len(sample) < SAMPLE_SIZE:
            heapq.heappush(sample, (key, tid, rec))
        elif key > sample[0][0]:
            heapq.heapreplace(sample, (key, tid, rec))
        return True

    def sample(self) -> list[Record]:
        return [r for _, _, r in sorted(self._sample, reverse=True)]


def _card(rec: Record) -> dict:
    """What a tweet card needs, without the bulk of a full record."""
    return {
        "id": rec["id"],
        "created_at": rec["created_at"],
        "author": {k: rec["author"][k] for k in ("id", "username", "name", "verified",
                                                  "profile_image_url")},
        "text": rec["text"],
        "lang": rec["lang"],
        "hashtags": rec["hashtags"],
        "mentions": rec["mentions"],
        "urls": rec["urls"],
        "media": rec["media"],
        "metrics": rec["metrics"],
        "retweet_of": rec["retweet_of"],
        "quote_of": rec["quote_of"],
        "reply_to": rec["reply_to"],
    }


# ---------------------------------------------------------------- time buckets


def bucket_for(first: str | None, last: str | None) -> str:
    """minute for up to 6 hours, hour up to 10 days, day up to 2 years, else month."""
    if not first or not last:
        return "day"
    span = _parse(last) - _parse(first)
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=10):
        return "hour"
    if span <= timedelta(days=731):
        return "day"
    return "month"


def _parse(iso: str) -> datetime:
    return datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


_BUCKET_LEN = {"minute": 16, "hour": 13, "day": 10, "month": 7}
# what completes a bucket key to YYYY-MM-DDTHH:MM:SS
_BUCKET_PAD = {"minute": ":00", "hour": ":00:00", "day": "T00:00:00", "month": "-01T00:00:00"}


def _next(cur: datetime, bucket: str) -> datetime:
    if bucket == "month":
        return (cur.replace(day=1) + timedelta(days=32)).replace(day=1)
    return cur + {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
                  "day": timedelta(days=1)}[bucket]


def timeline(minutes: Counter[str], bucket: str) -> list[tuple[str, int]]:
    """Per-minute counts rolled up to ``bucket``, empty buckets included, oldest first."""
    n = _BUCKET_LEN[bucket]
    pad = _BUCKET_PAD[bucket]
    rolled: Counter[str] = Counter()
    for minute, c in minutes.items():
        rolled[minute[:n]] += c
    if not rolled:
        return []
    cur, end = _parse(min(rolled) + pad), _parse(max(rolled) + pad)
    out = []
    while cur <= end:
        k = cur.strftime("%Y-%m-%dT%H:%M:%S")[:n]
        out.append((k + pad + "Z", rolled.get(k, 0)))
        cur = _next(cur, bucket)
    return out


# ---------------------------------------------------------------- the pass


def _sorted_counts(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


class _Writers:
    """The streamed outputs, written to temp names and renamed when the pass is done."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.tmp: list[Path] = []
        self.ids = self._open("tweet-ids.txt")
        self.tweets_f = self._open("tweets.csv")
        self.tweets = csv.writer(self.tweets_f, quoting=csv.QUOTE_NONNUMERIC)
        self.tweets.writerow(TWEETS_CSV_HEADER)
        self.skipped_f = self._open("skipped.csv")
        self.skipped = csv.writer(self.skipped_f)
        self.skipped.writerow(("file", "line", "reason"))

    def _open(self, name: str):
        path = self.outdir / f".{name}.tmp"
        self.tmp.append(path)
        return open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115

    def tweet(self, rec: Record) -> None:
        self.ids.write(rec["id"] + "\n")
        a = rec["author"]
        m = rec["metrics"]
        place = rec["place"]
        # None is written as "" by the csv module; counts stay unquoted numbers
        self.tweets.writerow((
            rec["id"], rec["created_at"], a["id"], a["username"], a["name"],
            tweet_type(rec), rec["text"], rec["lang"], rec["retweet_of"], rec["quote_of"],
            rec["reply_to"], " ".join(rec["hashtags"]), " ".join(rec["mentions"]),
            " ".join([u["url"] for u in rec["urls"]]) if rec["urls"] else "",
            " ".join([x["key"] for x in rec["media"] if x["key"]]) if rec["media"] else "",
            m.get("retweet_count"), m.get("reply_count"), m.get("like_count"),
            m.get("quote_count"), rec["source"], place["full_name"] if place else None,
        ))

    def close(self) -> None:
        for f in (self.ids, self.tweets_f, self.skipped_f):
            f.close()
        for path in self.tmp:
            os.replace(path, self.outdir / path.name[1:-4])

    def abort(self) -> None:
        for f in (self.ids, self.tweets_f, self.skipped_f):
            f.close()
        for path in self.tmp:
            path.unlink(missing_ok=True)


def _num(v: Any) -> Any:
    # counts are unquoted numbers in tweets.csv; ids and text are quoted strings
    return v if isinstance(v, int) else ""


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(tmp, path)


def _mtime_iso(paths: Iterable[Path]) -> str | None:
    times = [p.stat().st_mtime for p in paths if p.exists()]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summarize(
    files: Iterable[str | Path],
    outdir: str | Path,
    meta: dict[str, Any] | None = None,
    log=None,
) -> dict[str, Any]:
    """Read every file of a search once and write all of data/<slug>/summary/.

    ``meta`` (slug, title, description, source, query, runs, generated…) is copied into
    summary.json. ``log`` (a text file) gets one line per skipped line and per file.
    Returns the summary.json content.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in files]
    counts = Counts()
    writers = _Writers(outdir)
    # records are trees (no cycles), so reference counting frees them all; the cyclic GC
    # would only rescan the growing counters thousands of times (measured: 2.5x slower)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    sources = []
    skipped = 0
    skipped_sample: list[dict] = []
    api_errors = 0
    try:
        for path in files:
            stats = {"path": str(path), "lines": 0, "tweets": 0, "new": 0, "skipped": 0,
                     "formats": []}
            formats: set[str] = set()
            for item in read_json_lines(path):
                if isinstance(item, Skip):
                    skip = item
                else:
                    n, value = item
                    stats["lines"] += 1
                    try:
                        raws, inc, fmt = tweets_in(value)
                    except NotTweets as e:
                        skip = Skip(str(path), n, str(e))
                    else:
                        formats.add(fmt)
                        if fmt == "v2-page" and value.get("errors"):
                            api_errors += len(value["errors"])
                        stats["tweets"] += len(raws)
                        for raw in raws:
                            rec = normalize(raw, inc, fmt)
                            if counts.add(rec):
                                stats["new"] += 1
                                writers.tweet(rec)
                        continue
                stats["skipped"] += 1
                skipped += 1
                writers.skipped.writerow((skip.file, skip.line, skip.reason))
                if len(skipped_sample) < SKIPPED_SAMPLE:
                    skipped_sample.append({"file": skip.file, "line": skip.line,
                                           "reason": skip.reason})
                if log:
                    log.write(f"skipped {skip.file}:{skip.line}: {skip.reason}\n")
            stats["formats"] = sorted(formats)
            sources.append(stats)
            if log:
                log.write(f"read {path}: {stats['lines']} lines, {stats['tweets']} tweets "
                          f"({stats['new']} new), {stats['skipped']} skipped\n")
    except BaseException:
        writers.abort()
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
    writers.close()
    return _write_counts(counts, outdir, meta or {}, files, sources, skipped,
                         skipped_sample, api_errors)


def _write_counts(counts: Counts, outdir: Path, meta: dict, files: list[Path],
                  sources: list[dict], skipped: int, skipped_sample: list[dict],
                  api_errors: int) -> dict[str, Any]:
    for name, (header, attr) in COUNT_FILES.items():
        _write_csv(outdir / name, header, _sorted_counts(getattr(counts, attr)))
    _write_csv(
        outdir / "media.csv",
        ("media_key", "type", "url", "count", "preview_url", "alt_text"),
        ((k, counts.media_info[k]["type"] or "", counts.media_info[k]["url"] or "", c,
          counts.media_info[k]["preview"] or "", counts.media_info[k]["alt_text"] or "")
         for k, c in _sorted_counts(counts.media)),
    )
    users = sorted(counts.users.values(), key=lambda u: (-u[2], (u[0] or "").casefold()))
    _write_csv(outdir / "users.csv", ("username", "name", "tweets", "followers", "following"),
               ((u[0] or "", u[1] or "", u[2], _num(u[3]), _num(u[4])) for u in users))
    top = _sorted_counts(counts.retweeted)
    _write_csv(outdir / "retweets.csv", ("tweet_id", "username", "text", "retweets"),
               ((tid, (counts.originals_info.get(tid) or {}).get("author", {}).get("username")
                 or "", (counts.originals_info.get(tid) or {}).get("text") or "", c)
                for tid, c in top))
    bucket = bucket_for(counts.first, counts.last)
    _write_csv(outdir / "timeline.csv", ("time", "count"), timeline(counts.minutes, bucket))
    cards = {
        "top_retweeted": [
            {**counts.originals_info[tid], "retweets_in_search": c}
            for tid, c in top if tid in counts.originals_info
        ][:TOP_CARDS],
        "sample": [_card(r) for r in counts.sample()],
    }
    write_json(outdir / "cards.json", cards)
    summary = {
        "slug": meta.get("slug"),
        "title": meta.get("title") or meta.get("slug"),
        "description": meta.get("description"),
        "source": meta.get("source"),
        "query": meta.get("query"),
        "status": "ok",
        "error": None,
        "tweets": counts.tweets,
        "originals": counts.originals,
        "retweets": counts.retweets,
        "quotes": counts.quotes,
        "replies": counts.replies,
        "users": len(counts.users),
        "first": counts.first,
        "last": counts.last,
        "skipped": skipped,
        "skipped_sample": skipped_sample,
        "api_errors": api_errors,
        "sources": sources,
        "timeline_bucket": bucket,
        "counts": {
            "hashtags": len(counts.hashtags), "mentions": len(counts.mentions),
            "urls": len(counts.urls), "domains": len(counts.domains),
            "media": len(counts.media), "languages": len(counts.languages),
            "sources": len(counts.sources), "retweeted_originals": len(counts.retweeted),
        },
        "runs": meta.get("runs") or [],
        # the data's own time, not the clock: unchanged inputs give identical outputs
        "generated": meta.get("generated") or _mtime_iso(files) or counts.last,
    }
    for key in ("every",):
        if key in meta:
            summary[key] = meta[key]
    write_json(outdir / "summary.json", summary)
    return summary


def write_failed(outdir: str | Path, meta: dict[str, Any], error: str) -> dict[str, Any]:
    """Empty outputs and a summary that says why, so the page and the site still build."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _Writers(outdir).close()
    summary = _write_counts(Counts(), outdir, meta, [], [], 0, [], 0)
    summary["status"] = "failed"
    summary["error"] = error
    write_json(outdir / "summary.json", summary)
    return summary
