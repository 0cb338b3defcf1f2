# What researchers and archives take away, made from a search's summary by jobs of their
# own (the summary's pass pays for neither): posts.parquet, typed posts for pandas, R and
# DuckDB (dnflow.parquet), and the search's BagIt bag (dnflow.bag), which the page offers.
# Needs collected_runs (rules/collect.smk): the bag holds every run record, as the page.
import json


rule parquet:
    input:
        # summary.json is written last of the summary files: it stands for tweets.csv too
        summary="data/{slug}/summary/summary.json",
    output:
        "data/{slug}/summary/posts.parquet",
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/parquet/{slug}.log",
    script:
        "../scripts/make_parquet.py"


rule bag:
    input:
        summary="data/{slug}/summary/summary.json",
        parquet="data/{slug}/summary/posts.parquet",
        runs=lambda wc: collected_runs(wc.slug),
    output:
        bag="data/{slug}/bag/{slug}-bag.zip",
    params:
        # searches.yaml's archive: block (who publishes: bag-info.txt says it)
        archive=json.dumps(config.get("archive") or {}, sort_keys=True),
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/bag/{slug}.log",
    script:
        "../scripts/make_bag.py"
