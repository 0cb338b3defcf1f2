# One streaming pass per search over all its raw files → every count.
# A big search shares its input between processes (threads: see dnflow.jobs); its state
# in data/<slug>/state/ lets a rerun read only the files added since (docs/performance.md).
import json
import os
import sys

from dnflow import jobs as dnjobs
from dnflow import outputs as dnoutputs

# the manifest of summary files (dnflow.outputs): each count declares its own
SUMMARY_FILES = dnoutputs.names()


rule summarize:
    input:
        raw=raw_inputs,
        # their posts leave every output (dnflow.deletions); a change recounts the search
        deletions=deletion_inputs,
    output:
        [f"data/{{slug}}/summary/{name}" for name in SUMMARY_FILES],
    params:
        meta=lambda wc: json.dumps(search_meta(wc.slug), sort_keys=True),
        outdir=lambda wc, output: os.path.dirname(output[0]),
        # changes after each failed summary: the next plain run tries the search again
        # (a failed summary is an output, so the page shows it meanwhile; dnflow.jobs)
        retry=lambda wc: dnjobs.retry_token(f"data/{wc.slug}"),
    threads: lambda wc, input: dnjobs.summarize_threads(list(input.raw))
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/summarize/{slug}.log",
    resources:
        # the interpreter is a resource, not a param: params are compared between runs,
        # and the same venv reached by another path would recount every search
        python=sys.executable,
    # shell, not script: a script job imports Snakemake before it starts (~0.2 s a job)
    shell:
        "{resources.python} -m dnflow.jobs summarize --outdir {params.outdir:q}"
        " --log {log:q} --threads {threads} --deletions {input.deletions:q}"
        " --meta {params.meta:q} {input.raw:q}"
