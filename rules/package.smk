# What researchers and archives take away, made from a search's summary by jobs of their
# own (the summary's pass pays for none): posts.parquet, typed posts for pandas, R and
# DuckDB (dnflow.parquet), the networks (dnflow.networks: edge lists and network.gexf,
# in data/<slug>/networks/), and the search's BagIt bag (dnflow.bag), which the page offers.
# Needs collected_runs (rules/collect.smk): the bag holds every run record, as the page;
# SUMMARY_FILES (rules/summarize.smk); MEDIA_SETTINGS and dnmedia_grouping
# (rules/media.smk): the bag holds the search's downloaded images at everything.
import json

from dnflow import networks as dnnetworks

NETWORK_FILES = dnnetworks.NAMES


rule networks:
    input:
        # all three named: under a storage plugin only named inputs are fetched for a job
        summary="data/{slug}/summary/summary.json",
        posts="data/{slug}/summary/tweets.csv",
        users="data/{slug}/summary/users.csv",
    output:
        [f"data/{{slug}}/networks/{name}" for name in NETWORK_FILES],
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/networks/{slug}.log",
    script:
        "../scripts/make_networks.py"


rule parquet:
    input:
        # both named: under a storage plugin only named inputs are fetched for a job
        summary="data/{slug}/summary/summary.json",
        posts="data/{slug}/summary/tweets.csv",
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
        # every file it bags, named (see parquet)
        files=[f"data/{{slug}}/summary/{name}" for name in SUMMARY_FILES],
        parquet="data/{slug}/summary/posts.parquet",
        networks=[f"data/{{slug}}/networks/{name}" for name in NETWORK_FILES],
        runs=lambda wc: collected_runs(wc.slug),
    output:
        bag="data/{slug}/bag/{slug}-bag.zip",
    params:
        # searches.yaml's archive: block (who publishes: bag-info.txt says it)
        archive=json.dumps(config.get("archive") or {}, sort_keys=True),
        # what the search publishes (the bag holds what its page offers)
        publish=lambda wc: PUBLISH[wc.slug],
        # its downloaded images are bagged at everything (as the page publishes them):
        # the media settings, and the index's token (rules/media.smk's media_groups), so
        # a run after downloads bags them; read as the index is, no bag waits for them
        media=lambda wc: json.dumps(MEDIA_SETTINGS[wc.slug].params(), sort_keys=True),
        media_index=lambda wc: (
            dnmedia_grouping.index_token(f"data/{wc.slug}/media")
            if PUBLISH[wc.slug]["level"] == "everything"
            else ""
        ),
        # the last bag and its checksums: outside the outputs, which Snakemake deletes
        # before a job, so an update re-reads and recompresses only what changed
        state=lambda wc: f"data/{wc.slug}/bag-state",
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/bag/{slug}.log",
    script:
        "../scripts/make_bag.py"
