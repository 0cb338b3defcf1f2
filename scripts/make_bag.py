"""Snakemake wrapper: one search's BagIt bag (rules/package.smk, rule bag)."""

import json
import logging
from pathlib import Path

from dnflow.bag import make_search_bag

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
w = make_search_bag(Path(sm.input.summary).parent, Path(sm.output.bag),
                    json.loads(sm.params.archive), runs=list(sm.input.runs),
                    publish=dict(sm.params.publish), media=json.loads(sm.params.media),
                    state_dir=Path(sm.params.state))
logging.info("bag %s: %d members, %d bytes copied from the last bag, %d read, %d "
             "compressed, %d through SHA-512", sm.output.bag, len(w.members), w.reused,
             w.read, w.compressed, w.hashed)
