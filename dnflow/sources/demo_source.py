"""``source: demo``: a generated archive, so the site builds offline.

``platform:`` picks whose posts: each platform that can (``Platform.demo``, dnflow.platforms)
names its generator, which writes the archive in that platform's own shape (X: API v2
pages by dnflow.generate; Bluesky: searchPosts answers by dnflow.generate_bluesky). A
platform that brings a generator is offered here with no change to this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from dnflow.platforms import PLATFORMS
from dnflow.sources import SOURCES, Source

DEFAULT_PLATFORM = "x"


def demo_platforms() -> list[str]:
    """The platforms that can generate a demo archive."""
    return [p.name for p in PLATFORMS if p.demo]


@SOURCES.register
class Demo(Source):
    name = "demo"
    publish = "everything"  # generated posts: nobody's words to protect
    # the generated files decide (their format's platform), as for an archive search
    platform = ""
    properties = {
        "seed": {"type": "integer", "minimum": 0},
        "tweets": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        # the same as `tweets`, in every platform's word
        "posts": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        "topic": {"enum": ["climate", "music", "news"]},
        # shown on the page, and the hashtags the generated posts carry
        "query": {"type": "string", "minLength": 1, "maxLength": 4096},
    }
    generates = "demo.jsonl.gz"
    # its media URLs are invented: they are answered with generated images, never asked of
    # a server (dnflow.media.demo_fetch), so a demo downloads and groups media offline
    media_fetcher = "dnflow.media.demo_fetch:DemoFetcher"

    def schema(self) -> dict[str, Any]:
        out = super().schema()
        out["properties"]["platform"] = {"enum": demo_platforms()}
        return out

    def check(self, slug: str, search: Mapping[str, Any], workdir: str | Path) -> None:
        from dnflow.config import ConfigError

        if ("tweets" in search) == ("posts" in search):
            raise ConfigError(f"search '{slug}': give `posts` (how many to generate)"
                              + (", not both `posts` and `tweets`" if "posts" in search
                                 else ""))

    def raw_inputs(self, slug: str, search: Mapping[str, Any],
                   workdir: str | Path) -> list[str]:
        return [f"data/{slug}/raw/{self.generates}"]

    def generate_params(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        # the defaults are spelled out so that giving one explicitly regenerates nothing
        params = {"seed": search.get("seed", 1),
                  "tweets": search.get("posts", search.get("tweets")),
                  "topic": search.get("topic", "climate"),
                  "query": search.get("query", f"#{slug}")}
        platform = search.get("platform", DEFAULT_PLATFORM)
        if platform != DEFAULT_PLATFORM:  # X demos keep the params they always had
            params["platform"] = platform
        return params

    def generate(self, path: str | Path, slug: str, search: Mapping[str, Any],
                 log: TextIO) -> None:
        p = self.generate_params(slug, search)
        platform = PLATFORMS[p.get("platform", DEFAULT_PLATFORM)]
        module, _, func = platform.demo.partition(":")
        write = getattr(importlib.import_module(module), func)
        n = write(path, p["tweets"], p["seed"], topic=p["topic"], query=p["query"])
        log.write(f"generated {n} {platform.words['posts']} of {platform.label} "
                  f"(seed {p['seed']}, topic {p['topic']})\n")
