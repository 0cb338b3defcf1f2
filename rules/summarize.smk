# One streaming pass per search over all its raw files → every count.
# A big search shares its input between processes (threads: see dnflow.jobs); its state
# in data/<slug>/state/ lets a rerun read only the files added since (docs/performance.md).
from dnflow import jobs as dnjobs

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
        meta=lambda wc: search_meta(wc.slug),
    threads: lambda wc, input: dnjobs.summarize_threads(list(input))
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/summarize/{slug}.log",
    # script, not `shell: python -m dnflow.jobs`, though a script job imports Snakemake
    # first (~0.2 s a job): a shell job needs the interpreter's path, which as a param
    # recounts everything when the venv is reached by another path, and as a global or an
    # environment variable fails the provenance lint
    script:
        "../scripts/summarize.py"
