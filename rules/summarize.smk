# One streaming pass per search over all its raw files → every count.

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
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/summarize/{slug}.log",
    script:
        "../scripts/summarize.py"
