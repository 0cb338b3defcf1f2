# One streaming pass per search over all its raw files → every count.
# A big search shares its input between processes (threads: see dnflow.jobs); its state
# in data/<slug>/state/ lets a rerun read only the files added since (docs/performance.md).
import json as _json
import os
import sys

from dnflow import jobs as dnjobs

# the Python that runs dnflow's jobs: this one, or the conda env's where one is deployed
DNFLOW_PYTHON = (
    "python"
    if "conda" in str(workflow.deployment_settings.deployment_method).lower()
    else sys.executable
)

SUMMARY_FILES = [
    "summary.json",
    "cards.json",
    "hashtags.csv",
    "mentions.csv",
    "urls.csv",
    "domains.csv",
    "media.csv",
    "users.csv",
    "retweets.csv",
    "languages.csv",
    "sources.csv",
    "timeline.csv",
    "skipped.csv",
    "tweet-ids.txt",
    "tweets.csv",
]


rule summarize:
    input:
        raw_inputs,
    output:
        [f"data/{{slug}}/summary/{name}" for name in SUMMARY_FILES],
    params:
        meta=lambda wc: _json.dumps(search_meta(wc.slug), sort_keys=True),
        # where Snakemake wants the outputs (under .snakemake/storage/ with a storage plugin)
        outdir=lambda wc, output: os.path.dirname(output[0]),
    threads: lambda wc, input: dnjobs.summarize_threads(list(input))
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/summarize/{slug}.log",
    # shell, not script: a script job imports Snakemake before it starts (~0.2 s a job)
    # the interpreter is formatted in from the global, not a param: params are compared
    # between runs, and the same venv reached by another path would recount every search
    shell:
        "{DNFLOW_PYTHON} -m dnflow.jobs summarize --outdir {params.outdir:q}"
        " --log {log:q} --threads {threads} --meta {params.meta:q} {input:q}"
