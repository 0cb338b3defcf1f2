"""Snakemake wrapper: one search's page and downloads (rules/site.smk, rule page)."""

import logging
from pathlib import Path

from dnflow.site.render import build_page

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
build_page(Path(sm.input.summary).parent, sm.output.page, sm.output.downloads,
           sm.wildcards.slug, runs=list(sm.input.runs), bag=sm.input.bag,
           publish=dict(sm.params.publish))
