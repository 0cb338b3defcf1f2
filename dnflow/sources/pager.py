"""Every pager is bounded: what ends a window whose API pages go round.

X's ``next_token``, Bluesky's ``cursor`` and Mastodon's ``Link`` header are trusted to
end. A server (or proxy, or cache) that hands back a token it gave before, or fresh
tokens over pages that bring nothing new, would page forever, archiving the same posts
again and again. One :class:`PageGuard` per walk says when to stop; the source then ends
the window with its message, keeping everything archived so far.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

# pages in a row that bring no post the walk has not seen: a full-archive X search of a
# quiet query can legitimately answer a few empty pages, never dozens
MAX_IDLE_PAGES = 25


def max_idle_pages() -> int:
    try:
        return max(int(os.environ.get("DNFLOW_MAX_IDLE_PAGES", MAX_IDLE_PAGES)), 1)
    except ValueError:
        return MAX_IDLE_PAGES


class PageGuard:
    """What one walk of a pager has seen: its tokens, its posts, its idle pages."""

    def __init__(self, token_name: str, first_token: str | None = None) -> None:
        self.token_name = token_name
        self.tokens: set[str] = set() if first_token is None else {first_token}
        self.ids: set[Any] = set()
        self.idle = 0
        self.max_idle = max_idle_pages()

    @staticmethod
    def not_a_list(name: str, data: Any) -> str | None:
        """Why a page's posts (``data``) cannot be paged on, or None."""
        if data is None or data.__class__ is list:
            return None
        return f"a page whose {name} is {type(data).__name__}, not a list"

    def after(self, ids: Iterable[Any], token: Any) -> str | None:
        """After a page of posts ``ids`` pointing on to ``token``: why the walk must stop
        here (the window ends with what was archived), or None to go on."""
        before = len(self.ids)
        self.ids.update(i for i in ids if isinstance(i, str | int))
        self.idle = 0 if len(self.ids) > before else self.idle + 1
        if token is not None:
            key = str(token)
            if key in self.tokens:
                shown = key if len(key) <= 40 else key[:40] + "…"
                return (f"the API gave the {self.token_name} {shown!r} a second time: "
                        "its pages go round")
            self.tokens.add(key)
        if self.idle >= self.max_idle:
            return (f"{self.idle} pages in a row brought no post not already seen: "
                    "the API's paging goes round")
        return None
