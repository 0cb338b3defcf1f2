"""Snakemake wrapper: index, compare page, feed and stylesheet (rules/site.smk)."""

import logging
from pathlib import Path

from dnflow.site.render import build_site

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
dirs = {Path(p).parent.parent.name: Path(p).parent for p in sm.input.summaries}
runs: dict[str, list[str]] = {}
for p in sm.input.runs:  # data/<slug>/runs/<stamp>.json
    runs.setdefault(Path(p).parent.parent.name, []).append(p)
build_site([(slug, dirs[slug]) for slug in sm.params.slugs], Path(sm.output.index).parent,
           runs=runs, publish={k: dict(v) for k, v in sm.params.publish.items()})
