"""profiles/slurm on a real Slurm: Debian's slurm-wlm, one node, started by ``.ci/slurm``.

Each test starts a private single-node cluster (munged, slurmctld, slurmd; with
accounting also MariaDB and slurmdbd), runs ``snakemake --profile profiles/slurm`` over the
shipped demo searches, an archive search from the corpus, a damaged archive (counted up to
its damage), a search that cannot be counted (a stray file where its state goes) and an X
search (collected from the loopback fake API with the token in a file), and reads what
the scheduler itself recorded: the job completion log without accounting, sacct with it.

Checked: every summarize job went through sbatch and completed, nothing else did (the
local rules stayed local), the outputs are byte-identical to a local run, the run ends by
itself within a bound (the plugin once waited forever on a cluster without accounting),
the search that cannot be counted fails alone and the run's last lines name its log, and the bearer
token is in no job environment Slurm keeps (spool files, and slurmdbd's job_env records).

Needs root (slurmd) and Debian's packages (``.ci/slurm install``); skipped with the reason
otherwise, unless DNFLOW_REQUIRE_SLURM is set (.ci/run sets it).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from dnflow.fakeapi import FakeXAPI, Pool, generated_pool
from dnflow.publish import SECRET_NAME

from .conftest import ROOT, V2, damaged_gzip

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SCRIPT = ROOT / ".ci" / "slurm"
NOW = "2026-11-28T06:00:00Z"
QUERY = "#climatestrike"
TOKEN = "dnflow-slurm-token-5e1d0c7b-DO-NOT-LEAK"
LOCAL_RULES = {"generate_raw", "collect", "media_groups", "page", "site_index", "all",
               "parquet", "networks", "bag"}
# the profile as shipped first asks after 40 s, and waits once more at the end: a working
# run takes about two minutes here, a hanging one never ends
RUN_BOUND = 300
# .ci/slurm brings up one cluster per machine (Slurm's configuration is global): tests
# run in parallel (pytest-xdist) take turns through this lock
ONE_CLUSTER = Path(tempfile.gettempdir()) / "dnflow-slurm.lock"


def need_slurm(accounting: bool) -> None:
    why = None
    daemons = ["slurmctld", "slurmd", "munged"] + (["slurmdbd", "mariadbd"] if accounting else [])
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        why = "snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')"
    elif os.geteuid() != 0:
        why = "a Slurm cluster needs root to start (slurmd runs jobs as their users)"
    elif missing := [d for d in daemons if shutil.which(d) is None]:
        why = f"{', '.join(missing)} not installed (.ci/slurm install: Debian's packages)"
    if why is None:
        return
    if os.environ.get("DNFLOW_REQUIRE_SLURM"):
        pytest.fail(why + "; DNFLOW_REQUIRE_SLURM is set")
    pytest.skip(why)


class Cluster:
    def __init__(self, root: Path, accounting: bool) -> None:
        self.root, self.accounting = root, accounting
        self.env = {**os.environ, "SLURM_CONF": str(root / "etc" / "slurm.conf")}

    def run(self, *cmd: str) -> str:
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"{' '.join(cmd)}: {res.stderr}"
        return res.stdout

    def records(self, run_id: str) -> dict[str, dict[str, str]]:
        """The scheduler's own record of the run's jobs, by job id: sacct with
        accounting, else the job completion log (jobcomp/filetxt)."""
        if self.accounting:
            out = self.run("sacct", "-X", "--parsable2", "--noheader", "--name", run_id,
                           "--starttime", "now-1days",
                           "--format=JobIdRaw,State,JobName,Account,Partition")
            keys = ("JobId", "JobState", "Name", "Account", "Partition")
            rows = [dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines()]
        else:
            text = (self.root / "log" / "jobcomp.log").read_text()
            rows = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines()]
        return {r["JobId"]: r for r in rows if r.get("Name") == run_id}

    def kept_environments(self, job_ids: list[str]) -> dict[str, bytes]:
        """Every job environment Slurm keeps: slurmctld's spool (StateSaveLocation) and
        slurmd's, and with accounting slurmdbd's job_env records."""
        kept = {}
        for folder in ("state", "spool"):
            for path in (self.root / folder).rglob("*"):
                if path.is_file():
                    kept[str(path)] = path.read_bytes()
        if self.accounting:
            for job in job_ids:
                kept[f"sacct --env-vars -j {job}"] = self.run(
                    "sacct", "--env-vars", "-j", job).encode()
        return kept


@contextmanager
def slurm_cluster(accounting: bool):
    need_slurm(accounting)
    with open(ONE_CLUSTER, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        with _cluster(accounting) as cluster:
            yield cluster


@contextmanager
def _cluster(accounting: bool):
    # a short path: munge's and MariaDB's sockets live in it
    root = Path(tempfile.mkdtemp(prefix="dnflow-slurm-", dir="/tmp"))
    args = [str(SCRIPT), "up", str(root)] + (["--accounting"] if accounting else [])
    started = time.monotonic()
    res = subprocess.run(args, capture_output=True, text=True, timeout=180)
    try:
        if res.returncode != 0:
            msg = f"Slurm did not start: {res.stderr.strip()}"
            for log in sorted((root / "log").glob("*")):  # removed below: their ends here
                tail = log.read_text(errors="replace").splitlines()[-15:]
                msg += f"\n--- {log.name}\n" + "\n".join(tail)
            if os.environ.get("DNFLOW_REQUIRE_SLURM"):
                pytest.fail(msg)
            pytest.skip(msg)
        print(f"cluster up in {time.monotonic() - started:.1f}s", file=sys.stderr)
        yield Cluster(root, accounting)
    finally:
        subprocess.run([str(SCRIPT), "down", str(root)], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def make_workdir(work: Path) -> dict:
    """The shipped demo searches, an archive search, a damaged archive, a search that
    cannot be counted (a stray file where its state folder goes), an X search."""
    (work / "archives").mkdir(parents=True)
    shutil.copy2(V2 / "2sets.jsonl", work / "archives" / "2sets.jsonl")
    damaged_gzip(V2 / "kpop.jsonl", work / "archives" / "kpop.jsonl.gz")
    searches = yaml.safe_load((ROOT / "config" / "searches.yaml").read_text())["searches"]
    searches.update({
        "sets": {"source": "archive", "files": "archives/2sets.jsonl"},
        "damaged": {"source": "archive", "files": "archives/kpop.jsonl.gz"},
        "broken": {"source": "archive", "files": "archives/2sets.jsonl"},
        "x-climate": {"source": "x", "query": QUERY},
    })
    (work / "searches.yaml").write_text(json.dumps({"searches": searches}))
    (work / "data" / "broken").mkdir(parents=True)
    (work / "data" / "broken" / "state").write_text("stray")  # its summary cannot run
    return searches


def snakemake(work: Path, env: dict[str, str], *args: str, bound: float = RUN_BOUND) -> str:
    """Run the workflow to its end, or fail the test when it has not ended within bound
    (its process group and the cluster's jobs are stopped then)."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(work),
           "--configfile", str(work / "searches.yaml"), *args]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"snakemake {' '.join(args)} did not end by itself within {bound} s; "
                    f"its last lines:\n{out[-3000:]}")
    elapsed = time.monotonic() - started
    print(f"snakemake {' '.join(args[:2])}: {elapsed:.1f}s", file=sys.stderr)
    work.with_suffix(".out").write_text(out)  # beside the folder, for a failing test
    assert proc.returncode == 0, out[-4000:]
    return out


