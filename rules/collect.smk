# Collection: a job per source that has one (dnflow.sources), each writing immutable raw
# files under data/<slug>/raw/. Archive searches read the user's files in place (never
# copied, never modified), so their source has no job. Nothing here names a source.
import functools
import sys

from dnflow import jobs_collect as dnjobs_collect
from dnflow import windows as dnwindows
from dnflow.sources import SOURCES as DNSOURCES
from dnflow.sources.runs import attempt_stamp as _attempt_stamp


# A source's generated raw file (demo: a generated archive), data/<slug>/raw/<generates>.
rule generate_raw:
    output:
        "data/{slug}/raw/{generated}",
    params:
        # what the file depends on; the job reads the search itself from the config
        settings=lambda wc: dnjobs_collect.generate_params(SEARCHES, wc.slug),
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/collect/{slug}/{generated}.log",
    wildcard_constraints:
        generated=dnjobs_collect.generated_names(),
    script:
        "../scripts/generate_raw.py"


# One checkpoint job per search and refresh window of every source that collects. Its
# output is the window's run record; the posts go to data/<slug>/raw/<window>.jsonl (only
# when some came). The window stamp is fixed once per snakemake invocation (DNFLOW_NOW
# replaces the clock), so cron can call `snakemake` as often as it likes: a window whose
# record exists costs nothing. Credentials are read inside the job from the environment:
# never params (stored in .snakemake/metadata), never `envvars:` (a missing variable
# would abort every search).

try:
    COLLECT_STAMPS = {
        slug: _attempt_stamp(f"data/{slug}", window)
        for slug, window in dnwindows.current_stamps(SEARCHES).items()
    }
except ValueError as e:  # a DNFLOW_NOW that is not a time
    sys.exit(f"dnflow: {e}")
# `rule all` must list these: Snakemake only notices a missing file that a *target* needs
# (a missing checkpoint output behind an up-to-date summary is not a reason to run), and
# a target record, once collected, changes the summary only if a non-empty chunk came.
COLLECT_TARGETS = [
    f"data/{slug}/runs/{stamp}.json" for slug, stamp in sorted(COLLECT_STAMPS.items())
]


localrules:
    collect,


checkpoint collect:
    output:
        "data/{slug}/runs/{stamp}.json",
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/collect/{slug}/{stamp}.log",
    wildcard_constraints:
        stamp=r"(once|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}([0-9]{2})?)?)(~[0-9]+)?",
    resources:
        # one `<source>_api` unit per job of that source (x_api for X): the default
        # profile allows one at a time, so a source's searches share its rate limit
        **{
            src.resource: functools.partial(dnjobs_collect.api_slot, SEARCHES, src.name)
            for src in DNSOURCES
            if src.collects
        },
    script:
        "../scripts/collect.py"


# collected(slug): wait for the search's current window (summarize's input, via raw_inputs);
# collected_runs(slug): its run records (the page's run history). Both wait for the
# checkpoint, and do nothing for a search whose source does not collect.
collected = functools.partial(dnjobs_collect.collected, checkpoints, COLLECT_STAMPS)
collected_runs = functools.partial(dnjobs_collect.collected_runs, checkpoints, COLLECT_STAMPS)
