"""``source: mastodon``: the hashtag timelines of several Mastodon instances, one
collection job per refresh window.

The collector is dnflow.sources.mastodon (paging, instances, opt-outs, resume), its
transport dnflow.sources.mastodon_api; this module is what the pipeline needs to know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnflow.sources import SOURCES, Source

# a hashtag as Mastodon takes it: letters, digits, marks and underscores (a "#" may lead)
_TAG = re.compile(r"^[#＃]?[\w·\u200c]+$")
_TAGS = {"type": "array", "minItems": 1, "uniqueItems": True,
         "items": {"type": "string", "minLength": 1, "maxLength": 256}}
# a host (mastodon.social), or a base URL (http://127.0.0.1:8766, https://host/path)
_INSTANCE = {"type": "string", "minLength": 1, "maxLength": 2048,
             "description": "a host (mastodon.social) or a base URL (https://host)",
             "pattern": r"^(https?://[^\s/?#]+(/[^\s?#]*)?"
                        r"|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?)$"}


@SOURCES.register
class Mastodon(Source):
    name = "mastodon"
    publish = "ids"  # real people's posts: not republished whole by default (README)
    platform = "mastodon"
    formats = ("mastodon-chunk",)
    properties = {
        "instances": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": _INSTANCE,
                      "description": "hosts (mastodon.social) or base URLs"},
        "hashtags": dict(_TAGS, description="the hashtag timeline: posts with any of "
                                            "these hashtags"),
        "hashtags_all": dict(_TAGS, description="…that also have all of these"),
        "hashtags_none": dict(_TAGS, description="…and none of these"),
        "max_posts": {"type": "integer", "minimum": 1,
                      "description": "most posts a run takes from each instance"},
        "include_opted_out": {"type": "boolean", "description": "collect and publish the "
                              "posts of accounts that opted out (default: false)"},
    }
    required = ("instances", "hashtags")
    collects = True
    collector = "dnflow.sources.mastodon:collect_window"
    gaps = {"reposts": "Hashtag timelines carry no {reposts}: the number of {reposts} here "
                       "is not a finding, and no {post} can be ranked by its {reposts} in "
                       "this search."}

    def check(self, slug: str, search: Mapping[str, Any], workdir: str | Path) -> None:
        from dnflow.config import ConfigError

        for key in ("hashtags", "hashtags_all", "hashtags_none"):
            for tag in search.get(key) or ():
                if not _TAG.match(tag):
                    raise ConfigError(f"search '{slug}', key '{key}': {tag!r} is not a "
                                      "hashtag (letters, digits and _)")
        if len(search["hashtags"]) > 5 or len(search.get("hashtags_all") or ()) > 4 or len(
                search.get("hashtags_none") or ()) > 4:
            raise ConfigError(f"search '{slug}': Mastodon takes at most 5 hashtags (the "
                              "timeline's and 4 more), 4 under hashtags_all and 4 under "
                              "hashtags_none")


    def summary_meta(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        from dnflow.sources.mastodon import describe

        meta: dict[str, Any] = {"query": describe(search),
                                "instances": list(search["instances"])}
        if search.get("include_opted_out"):
            meta["include_opted_out"] = True
        return meta

