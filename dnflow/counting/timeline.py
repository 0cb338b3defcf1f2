"""Posts per minute, rolled up to the bucket that suits the search's span."""

from __future__ import annotations

from collections import Counter, _count_elements  # type: ignore[attr-defined]
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dnflow.counting import COUNTS, Count, Output, write_csv
from dnflow.record import Post

_BUCKET_LEN = {"minute": 16, "hour": 13, "day": 10, "month": 7}
# what makes a bucket's key a full time again
_BUCKET_PAD = {"minute": ":00", "hour": ":00:00", "day": "T00:00:00", "month": "-01T00:00:00"}


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
    return datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")


def _next(cur: datetime, bucket: str) -> datetime:
    if bucket == "month":
        return cur.replace(year=cur.year + cur.month // 12, month=cur.month % 12 + 1)
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


@COUNTS.register
class Timeline(Count):
    """Per-minute counts and the first and last post's time. A post without a readable
    time is counted everywhere else."""

    name = "timeline"
    outputs = (Output("timeline.csv", ("time", "count"), "time, {posts}", level="counts"),)

    def start(self) -> list:
        return [Counter(), None, None]  # minutes, first, last

    def take(self, part: list, posts: list[Post]) -> list:
        created = [c for p in posts if (c := p.created_at)]
        if created:
            lo, hi = min(created), max(created)
            if part[1] is None or lo < part[1]:
                part[1] = lo
            if part[2] is None or hi > part[2]:
                part[2] = hi
            _count_elements(part[0], [c[:16] for c in created])
        return part

    def merge(self, part: list, later: list) -> list:
        part[0].update(later[0])
        if later[1] is not None and (part[1] is None or later[1] < part[1]):
            part[1] = later[1]
        if later[2] is not None and (part[2] is None or later[2] > part[2]):
            part[2] = later[2]
        return part

    def dump(self, part: list) -> list:
        return [dict(part[0]), part[1], part[2]]

    def load(self, data: list) -> list:
        return [Counter(data[0]), data[1], data[2]]

    def summary(self, part: list) -> dict[str, Any]:
        return {"first": part[1], "last": part[2],
                "timeline_bucket": bucket_for(part[1], part[2])}

    def write(self, part: list, outdir: Path, ctx: dict[str, Any]) -> None:
        write_csv(outdir / "timeline.csv", ("time", "count"),
                  timeline(part[0], bucket_for(part[1], part[2])))
