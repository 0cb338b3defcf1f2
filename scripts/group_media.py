"""Snakemake wrapper: one search's media groups (rules/media.smk, rule media_groups)."""

import json
import os

from dnflow.media.grouping import run_groups
from dnflow.media.settings import MediaSettings

sm = snakemake  # noqa: F821 (injected by Snakemake)
run_groups(sm.wildcards.slug, os.path.dirname(sm.input.summary),
           MediaSettings(**json.loads(sm.params.settings)), sm.output.groups,
           sm.output.record, sm.log[0])
