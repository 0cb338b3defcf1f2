# Config validation and the helpers every stage uses. Validation runs once, before any
# job, against the schema the installed dnflow composes from its sources (dnflow.config):
# a mistake stops the run with one line naming the search and the key.
import os
import sys

from dnflow import config as dnconfig
from dnflow import jobs_collect as dnjobs_collect
from dnflow import deletions as _deletions
from dnflow import publish as dnpublish
from dnflow.sources import source_of as _source_of

try:
    dnconfig.check_files(workflow.configfiles)
except dnconfig.ConfigError as e:
    sys.exit(f"dnflow: {e}")
try:
    SEARCHES = dnconfig.validate(config, workdir=os.getcwd())
except dnconfig.ConfigError as e:
    sys.exit(f"dnflow: {', '.join(map(str, workflow.configfiles)) or 'config'}: {e}")

SLUGS = sorted(SEARCHES)

# each search's publishing level and follower threshold (dnflow.publish): params, so a
# change re-renders its pages and never re-summarizes (data/ keeps everything)
PUBLISH = {slug: dnpublish.settings(SEARCHES[slug]) for slug in SLUGS}


def publisher_inputs(wc):
    """What the index reads of a search published below everything: who it names and
    who is public, for the compare page (dnflow.publish.publisher)."""
    return [f"data/{s}/summary/{n}" for s in SLUGS if PUBLISH[s]["level"] != "everything"
            for n in dnpublish.READS]


wildcard_constraints:
    slug=r"[a-z0-9][a-z0-9_-]{0,63}",


def search_meta(slug):
    """What summary.json and the page say about a search (never a secret)."""
    s = SEARCHES[slug]
    meta = {"slug": slug, "title": s.get("title", slug), "source": s["source"]}
    for key in ("description", "query", "every"):
        if key in s:
            meta[key] = s[key]
    meta.update(_source_of(s).summary_meta(slug, s))
    return meta


def raw_inputs(wildcards):
    """The files a search's summary reads, in order (its source says which)."""
    collected(wildcards.slug)  # a source that collects: after the current window's job
    s = SEARCHES[wildcards.slug]
    return dnjobs_collect.brace_free(
        wildcards.slug, _source_of(s).raw_inputs(wildcards.slug, s, os.getcwd())
    )


def deletion_inputs(wildcards):
    """A search's deletions files (dnflow.deletions): the top level's, its own and what
    `dnflow recheck` found gone."""
    return _deletions.search_files(
        wildcards.slug, SEARCHES[wildcards.slug], config, os.getcwd()
    )


def files_hash(paths):
    """A short digest of files' names and contents: a param that changes with them."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for path in paths:
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def report_failed_summaries():
    """A failed search does not fail its job (dnflow.jobs.summarize_search writes a failed
    summary): the Snakefile calls this when a run ends, to name each one and its log."""
    from dnflow.jobs import failed_summaries

    for line in failed_summaries(SLUGS, rules.summarize.log[0]):
        logger.warning(line)


def rescue_site(snakemake_log):
    """After a run that stopped on failed jobs: the index, compare page and feed all the
    same, each search whose job failed marked failed with its reason (dnflow.site.rescue)."""
    from dnflow.site.rescue import rescue

    try:
        rescue({slug: search_meta(slug) for slug in SLUGS}, snakemake_log, publish=PUBLISH)
    except Exception as e:  # the run has failed already: say why the site could not be made
        logger.error(f"dnflow: the site could not be built after the failure: {e}")
