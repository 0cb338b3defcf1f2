"""``source: bluesky``: app.bsky.feed.searchPosts, one collection job per refresh window.

The collector is dnflow.sources.bluesky (paging, windows, resume), its transport
dnflow.sources.bluesky_client (the shared session, retries, rate limits); this module is
what the pipeline needs to know about it.
"""

from __future__ import annotations

from dnflow.sources import SOURCES, Source

# searchPosts' since/until: a datetime (or a date), as the API takes them
_TIME = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?"
               "(Z|[+-][0-9]{2}:[0-9]{2}))?$",
    "description": "a time such as 2026-11-01T00:00:00Z, or a date such as 2026-11-01",
}


@SOURCES.register
class BlueskySource(Source):
    name = "bluesky"
    publish = "ids"  # real people's posts: not republished whole by default (README)
    platform = "bluesky"
    # what it archives: searchPosts answers (dnflow.formats.bluesky)
    formats = ("bsky-search",)
    properties = {
        "query": {"type": "string", "minLength": 1, "maxLength": 1000,
                  "description": "searchPosts q (Lucene-like: words, \"phrases\", #tags, "
                                 "from:, mentions:, lang:, domain:)"},
        "lang": {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
                 "description": "a language code such as en or pt-BR"},
        "since": _TIME,
        "until": _TIME,
        "sort": {"enum": ["latest", "top"]},
        "max_posts": {"type": "integer", "minimum": 1},
    }
    required = ("query",)
    collects = True
    collector = "dnflow.sources.bluesky:collect_window"


