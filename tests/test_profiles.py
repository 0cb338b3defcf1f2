"""The cluster profiles plan the workflow: profiles/slurm and profiles/kubernetes.

Each test dry-runs ``snakemake --profile <repo>/profiles/<name>`` in a temporary directory
(archive, demo and X searches) and checks what would run where: every summarize job is
submitted to the cluster, collection and the site stay on the submitting machine.

Snakemake's dry run does not print that decision (a dry run executes with the ``dryrun``
executor, and ``Job.log_info`` hides "local" on purpose), so the run goes through a small
driver: ``snakemake.cli.main`` with the same arguments, which after the plan asks each job
``Job.is_local`` under the profile's own executor plugin (Snakemake's code decides, the
test only reads it).

The kubernetes profile keeps every file in S3 (``default-storage-provider: s3``). Planning
asks S3 whether each output exists; the driver answers from moto's in-process mock of S3
(``mock_aws``: botocore never opens a socket), after "uploading" the archives the way a
user would. No network is touched and no cluster is needed.

Skipped, with the reason, when a plugin is not installed, unless DNFLOW_REQUIRE_PLUGINS is
set (CI sets it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, V2

SNAKEMAKE = Path(sys.executable).parent / "snakemake"
LOCAL_RULES = {"generate_raw", "collect", "media_groups", "page", "site_index", "all",
               "parquet", "networks", "bag"}
REMOTE_RULES = {"summarize"}
NOW = "2026-11-28T06:00:00Z"
BUCKET, PREFIX = "dnflow-test", "run"

PLUGINS = {
    "slurm": ["snakemake_executor_plugin_slurm"],
    "kubernetes": ["snakemake_executor_plugin_kubernetes", "snakemake_storage_plugin_s3",
                   "moto"],
}

# snakemake's CLI, plus: a mocked S3 (optional) and a record of each planned job's
# local/remote decision under the profile's executor
DRIVER = r"""
import json, os, sys
from snakemake import cli
from snakemake.workflow import Workflow
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

out, executor, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if os.environ.get("PLAN_MOCK_S3"):
    import boto3
    from moto import mock_aws
    mock_aws().start()
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket, _, prefix = os.environ["PLAN_MOCK_S3"].partition("/")
    s3.create_bucket(Bucket=bucket)
    for rel in os.environ.get("PLAN_S3_FILES", "").split():
        s3.upload_file(rel, bucket, f"{prefix}/{rel}")
_execute = Workflow.execute

def execute(self, *args, **kwargs):
    result = _execute(self, *args, **kwargs)
    dryrun = self._executor_plugin
    self._executor_plugin = ExecutorPluginRegistry().get_plugin(executor)
    try:
        jobs = [{"rule": j.rule.name, "local": j.is_local, "slug": j.wildcards_dict.get("slug"),
                 "input": [str(f) for f in j.input], "output": [str(f) for f in j.output]}
                for j in self.dag.jobs]
    finally:
        self._executor_plugin = dryrun
    with open(out, "w") as f:
        json.dump(jobs, f)
    return result

