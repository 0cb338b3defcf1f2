"""Snakemake wrapper: collect one window of a search (see dnflow.jobs_collect)."""

from dnflow.jobs_collect import run_collect

run_collect(snakemake)  # noqa: F821
