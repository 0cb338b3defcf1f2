"""How many counted posts are withheld (counted in every aggregate, never published),
and whose: a withheld account's handle must not show as a mention by others either."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dnflow.counting import COUNTS, Count
from dnflow.optouts import WITHHELD_ACCOUNTS, WITHHELD_MENTIONED, hide_handles, is_hidden
from dnflow.record import Post


@COUNTS.register
class Withheld(Count):
    """Posts whose author did not opt in to search (Mastodon's ``indexable: false``):
    their records hold neither text nor handle (dnflow.optouts), and their author's id is
    a hidden key of the handle. summary.json's ``withheld``, written only when there are
    some (other platforms have none); the authors' keys go to the mentions' write, which
    shows a mention of one of them as "an account"."""

    name = "withheld"

    def start(self) -> list:
        return [0, set()]

    def take(self, part: list, posts: list[Post]) -> list:
        for p in posts:
            a = p.author
            if a.indexable is False and a.handle is None:
                part[0] += 1
                if is_hidden(a.id):
                    part[1].add(a.id)
        return part

    def merge(self, part: list, later: list) -> list:
        part[0] += later[0]
        part[1] |= later[1]
        return part

    def dump(self, part: list) -> list:
        return [part[0], sorted(part[1])]

    def load(self, data: list) -> list:
        return [data[0], set(data[1])]

    def summary(self, part: list) -> dict[str, Any]:
        return {"withheld": part[0]} if part[0] else {}

    def context(self, part: list, ctx: dict[str, Any]) -> None:
        ctx[WITHHELD_ACCOUNTS] = part[1]

    def write(self, part: list, outdir: Path, ctx: dict[str, Any]) -> None:
        # tweets.csv was streamed before anyone knew whom a post mentions is withheld: its
        # published copy (not the state's, which it is a link to) is written anew
        handles = ctx.get(WITHHELD_MENTIONED)
        path = outdir / "tweets.csv"
        if handles and path.exists():
            data = path.read_bytes()
            hidden = hide_handles(data, handles)
            if hidden != data:
                tmp = outdir / ".tweets.csv.hidden"
                tmp.write_bytes(hidden)
                os.replace(tmp, path)