def run_env(cluster: Cluster | None, api: FakeXAPI, token_file: Path,
            canary: str) -> dict[str, str]:
    env = {k: v for k, v in (cluster.env if cluster else os.environ).items()
           if not k.startswith(("X_BEARER", "DNFLOW_X", "SNAKEMAKE_", "SLURM_JOB"))}
    if cluster is None:
        env.pop("SLURM_CONF", None)
    # the token as docs/scaling.md says: a file, so that only its path is in the
    # environment sbatch --export=ALL copies into every job
    env.update({"X_BEARER_TOKEN_FILE": str(token_file), "DNFLOW_X_API_URL": api.url,
                "DNFLOW_NOW": NOW, "DNFLOW_X_BACKOFF": "0.05", "DNFLOW_X_JITTER": "0.1",
                "DNFLOW_SLURM_CANARY": canary})
    return env


def submitted(out: str) -> dict[str, tuple[str, str, Path]]:
    """Slurm job id → (rule, wildcards, log) from the plugin's "submitted" lines."""
    jobs = {}
    line = r"submitted with SLURM jobid (\d+) \(log: (\S+/rule_(\w+)/(\S+)/\d+\.log)\)"
    for m in re.finditer(line, out):
        jobs[m.group(1)] = (m.group(3), m.group(4), Path(m.group(2)))
    return jobs


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def outputs(work: Path, searches: dict) -> dict[str, bytes]:
    out = {f"site/{k}": v for k, v in tree(work / "site").items()}
    for slug in searches:
        out.update({f"data/{slug}/summary/{k}": v
                    for k, v in tree(work / "data" / slug / "summary").items()})
    return out


