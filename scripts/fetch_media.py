"""Snakemake wrapper: one search's media downloads (rules/media.smk, rule media)."""

import json

from dnflow.media.job import run_job
from dnflow.media.settings import MediaSettings

sm = snakemake  # noqa: F821 (injected by Snakemake)
run_job(sm.wildcards.slug, sm.input.media, MediaSettings(**json.loads(sm.params.settings)),
        sm.output.record, sm.output.published, sm.log[0], publish=bool(sm.params.publish))
