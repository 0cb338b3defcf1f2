"""Snakemake wrapper: write a demo search's generated archive."""

from dnflow.generate import write_archive

with open(snakemake.log[0], "w") as log:  # noqa: F821
    p = snakemake.params  # noqa: F821
    n = write_archive(snakemake.output[0], p.tweets, p.seed, topic=p.topic, query=p.query)  # noqa: F821
    log.write(f"generated {n} tweets (seed {p.seed}, topic {p.topic})\n")
