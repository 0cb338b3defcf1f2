# dnflow: searches in config/searches.yaml → raw archives → counts → static site.
# Run `snakemake` (the default profile in profiles/default supplies cores and resources).

configfile: "config/searches.yaml"


include: "rules/common.smk"
include: "rules/collect.smk"
include: "rules/summarize.smk"
include: "rules/site.smk"


rule all:
    input:
        "site/index.html",
        # the current window's X run records: without them as targets, a finished
        # summary would never ask for a new window (see docs/x.md)
        X_TARGETS,
    default_target: True
