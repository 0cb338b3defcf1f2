# Media: one job per search that downloads (its `media: download` is not none), fetching
# what its media.csv ranks first into the store shared by all searches (data/media/),
# recording each item in data/<slug>/media/index.csv and publishing metadata-free copies
# in site/<slug>/media/ (dnflow.media.store documents the layout). The job needs the
# network at run time only. It never fails (a failed download is a row of its index), and
# no page waits for it, so downloads never hold up or break the site. A run that leaves
# failures writes a new retry token, so the next plain run tries them again.
# Needs SEARCHES and SLUGS (rules/common.smk).
import json

from dnflow.media import grouping as dnmedia_grouping
from dnflow.media import job as dnmedia_job
from dnflow.media.settings import media_settings as _media_settings

try:
    MEDIA_SETTINGS = {slug: _media_settings(SEARCHES[slug]) for slug in SLUGS}
except ValueError as e:  # a DNFLOW_MEDIA_DOWNLOAD that is not a download
    sys.exit(f"dnflow: {e}")
MEDIA_TARGETS = [
    f"data/{slug}/media/fetch.json"
    for slug in SLUGS
    if MEDIA_SETTINGS[slug].download != "none"
]


rule media:
    input:
        media="data/{slug}/summary/media.csv",
    output:
        record="data/{slug}/media/fetch.json",
        published=directory("site/{slug}/media"),
    params:
        settings=lambda wc: json.dumps(MEDIA_SETTINGS[wc.slug].params(), sort_keys=True),
        # changes after each run that left failures: the next plain run tries again
        retry=lambda wc: dnmedia_job.retry_token(f"data/{wc.slug}/media"),
        # images are people's content: site/<slug>/media holds them at everything only
        publish=lambda wc: PUBLISH[wc.slug]["level"] == "everything",
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/media/{slug}.log",
    resources:
        # one media job at a time (profiles/default): each keeps to 4 requests per host,
        # and two at once would double that on a host their searches share
        media_fetch=1,
    script:
        "../scripts/fetch_media.py"


# Each search's media groups (dnflow.media.grouping): hashes (cached per image in the
# store) and near-duplicate groups of what the media job has downloaded so far. It reads
# the media index as it is, so no page waits for downloads: the index's token (its size
# and time) is a param, and a run after downloads groups them again. Written beside the
# index, not in data/<slug>/summary/: that folder is the summarize job's, which replaces
# its files wholesale. The job never fails; the page reads media-groups.json.
rule media_groups:
    input:
        summary="data/{slug}/summary/summary.json",
    output:
        groups="data/{slug}/media/media-groups.csv",
        record="data/{slug}/media/media-groups.json",
    params:
        settings=lambda wc: json.dumps(MEDIA_SETTINGS[wc.slug].params(), sort_keys=True),
        index=lambda wc: dnmedia_grouping.index_token(f"data/{wc.slug}/media"),
    conda:
        "../envs/dnflow.yaml"
    log:
        "logs/media/{slug}-groups.log",
    script:
        "../scripts/group_media.py"
