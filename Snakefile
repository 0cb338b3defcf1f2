# dnflow: searches in config/searches.yaml → raw archives → counts → static site.
# Run `snakemake` (the default profile in profiles/default supplies cores and resources).
from snakemake.utils import min_version

# pyproject.toml's lower bound: checkpoints and profiles behave as dnflow expects from here
min_version("9.27")

configfile: "config/searches.yaml"


include: "rules/common.smk"
include: "rules/collect.smk"
include: "rules/summarize.smk"
include: "rules/package.smk"
include: "rules/site.smk"
include: "rules/media.smk"


# collection and rendering stay on the submitting machine under a cluster profile (tokens
# stay home, pages need every summary), and so do the parquet, networks and bag beside
# them (seconds a million posts, and what the page links); only summarize jobs go to the
# cluster
localrules:
    all,
    generate_raw,
    media,
    media_groups,
    page,
    site_index,
    parquet,
    networks,
    bag,


rule all:
    input:
        "site/index.html",
        # the current window's run records of searches whose source collects: without
        # them as targets, a finished summary would never ask for a new window (docs/x.md)
        COLLECT_TARGETS,
        # each downloading search's media job: nothing else waits for it (rules/media.smk)
        MEDIA_TARGETS,
    default_target: True


# failed searches, each with the log that holds its trace: their jobs succeeded, so
# nothing else says so (on a cluster, the Slurm plugin deletes a completed job's output)
onsuccess:
    report_failed_summaries()


onerror:
    report_failed_summaries()
    rescue_site(log)
