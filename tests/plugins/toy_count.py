"""A count defined outside dnflow: posts per weekday of their time (a toy for the proof
that a new count is one module)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from dnflow.counting import COUNTS, sorted_counts
from dnflow.counting.keys import KeyCount


@COUNTS.register
class Weekdays(KeyCount):
    name = "weekdays"
    file = "weekdays.csv"
    header = ("weekday", "count")
    note = "weekday, {posts}"
    distinct_key = "weekdays"
    title = "Weekdays"
    label = "Weekday"
    noun = "weekdays"
    about = "The day of the week each {post} was written, UTC."
    position = 95

    def keys(self, posts: list) -> list:
        out = []
        for p in posts:
            c = p.created_at
            if c:
                out.append(date.fromisoformat(c[:10]).strftime("%A"))
        return out

    def summary(self, part: Counter) -> dict[str, Any]:
        return {"busiest_weekday": sorted_counts(part)[0][0] if part else None}