Workflow.execute = execute
sys.exit(cli.main(argv))
"""


def need_plugins(profile: str) -> None:
    missing = [m for m in PLUGINS[profile] if importlib.util.find_spec(m) is None]
    if not missing:
        return
    msg = (f"profiles/{profile}: {', '.join(missing)} not installed (pip install "
           "snakemake-executor-plugin-slurm snakemake-executor-plugin-kubernetes "
           "snakemake-storage-plugin-s3 'moto[s3]')")
    if os.environ.get("DNFLOW_REQUIRE_PLUGINS"):
        pytest.fail(msg + "; DNFLOW_REQUIRE_PLUGINS is set")
    pytest.skip(msg)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "archives").mkdir()
    for name in ("2sets.jsonl", "media_policy_violation_on.jsonl"):
        shutil.copy(V2 / name, tmp_path / "archives" / name)
    (tmp_path / "searches.yaml").write_text(json.dumps({"searches": {
        "sets": {"source": "archive", "files": "archives/2sets.jsonl"},
        "mpv": {"source": "archive", "files": ["archives/media_policy_violation_on.jsonl"]},
        "demo": {"source": "demo", "tweets": 50},
        "climate": {"source": "x", "query": "#climate", "every": "1d"},
    }}))
    return tmp_path


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("AWS_", "SNAKEMAKE_STORAGE_", "X_BEARER"))}
    return {**e, "PYTHONPATH": str(ROOT), "DNFLOW_NOW": NOW, **extra}


def plan(workdir: Path, profile: str, *args: str, **env_extra: str) -> tuple[list[dict], str]:
    out = workdir / f"plan-{profile}.json"
    executor = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())["executor"]
    res = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), executor,
         "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
         "--configfile", str(workdir / "searches.yaml"),
         "-n", "--profile", str(ROOT / "profiles" / profile), *args],
        cwd=workdir, capture_output=True, text=True, timeout=300, env=env(**env_extra),
    )
    log = res.stdout + res.stderr
    assert res.returncode == 0, f"dry run under profiles/{profile} failed:\n{log[-4000:]}"
    return json.loads(out.read_text()), log


def check_placement(jobs: list[dict]) -> None:
    by_rule: dict[str, list[dict]] = {}
    for j in jobs:
        by_rule.setdefault(j["rule"], []).append(j)
    assert set(by_rule) == LOCAL_RULES | REMOTE_RULES, sorted(by_rule)
    assert sorted(j["slug"] for j in by_rule["summarize"]) == ["climate", "demo", "mpv", "sets"]
    remote = sorted(j["rule"] for j in jobs if not j["local"])
    local = sorted({j["rule"] for j in jobs if j["local"]})
    assert remote == ["summarize"] * 4, f"submitted to the cluster: {remote}"
    assert local == sorted(LOCAL_RULES), f"run on the submitting machine: {local}"


def test_slurm_profile_plans_summaries_on_the_cluster(workdir):
    need_plugins("slurm")
    jobs, log = plan(workdir, "slurm")
    check_placement(jobs)
    assert "Using profiles" in log and "profiles/slurm" in log
    # the profile's summarize resources reach the plan (archives exist: sizes are known)
    assert "runtime=30" in log and "mem_mb=1000" in log
    # what a user types works too, and names the same jobs
    res = subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
         "--configfile", str(workdir / "searches.yaml"), "-n",
         "--profile", str(ROOT / "profiles" / "slurm")],
        cwd=workdir, capture_output=True, text=True, timeout=300, env=env(),
    )
    assert res.returncode == 0, res.stderr[-4000:]
    stats = res.stdout + res.stderr
    assert "summarize           4" in stats, stats[-2000:]


def test_kubernetes_profile_plans_summaries_in_pods_with_s3_storage(workdir):
    need_plugins("kubernetes")
    archives = "archives/2sets.jsonl archives/media_policy_violation_on.jsonl"
    jobs, log = plan(
        workdir, "kubernetes", "--default-storage-prefix", f"s3://{BUCKET}/{PREFIX}",
        PLAN_MOCK_S3=f"{BUCKET}/{PREFIX}", PLAN_S3_FILES=archives,
        # fake credentials for the mocked S3; no kubeconfig is read by a dry run
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", KUBECONFIG=str(workdir / "no-kubeconfig"),
    )
    check_placement(jobs)
    # every workflow file is an S3 object (local jobs read and write local copies of them)
    stored = f".snakemake/storage/s3/{BUCKET}/{PREFIX}/"
    for j in jobs:
        if j["rule"] == "summarize":
            assert j["input"] and all(p.startswith(stored) for p in j["input"]), j
            assert all(p.startswith(stored + "data/") for p in j["output"]), j
    assert f"s3://{BUCKET}/{PREFIX}/data/sets/summary/summary.json" in log
    assert f"s3://{BUCKET}/{PREFIX}/site/index.html" in log


def test_profiles_keep_the_x_slot_and_name_what_a_user_sets():
    default = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    assert "x_api=1" in default["resources"]
    slurm = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    k8s = yaml.safe_load((ROOT / "profiles" / "kubernetes" / "config.yaml").read_text())
    for prof in (slurm, k8s):
        # the workflow profile (profiles/default) wins key by key: a cluster profile
        # must not take over its keys, or the x_api slot could be lost
        assert not set(prof) & {"resources", "keep-going", "scheduler"}, set(prof)
        assert set(prof["set-resources"]["summarize"]) == {"mem_mb", "runtime"}
    assert k8s["default-storage-provider"] == "s3"
    assert k8s["default-storage-prefix"].startswith("s3://")
    for key in ("kubernetes-namespace", "container-image"):
        assert k8s[key], key
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    assert "slurm_account" in text and "slurm_partition" in text
    doc = (ROOT / "docs" / "scaling.md").read_text()
    for needle in ("slurm_account", "slurm_partition", "kubernetes-namespace",
                   "container-image", "default-storage-prefix", "SNAKEMAKE_STORAGE_S3_ACCESS_KEY",
                   "X_BEARER_TOKEN", "localrules"):
        assert needle in doc, needle
