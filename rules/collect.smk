# Collection: one rule per source kind, each writing immutable raw chunks under
# data/<slug>/raw/. Archive searches read the user's files in place (never copied,
# never modified), so they have no collect rule.
import functools
import sys

from dnflow import jobs_x as dnjobs_x
from dnflow import windows as dnwindows
from dnflow.sources import x as dnx


rule demo_archive:
    output:
        "data/{slug}/raw/demo.jsonl.gz",
    params:
        seed=lambda wc: SEARCHES[wc.slug].get("seed", 1),
        tweets=lambda wc: SEARCHES[wc.slug]["tweets"],
        topic=lambda wc: SEARCHES[wc.slug].get("topic", "climate"),
        query=lambda wc: SEARCHES[wc.slug].get("query", f"#{wc.slug}"),
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/collect/{slug}.log",
    script:
        "../scripts/generate_demo.py"


# ---------------------------------------------------------------- X API (source: x)
# One checkpoint job per search and refresh window. Its output is the window's run record;
# the tweets go to data/<slug>/raw/<window>.jsonl (only when some came). The window stamp is
# fixed once per snakemake invocation (DNFLOW_NOW replaces the clock), so cron can call
# `snakemake` as often as it likes: a window whose record exists costs nothing.
# The token is read from X_BEARER_TOKEN inside the job: never params (stored in
# .snakemake/metadata), never `envvars:` (a missing variable would abort every search).

try:
    X_STAMPS = {
        slug: dnx.attempt_stamp(f"data/{slug}", window)
        for slug, window in dnwindows.current_stamps(SEARCHES).items()
    }
except ValueError as e:  # a DNFLOW_NOW that is not a time
    sys.exit(f"dnflow: {e}")
# `rule all` must list these: Snakemake only notices a missing file that a *target* needs
# (a missing checkpoint output behind an up-to-date summary is not a reason to run), and
# a target record, once collected, changes the summary only if a non-empty chunk came.
X_TARGETS = [f"data/{slug}/runs/{stamp}.json" for slug, stamp in sorted(X_STAMPS.items())]


localrules:
    collect_x,


checkpoint collect_x:
    output:
        "data/{slug}/runs/{stamp}.json",
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/x/{slug}/{stamp}.log",
    wildcard_constraints:
        stamp=r"(once|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}([0-9]{2})?)?)(~[0-9]+)?",
    resources:
        x_api=1,
    script:
        "../scripts/collect_x.py"


# x_chunks(slug): the search's non-empty chunks (summarize's input, via raw_inputs);
# x_runs(slug): its run records (the page's run history). Both wait for the checkpoint.
x_chunks = functools.partial(dnjobs_x.x_chunks, checkpoints, X_STAMPS)
x_runs = functools.partial(dnjobs_x.x_runs, checkpoints, X_STAMPS)
