"""Shared helpers of the X collection tests (fake API, archive inspection)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from dnflow.fakeapi import FakeXAPI, Pool, generated_pool
from dnflow.sources.x import Backoff

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
QUERY = "#climatestrike"
TOKEN = "dnflow-test-token-7f3a9c1e-DO-NOT-LEAK"

# real waits, shrunk: every test finishes in seconds, the code paths are the real ones
FAST = Backoff(base=0.05, cap=0.4, jitter=0.1, max_wait=30.0, max_attempts=6)
FAST_ENV = {"DNFLOW_X_BACKOFF": "0.05", "DNFLOW_X_JITTER": "0.1", "DNFLOW_X_MAX_WAIT": "30"}


def make_api(n: int = 450, seed: int = 7, **kw) -> FakeXAPI:
    return FakeXAPI(Pool(generated_pool(n, seed, query=QUERY)), **kw)


def x_env(api: FakeXAPI | None, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    env = dict(FAST_ENV)
    if api is not None:
        env["DNFLOW_X_API_URL"] = api.url
    if token is not None:
        env["X_BEARER_TOKEN"] = token
    env.update(extra)
    return env


def chunk_pages(datadir: Path, slug: str) -> list[dict]:
    """Every page line of the completed chunks of a search."""
    pages = []
    for path in sorted((Path(datadir) / slug / "raw").glob("*.jsonl")):
        if path.name.startswith("."):
            continue
        pages += [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
    return pages


def archived_ids(datadir: Path, slug: str) -> list[str]:
    return [t["id"] for page in chunk_pages(datadir, slug) for t in page.get("data") or []]


def snakemake(workdir: Path, config: Path, env: dict[str, str], *targets: str,
              timeout: float = 120, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in ``workdir`` the way a user (or cron) would."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("X_BEARER_TOKEN", "DNFLOW_X_API_URL", "DNFLOW_NOW")}
    full_env.update(env)
    cmd = [SNAKEMAKE, *targets, "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *extra, "--configfile", str(config)]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)
