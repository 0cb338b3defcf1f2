"""Shared helpers of the Mastodon tests (the fake API, the corpus, archive inspection)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import orjson

from dnflow import optouts
from dnflow.fakemastodon import FakeMastodon, generated_pool
from dnflow.sources.mastodon_api import Backoff

from .conftest import CORPUS
from .xutil import ROOT, SNAKEMAKE

MASTODON = CORPUS / "mastodon" / "decoded"
TAG = "climatestrike"
INSTANCES = ["mastodon.social", "fosstodon.org"]
SEARCH = {"source": "mastodon", "instances": INSTANCES, "hashtags": [TAG]}
TOKEN = "mastodon-test-token-4b1d-DO-NOT-LEAK"

# real waits, shrunk
FAST = Backoff(base=0.05, cap=0.4, jitter=0.1, max_wait=30.0, max_attempts=6)
FAST_ENV = {"DNFLOW_MASTODON_BACKOFF": "0.05", "DNFLOW_MASTODON_JITTER": "0.1",
            "DNFLOW_MASTODON_MAX_WAIT": "30"}


def corpus_body(name: str):
    """The JSON body of one recorded exchange (``decoded/<name>``)."""
    return orjson.loads((MASTODON / name).read_bytes())["body"]


def make_fake(n: int = 300, seed: int = 7, **kw) -> FakeMastodon:
    kw.setdefault("instances", INSTANCES)
    return FakeMastodon(list(generated_pool(n, seed)), **kw)


def m_env(api: FakeMastodon | None, **extra: str) -> dict[str, str]:
    env = dict(FAST_ENV)
    if api is not None:
        env["DNFLOW_MASTODON_API_URL"] = api.url
    env.update(extra)
    return env


def expected(api: FakeMastodon, tag: str = TAG, include_opted_out: bool = False) -> set[str]:
    """The uris a complete collection of ``tag`` from every instance of the fake holds:
    every instance's timeline, less the posts of accounts that opted out."""
    out = set()
    for inst in api.network.instances:
        for s in api.statuses(inst, tag):
            if include_opted_out or not optouts.left_out_reason(s["account"]):
                out.add(s["uri"])
    return out


def chunk_lines(datadir: Path, slug: str) -> list[dict]:
    lines = []
    for path in sorted((Path(datadir) / slug / "raw").glob("*.jsonl")):
        if not path.name.startswith("."):
            lines += [orjson.loads(x) for x in path.read_bytes().splitlines() if x]
    return lines


def archived(datadir: Path, slug: str) -> dict[str, list[str]]:
    """instance → the uris of its archived statuses, in order (doubles kept)."""
    per: dict[str, list[str]] = {}
    for line in chunk_lines(datadir, slug):
        per.setdefault(line["__dnflow"]["instance"], []).extend(
            s["uri"] for s in line["statuses"])
    return per


def snakemake(workdir: Path, config: Path, env: dict[str, str], *targets: str,
              timeout: float = 180, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("MASTODON_", "DNFLOW_MASTODON", "DNFLOW_NOW"))}
    full_env.update(env)
    cmd = [SNAKEMAKE, *targets, "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *extra, "--configfile", str(config)]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)
