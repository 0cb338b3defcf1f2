"""Snakemake wrapper: collect one window of an X search (see dnflow.jobs_x)."""

from dnflow.jobs_x import run_collect_x

run_collect_x(snakemake)  # noqa: F821
