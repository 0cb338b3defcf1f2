"""``source: demo``: a generated archive (dnflow.generate), so the site builds offline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from dnflow.sources import SOURCES, Source


@SOURCES.register
class Demo(Source):
    name = "demo"
    platform = "x"  # it writes X API v2 pages
    properties = {
        "seed": {"type": "integer", "minimum": 0},
        "tweets": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        "topic": {"enum": ["climate", "music", "news"]},
        # shown on the page, and the hashtags the generated tweets carry
        "query": {"type": "string", "minLength": 1, "maxLength": 4096},
    }
    required = ("tweets",)
    generates = "demo.jsonl.gz"

    def raw_inputs(self, slug: str, search: Mapping[str, Any],
                   workdir: str | Path) -> list[str]:
        return [f"data/{slug}/raw/{self.generates}"]

    def generate_params(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        # the defaults are spelled out so that giving one explicitly regenerates nothing
        return {"seed": search.get("seed", 1), "tweets": search["tweets"],
                "topic": search.get("topic", "climate"),
                "query": search.get("query", f"#{slug}")}

    def generate(self, path: str | Path, slug: str, search: Mapping[str, Any],
                 log: TextIO) -> None:
        from dnflow.generate import write_archive

        p = self.generate_params(slug, search)
        n = write_archive(path, p["tweets"], p["seed"], topic=p["topic"], query=p["query"])
        log.write(f"generated {n} tweets (seed {p['seed']}, topic {p['topic']})\n")
