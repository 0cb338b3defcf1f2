# The static site: one page job per search (page + downloads), then one job for the index,
# compare page, Atom feed and stylesheet. Rendering is deterministic, so a search whose
# summary did not change keeps byte-identical pages.
# Needs SEARCHES, SLUGS (rules/common.smk) and collected_runs (rules/collect.smk): the run
# records of searches whose source collects, read directly because a run that brings no
# posts leaves the summary unchanged but belongs in the run history.
import glob as _glob
import os

from dnflow import outputs as dnoutputs

# templates, stylesheet and renderer: editing them re-renders the site
SITE_CODE = sorted(
    p
    for pattern in ("templates/*", "static/*", "site/*.py", "publish.py")
    for p in _glob.glob(os.path.join(workflow.basedir, "dnflow", pattern))
    if not p.endswith("screenshot.py")
)


# a param, not 28 inputs per page: the scheduler re-checks every input of every ready job
# on each pass (measured: 14 s of Snakemake CPU over 100 searches)
SITE_CODE_HASH = files_hash(SITE_CODE)


rule page:
    input:
        # summary.json is written last of the summary files: it stands for all of them
        summary="data/{slug}/summary/summary.json",
        runs=lambda wc: collected_runs(wc.slug),
        # made after the summary (rules/package.smk), offered among the downloads
        parquet="data/{slug}/summary/posts.parquet",
        networks=[f"data/{{slug}}/networks/{name}" for name in NETWORK_FILES],
        bag="data/{slug}/bag/{slug}-bag.zip",
        # the media groups job never fails and reads downloads as they are: no page waits
        # for downloads (rules/media.smk)
        media_groups="data/{slug}/media/media-groups.json",
    output:
        page="site/{slug}/index.html",
        downloads=directory("site/{slug}/downloads"),
    params:
        code=SITE_CODE_HASH,
        publish=lambda wc: PUBLISH[wc.slug],
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/site/{slug}.log",
    script:
        "../scripts/render_page.py"


rule site_index:
    input:
        pages=expand("site/{slug}/index.html", slug=SLUGS),
        summaries=expand(
            "data/{slug}/summary/{name}",
            slug=SLUGS,
            name=dnoutputs.index_files(),
        ),
        runs=lambda wc: [r for s in SLUGS for r in collected_runs(s)],
        private=publisher_inputs,
        # images shared across searches (compare page; dnflow.site.image_groups)
        media_groups=expand("data/{slug}/media/media-groups.csv", slug=SLUGS),
    output:
        index="site/index.html",
        compare="site/compare.html",
        feed="site/feed.xml",
        css="site/style.css",
    params:
        slugs=SLUGS,
        code=SITE_CODE_HASH,
        publish=PUBLISH,
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/site/index.log",
    script:
        "../scripts/render_index.py"
