"""How many counted posts are withheld: counted in every aggregate, never published."""

from __future__ import annotations

from typing import Any

from dnflow.counting import COUNTS, Count
from dnflow.record import Post


@COUNTS.register
class Withheld(Count):
    """Posts whose author did not opt in to search (Mastodon's ``indexable: false``):
    their records hold neither text nor handle (dnflow.optouts). summary.json's
    ``withheld``, written only when there are some (other platforms have none)."""

    name = "withheld"

    def start(self) -> int:
        return 0

    def take(self, part: int, posts: list[Post]) -> int:
        for p in posts:
            a = p.author
            if a.indexable is False and a.handle is None:
                part += 1
        return part

    def merge(self, part: int, later: int) -> int:
        return part + later

    def summary(self, part: int) -> dict[str, Any]:
        return {"withheld": part} if part else {}
