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
    default_target: True
