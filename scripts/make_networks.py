"""Snakemake wrapper: one search's networks from its tweets.csv (rules/package.smk)."""

import logging
from pathlib import Path

from dnflow.networks import write_search

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
counts = write_search(Path(sm.input.summary).parent, Path(sm.output[0]).parent)
logging.getLogger("dnflow.networks").info("wrote %s: %s", Path(sm.output[0]).parent,
                                          counts)
