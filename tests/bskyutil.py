"""Shared helpers of the Bluesky collection tests (the fake API, archive inspection)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import orjson

from dnflow.fakebsky import FakeBluesky, Pool, generated_pool
from dnflow.sources.runs import Backoff

from .xutil import ROOT, SNAKEMAKE

QUERY = "#climatestrike"
HANDLE = "dnflow-test.bsky.social"
PASSWORD = "app-pass-7f3a-9c1e-DO-NOT-LEAK"

# real waits, shrunk: every test finishes in seconds, the code paths are the real ones
FAST = Backoff(base=0.05, cap=0.4, jitter=0.1, max_wait=30.0, max_attempts=6, reset_cap=5.0)
FAST_ENV = {"DNFLOW_BLUESKY_BACKOFF": "0.05", "DNFLOW_BLUESKY_JITTER": "0.1",
            "DNFLOW_BLUESKY_MAX_WAIT": "30"}


def make_api(n: int = 450, seed: int = 7, **kw) -> FakeBluesky:
    kw.setdefault("password", PASSWORD)
    return FakeBluesky(Pool(generated_pool(n, seed, query=QUERY)), handle=HANDLE, **kw)


def bsky_env(api: FakeBluesky | None, state: Path, password: str | None = PASSWORD,
             **extra: str) -> dict[str, str]:
    """The environment of a collection: the fake's URL, the account, and a state folder
    (where the session is kept) of the test's own, outside the project."""
    env = dict(FAST_ENV, XDG_STATE_HOME=str(state), BLUESKY_HANDLE=HANDLE)
    if api is not None:
        env["DNFLOW_BLUESKY_API_URL"] = api.url
    if password is not None:
        env["BLUESKY_APP_PASSWORD"] = password
    env.update(extra)
    return env


def chunk_pages(datadir: Path, slug: str) -> list[dict]:
    """Every answer line of the completed chunks of a search."""
    pages = []
    for path in sorted((Path(datadir) / slug / "raw").glob("*.jsonl")):
        if not path.name.startswith("."):
            pages += [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
    return pages


def archived_uris(datadir: Path, slug: str) -> list[str]:
    return [p["uri"] for page in chunk_pages(datadir, slug) for p in page.get("posts") or []]


def snakemake(workdir: Path, config: Path, env: dict[str, str], *targets: str,
              timeout: float = 180, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the project's Snakefile in ``workdir`` the way a user (or cron) would."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("BLUESKY_", "DNFLOW_BLUESKY", "X_BEARER", "DNFLOW_X_"))
                and k not in ("DNFLOW_NOW", "XDG_STATE_HOME")}
    full_env.update(env)
    cmd = [SNAKEMAKE, *targets, "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *extra, "--configfile", str(config)]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)


def leaks(root: Path, secrets: list[str]) -> list[str]:
    """Files under ``root`` holding any of ``secrets`` (the session folder excepted)."""
    found = []
    needles = [s.encode() for s in secrets if s]
    for p in root.rglob("*"):
        if p.is_file() and "dnflow-state" not in p.parts:
            data = p.read_bytes()
            if any(n in data for n in needles):
                found.append(str(p.relative_to(root)))
    return found
