"""``source: archive``: tweet archives the user already has, read in place.

The files are never copied or modified, so there is no job: the summary reads them
where they are (dnflow.sources.archive reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnflow.sources import SOURCES, Source


@SOURCES.register
class Archive(Source):
    name = "archive"
    publish = "ids"  # files of real people's posts, of any platform (README)
    # files of any platform: the formats they are read as name it (platform_of)
    platform = ""
    properties = {
        "files": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
            ],
            "description": "a path, a glob or a list of them (relative to the working folder)",
        },
        "include_opted_out": {"type": "boolean", "description": "count and publish the "
                              "posts of Mastodon accounts that opted out (default: false)"},
    }
    required = ("files",)

    def summary_meta(self, slug: str, search: Mapping[str, Any]) -> dict[str, Any]:
        # Mastodon statuses in the files: their opt-outs, unless the search turns them off
        return {"include_opted_out": True} if search.get("include_opted_out") else {}

    def check(self, slug: str, search: Mapping[str, Any], workdir: str | Path) -> None:
        self.raw_inputs(slug, search, workdir)  # every path or glob names a file

    def raw_inputs(self, slug: str, search: Mapping[str, Any],
                   workdir: str | Path) -> list[str]:
        from dnflow.config import archive_files

        return archive_files(slug, dict(search), workdir)