def local_reference(work: Path, ref: Path, env: dict[str, str]) -> None:
    """The same searches run on this machine alone, from the same raw files (copied with
    their times: a summary is dated by its inputs)."""
    ref.mkdir()
    shutil.copy2(work / "searches.yaml", ref / "searches.yaml")
    shutil.copytree(work / "archives", ref / "archives")
    # the same pseudonyms (dnflow.publish): the same project's key
    (ref / "data").mkdir()
    if (work / "data" / SECRET_NAME).exists():
        shutil.copy2(work / "data" / SECRET_NAME, ref / "data" / SECRET_NAME)
    for slug_dir in (work / "data").iterdir():
        if not slug_dir.is_dir():
            continue
        for part in ("raw", "runs"):
            if (slug_dir / part).is_dir():
                shutil.copytree(slug_dir / part, ref / "data" / slug_dir.name / part)
    stray = work / "data" / "broken" / "state"
    (ref / "data" / "broken").mkdir(parents=True, exist_ok=True)
    shutil.copy2(stray, ref / "data" / "broken" / "state")
    out = snakemake(ref, env, "--cores", "2")
    assert "SLURM" not in out


def check_run(cluster: Cluster, work: Path, searches: dict, out: str, api: FakeXAPI,
              token_file: Path, canary: str) -> dict[str, dict[str, str]]:
    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)
    jobs = submitted(out)
    # every summarize job, and nothing else, went through sbatch
    assert sorted(rule for rule, _, _ in jobs.values()) == ["summarize"] * len(searches), jobs
    assert sorted(wc for _, wc, _ in jobs.values()) == sorted(searches)
    # the scheduler's own records: exactly those jobs, all completed
    records = cluster.records(run_id)
    assert sorted(records) == sorted(jobs), (records, jobs)
    assert {r["JobState"] for r in records.values()} == {"COMPLETED"}, records
    # the local rules ran here (Snakemake prints them as "localrule")
    ran_here = set(re.findall(r"^local(?:rule|checkpoint) (\w+):", out, re.M))
    assert ran_here == LOCAL_RULES, ran_here
    assert re.findall(r"^(?:rule|checkpoint) (\w+):", out, re.M) == ["summarize"] * len(searches)
    assert len(api.requests) > 0  # the X search was collected, here

    # byte-identical to a local run
    ref = work.parent / "local"
    local_reference(work, ref, run_env(None, api, token_file, canary))
    mine, theirs = outputs(work, searches), outputs(ref, searches)
    assert sorted(mine) == sorted(theirs)
    assert [k for k in mine if mine[k] != theirs[k]] == []

    # the search that cannot be counted failed alone; the run's last lines name its log
    summaries = {s: json.loads((work / "data" / s / "summary" / "summary.json").read_text())
                 for s in searches}
    assert [s for s, v in summaries.items() if v.get("status") == "failed"] == ["broken"]
    assert all(v["tweets"] > 0 for s, v in summaries.items() if s not in ("broken", "damaged"))
    assert summaries["damaged"]["skipped"] >= 1  # counted up to its damage, not failed
    m = re.search(r"dnflow: search 'broken' failed: (.+) \(the trace is in (\S+)\)", out)
    assert m, out[-2000:]
    trace = (work / m.group(2)).read_text()
    assert "Traceback" in trace and m.group(1).split(":")[0] in trace
    assert "This search failed" in (work / "site" / "broken" / "index.html").read_text()

    # the token: in no environment Slurm keeps, though the rest of the environment is
    kept = cluster.kept_environments(sorted(jobs))
    with_canary = [k for k, v in kept.items() if canary.encode() in v]
    assert with_canary, "no job environment found in Slurm's records: the check saw nothing"
    for job in jobs:  # each job's record was read: slurmctld's, and slurmdbd's
        assert any(k.endswith(f"/job.{job}/environment") for k in with_canary), job
        if cluster.accounting:
            assert f"sacct --env-vars -j {job}" in with_canary, job
    assert [k for k, v in kept.items() if TOKEN.encode() in v] == []
    assert [k for k, v in kept.items() if b"X_BEARER_TOKEN=" in v] == []
    assert any(b"X_BEARER_TOKEN_FILE=" in v for v in kept.values())
    leaks = [p for p in work.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == [] and TOKEN not in out
    return records


@contextmanager
def x_api():
    with FakeXAPI(Pool(generated_pool(250, 3, query=QUERY)), token=TOKEN) as api:
        yield api


def status_command(cluster: Cluster) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from dnflow.slurm import status_command; print(status_command())"],
        env=cluster.env, capture_output=True, text=True, timeout=60)


