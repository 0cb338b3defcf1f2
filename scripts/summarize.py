"""Snakemake wrapper: count one search; a failure becomes a failed summary, not a crash."""

from dnflow.jobs import run_summarize

run_summarize(snakemake)  # noqa: F821
