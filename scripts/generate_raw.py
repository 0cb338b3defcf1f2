"""Snakemake wrapper: write a search's generated raw file (see dnflow.jobs_collect)."""

from dnflow.jobs_collect import run_generate

run_generate(snakemake)  # noqa: F821
