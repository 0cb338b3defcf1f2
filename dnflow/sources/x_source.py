"""``source: x``: the X API v2 search, one collection job per refresh window.

The collector is dnflow.sources.x (paging, retries, resume, budget); this module is what
the pipeline needs to know about it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dnflow.sources import SOURCES, Source

_TIMESTAMP = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$",
}


@SOURCES.register
class X(Source):
    name = "x"
    publish = "ids"  # X's terms allow sharing post ids, not full content at scale (README)
    platform = "x"
    # X's formats (dnflow.formats.x): API v2 pages, v2 stream lines, twarc2-flattened
    # tweets and v1.1 tweets
    formats = ("v2-page", "v2-stream", "v2-flat", "v1.1")
    properties = {
        "query": {"type": "string", "minLength": 1, "maxLength": 4096},
        "max_tweets": {"type": "integer", "minimum": 1},
        "endpoint": {"enum": ["recent", "all"]},
        "start_time": _TIMESTAMP,
        "end_time": _TIMESTAMP,
        "monthly_budget": {"type": "integer", "minimum": 1},
    }
    required = ("query",)
    collects = True
    collector = "dnflow.sources.x:collect_window"



    def estimate(self, slug: str, search: Mapping[str, Any],
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Expected volume (the counts endpoint): ``dnflow estimate`` prints it."""
        from dnflow.sources.x import estimate

        return estimate(slug, search, log=log)
