# Config validation and the helpers every stage uses. Validation runs before any job:
# a mistake stops the run with one line naming the search and the key.
import os
import sys

from snakemake.utils import validate as _snakemake_validate

from dnflow import config as dnconfig

try:
    SEARCHES = dnconfig.validate(
        config,
        dnconfig.load_schema(os.path.join(workflow.basedir, "config/searches.schema.yaml")),
        os.getcwd(),
    )
except dnconfig.ConfigError as e:
    sys.exit(f"dnflow: {', '.join(map(str, workflow.configfiles)) or 'config'}: {e}")
# the schema is the contract; snakemake's own check fills nothing but keeps us honest
_snakemake_validate(config, os.path.join(workflow.basedir, "config/searches.schema.yaml"))

SLUGS = sorted(SEARCHES)


wildcard_constraints:
    slug=r"[a-z0-9][a-z0-9_-]{0,63}",


def search_meta(slug):
    """What summary.json and the page say about a search (never a secret)."""
    s = SEARCHES[slug]
    meta = {"slug": slug, "title": s.get("title", slug), "source": s["source"]}
    for key in ("description", "query", "every"):
        if key in s:
            meta[key] = s[key]
    return meta


def raw_inputs(wildcards):
    """The files a search's summary reads, in order."""
    s = SEARCHES[wildcards.slug]
    if s["source"] == "archive":
        return dnconfig.archive_files(wildcards.slug, s, os.getcwd())
    if s["source"] == "demo":
        return [f"data/{wildcards.slug}/raw/demo.jsonl.gz"]
    return x_chunks(wildcards.slug)


def files_hash(paths):
    """A short digest of files' names and contents: a param that changes with them."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for path in paths:
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()