def test_slurm_profile_without_accounting(tmp_path):
    """The cluster of issue 16: no accounting database, where the plugin used to hang."""
    with slurm_cluster(accounting=False) as cluster:
        sacct = subprocess.run(["sacct"], env=cluster.env, capture_output=True, text=True)
        assert "Slurm accounting storage is disabled" in sacct.stdout + sacct.stderr
        assert status_command(cluster).stdout.strip() == "squeue"
        work, token_file = tmp_path / "work", tmp_path / "x-token"
        token_file.write_text(TOKEN + "\n")
        searches = make_workdir(work)
        canary = uuid.uuid4().hex
        with x_api() as api:
            env = run_env(cluster, api, token_file, canary)
            # the profile exactly as shipped, nothing overridden
            out = snakemake(work, env, "--profile", str(ROOT / "profiles" / "slurm"))
            check_run(cluster, work, searches, out, api, token_file, canary)

        # a cluster where squeue forgets finished jobs too soon for the plugin: the profile
        # stops before submitting anything, and says why
        conf = Path(cluster.env["SLURM_CONF"])
        conf.write_text(conf.read_text().replace("MinJobAge=300", "MinJobAge=30"))
        cluster.run("scontrol", "reconfigure")
        deadline = time.monotonic() + 30
        while not re.search(r"^MinJobAge\s*=\s*30 ", cluster.run("scontrol", "show", "config"),
                            re.M):
            assert time.monotonic() < deadline, "slurmctld did not take MinJobAge=30"
            time.sleep(0.5)
        res = subprocess.run(
            [SNAKEMAKE, "-n", "-s", str(ROOT / "Snakefile"), "-d", str(work),
             "--configfile", str(work / "searches.yaml"),
             "--profile", str(ROOT / "profiles" / "slurm")],
            env=cluster.env, capture_output=True, text=True, timeout=120)
        assert res.returncode != 0
        assert "MinJobAge=30 s" in res.stderr and "would never end" in res.stderr, res.stderr


def test_slurm_profile_with_accounting(tmp_path):
    """slurmdbd and MariaDB: sacct answers, the profile picks it, the account is used."""
    with slurm_cluster(accounting=True) as cluster:
        assert status_command(cluster).stdout.strip() == "sacct"
        # the profile as docs/scaling.md says to fill it in: account and partition set
        profile = tmp_path / "profile"
        shutil.copytree(ROOT / "profiles" / "slurm", profile)
        text = (profile / "config.yaml").read_text()
        for line, value in (("slurm_account=myaccount", "slurm_account=ci"),
                            ("slurm_partition=mypartition", "slurm_partition=debug")):
            assert f'# - "{line}"' in text
            text = text.replace(f'# - "{line}"', f'- "{value}"')
        (profile / "config.yaml").write_text(text)

        work, token_file = tmp_path / "work", tmp_path / "x-token"
        token_file.write_text(TOKEN + "\n")
        searches = make_workdir(work)
        canary = uuid.uuid4().hex
        with x_api() as api:
            env = run_env(cluster, api, token_file, canary)
            # polling sooner than the plugin's 40 s keeps the CI run short
            out = snakemake(work, env, "--profile", str(profile),
                            "--slurm-init-seconds-before-status-checks", "5")
            records = check_run(cluster, work, searches, out, api, token_file, canary)
        assert {r["Account"] for r in records.values()} == {"ci"}
        assert {r["Partition"] for r in records.values()} == {"debug"}


def test_status_command_leaves_the_choice_to_the_plugin_where_no_slurm_answers(
        tmp_path, monkeypatch):
    from dnflow import slurm

    # Slurm's commands, and a slurm.conf that is not there: they retry for a minute
    monkeypatch.setattr(slurm, "QUERY_TIMEOUT", 2)
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "no-such-slurm.conf"))
    started = time.monotonic()
    assert slurm.status_command() is None
    assert time.monotonic() - started < 10
    # no Slurm at all
    monkeypatch.setenv("PATH", str(tmp_path))
    assert slurm.status_command() is None
