"""profiles/kubernetes's S3 storage against a real HTTP endpoint: moto's server on 127.0.0.1.

Kubernetes cannot run here (no cluster, no container runtime), so the pods are replaced by
local jobs (``--executor local``); everything else is the profile as shipped, with the
two settings docs/scaling.md says a user sets: the bucket prefix and, for an
S3-compatible store, the endpoint. Every file of the workflow then lives in the bucket,
and Snakemake's S3 plugin moves it over HTTP through botocore, as it would to AWS.

1. "the cluster": summaries are computed and go up, with the raw files they read;
2. "the submitting machine", a fresh folder with nothing but searches.yaml: the summaries
   come back from the bucket (they are not recomputed) and the site is rendered and goes
   up;
3. a rerun with nothing due transfers nothing: no object is uploaded or downloaded.

The requests are counted from the server's own access log. Skipped without the plugins,
unless DNFLOW_REQUIRE_PLUGINS is set (CI).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, V2

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
BUCKET, PREFIX = "dnflow-test", "run"
NOW = "2026-11-28T06:00:00Z"
SEARCHES = {
    "sets": {"source": "archive", "files": "archives/2sets.jsonl"},
    "demo": {"source": "demo", "tweets": 200, "seed": 5},
}
# one access-log line of werkzeug (moto's server): '… "GET /bucket/key?x HTTP/1.1" 200 -'
REQUEST = re.compile(r'"([A-Z]+) (/[^ ?]*)(\?\S*)? HTTP/[\d.]+"')
COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some lines (206 for a download)


def need_plugins() -> None:
    missing = [m for m in ("snakemake_storage_plugin_s3", "snakemake_executor_plugin_kubernetes",
                           "moto", "flask") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    msg = f"{', '.join(missing)} not installed (pip install -e '.[cluster]')"
    if os.environ.get("DNFLOW_REQUIRE_PLUGINS"):
        pytest.fail(msg + "; DNFLOW_REQUIRE_PLUGINS is set")
    pytest.skip(msg)


class AccessLog(logging.Handler):
    """The server's requests, as (method, path, query)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = REQUEST.search(COLOUR.sub("", record.getMessage()))
        if m:
            self.requests.append((m.group(1), m.group(2), m.group(3) or ""))

    def objects(self, *methods: str) -> list[str]:
        """Keys read or written whole: a GET of a key is a download, a GET of the bucket
        with a query is a listing."""
        return sorted(path.removeprefix(f"/{BUCKET}/") for method, path, _ in self.requests
                      if method in methods and path.startswith(f"/{BUCKET}/"))


@pytest.fixture
def s3() -> Iterator[tuple[str, AccessLog]]:
    need_plugins()
    from moto.server import ThreadedMotoServer

    log = AccessLog()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(log)
    old_level, old_propagate = werkzeug.level, werkzeug.propagate
    # every request, to this handler only (not into pytest's report of a failure)
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}", log
    finally:
        server.stop()
        werkzeug.removeHandler(log)
        werkzeug.setLevel(old_level)
        werkzeug.propagate = old_propagate


def folder(path: Path) -> Path:
    """A project folder as a user has it: searches.yaml and the archive it names."""
    (path / "archives").mkdir(parents=True)
    shutil.copy(V2 / "2sets.jsonl", path / "archives" / "2sets.jsonl")
    (path / "searches.yaml").write_text(json.dumps({"searches": SEARCHES}))
    return path


def snakemake(work: Path, url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "X_BEARER"))}
    env.update(SNAKEMAKE_STORAGE_S3_ACCESS_KEY="testing", SNAKEMAKE_STORAGE_S3_SECRET_KEY="x",
               AWS_DEFAULT_REGION="us-east-1", DNFLOW_NOW=NOW)
    res = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work),
         "--configfile", str(work / "searches.yaml"),
         "--profile", str(ROOT / "profiles" / "kubernetes"),
         # the pods, replaced by local jobs: there is no Kubernetes here
         "--executor", "local",
         "--default-storage-prefix", f"s3://{BUCKET}/{PREFIX}",
         "--storage-s3-endpoint-url", url, *args],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


def ran(out: str) -> list[str]:
    return sorted(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", out, re.M))


def test_kubernetes_profile_s3_storage_over_http(tmp_path, s3):
    url, log = s3
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="x")
    client.create_bucket(Bucket=BUCKET)
    cluster, home = folder(tmp_path / "cluster"), folder(tmp_path / "home")
    # what docs/scaling.md has the user do first: the archives into the bucket
    client.upload_file(str(home / "archives" / "2sets.jsonl"), BUCKET,
                       f"{PREFIX}/archives/2sets.jsonl")
    summary_keys = {f"{PREFIX}/data/{s}/summary/summary.json" for s in SEARCHES}

    # 1. the counting: raw files and summaries go up, the archive is read from the bucket
    log.requests.clear()
    out = snakemake(cluster, url, "--until", "summarize")
    assert ran(out) == ["generate_raw", "summarize", "summarize"]
    put = log.objects("PUT")
    assert summary_keys <= set(put), put
    assert f"{PREFIX}/data/demo/raw/demo.jsonl.gz" in put
    assert log.objects("GET") == [f"{PREFIX}/archives/2sets.jsonl"]
    stored = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert summary_keys <= stored and not any(k.startswith(f"{PREFIX}/site/") for k in stored)

    # 2. the submitting machine has nothing but searches.yaml: the summaries come back
    log.requests.clear()
    out = snakemake(home, url)
    assert "summarize" not in ran(out) and "generate_raw" not in ran(out)
    # the parquet, the networks, the bag and the media groups are made on the submitting
    # machine too (localrules)
    assert ran(out) == ["all", "bag", "bag", "media_groups", "media_groups", "networks",
                        "networks", "page", "page", "parquet", "parquet", "site_index"]
    assert summary_keys <= set(log.objects("GET")), log.objects("GET")
    assert f"{PREFIX}/site/index.html" in log.objects("PUT")
    local = home / ".snakemake" / "storage" / "s3" / BUCKET / PREFIX
    index = (local / "site" / "index.html").read_text()
    for slug in SEARCHES:
        summary = json.loads((local / "data" / slug / "summary" / "summary.json").read_text())
        cloud = json.loads(client.get_object(
            Bucket=BUCKET, Key=f"{PREFIX}/data/{slug}/summary/summary.json")["Body"].read())
        assert summary == cloud and summary["tweets"] > 0
        assert f"{summary['tweets']:,}" in index, slug
    body = client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/site/index.html")["Body"].read()
    assert body.decode() == index

    # 3. nothing due: Snakemake asks the bucket about every file, and moves none
    log.requests.clear()
    out = snakemake(home, url)
    assert "Nothing to be done" in out
    assert log.requests, "the rerun asked the bucket nothing: the count saw nothing"
    assert log.objects("PUT", "POST", "DELETE") == []
    assert log.objects("GET") == []
