# Collection: one rule per source kind, each writing immutable raw chunks under
# data/<slug>/raw/. Archive searches read the user's files in place (never copied,
# never modified), so they have no collect rule.


rule demo_archive:
    output:
        "data/{slug}/raw/demo.jsonl.gz",
    params:
        seed=lambda wc: SEARCHES[wc.slug].get("seed", 1),
        tweets=lambda wc: SEARCHES[wc.slug]["tweets"],
        topic=lambda wc: SEARCHES[wc.slug].get("topic", "climate"),
        query=lambda wc: SEARCHES[wc.slug].get("query", f"#{wc.slug}"),
    log:
        "logs/collect/{slug}.log",
    script:
        "../scripts/generate_demo.py"


def x_chunks(slug):
    # the X source arrives with the collection issue; until then a search of it is refused
    # by the schema check in common.smk
    return []
