# dnflow: searches in config/searches.yaml → raw archives → counts → static site.
# Run `snakemake` (the default profile in profiles/default supplies cores and resources).

configfile: "config/searches.yaml"


include: "rules/common.smk"
include: "rules/collect.smk"
include: "rules/summarize.smk"
include: "rules/site.smk"


# collection and rendering stay on the submitting machine under a cluster profile (tokens
# stay home, pages need every summary); only summarize jobs go to the cluster
localrules:
    all,
    demo_archive,
    page,
    site_index,


rule all:
    input:
        "site/index.html",
        # the current window's X run records: without them as targets, a finished
        # summary would never ask for a new window (see docs/x.md)
        X_TARGETS,
    default_target: True
