"""Snakemake wrapper: one search's posts.parquet from its tweets.csv (rules/package.smk)."""

import logging
from pathlib import Path

from dnflow.parquet import write_search

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
write_search(Path(sm.input.summary).parent)
logging.getLogger("dnflow.parquet").info("wrote %s", sm.output[0])
