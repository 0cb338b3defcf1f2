"""What profiles/slurm asks the cluster before a run: how to follow the jobs it submits.

The Slurm executor plugin (2.8.0) queries job states with ``sacct`` whenever the binary
exists. On a cluster without an accounting database ``sacct`` only answers "Slurm
accounting storage is disabled": every query fails, no job is ever seen to finish, and
Snakemake waits forever. ``status_command`` asks ``sacct`` itself and picks ``squeue``
when it does not answer; the profile passes the choice as ``slurm-status-command``
(docs/scaling.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess

# the plugin's own rule (snakemake_executor_plugin_slurm.check_active_jobs): it replaces
# squeue by sacct when finished jobs leave squeue sooner than three times its first
# status-check delay (40 s by default)
FIRST_CHECK_SECONDS = 40
# a busy slurmdbd answers in seconds; a client whose slurm.conf is missing retries for 60 s
QUERY_TIMEOUT = 20


class SlurmSetupError(RuntimeError):
    """The cluster offers no way to follow jobs to their end: the run would hang."""


def _ask(*cmd: str) -> subprocess.CompletedProcess | None:
    """The command's answer, or None when it cannot run or does not answer in time."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=QUERY_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None


def min_job_age() -> int | None:
    """Seconds a finished job stays visible to squeue (slurm.conf's MinJobAge)."""
    res = _ask("scontrol", "show", "config")
    m = re.search(r"^MinJobAge\s*=\s*(\d+)", res.stdout if res else "", re.M)
    return int(m.group(1)) if m else None


def status_command() -> str | None:
    """``sacct`` where accounting answers, else ``squeue``; None where Slurm does not
    answer (the plugin's default applies: a machine that only plans a run, a login node
    that cannot reach its controller, where sbatch will say why).

    Raises SlurmSetupError when neither would work: no accounting, and finished jobs leave
    squeue so soon that the plugin would switch back to sacct and wait forever.
    """
    if not all(shutil.which(c) for c in ("sinfo", "squeue", "sacct")):
        return None  # without sacct the plugin uses squeue itself
    accounting = _ask("sacct", "--noheader", "-X", "--starttime", "now", "--format=JobIdRaw")
    if accounting is None:
        return None
    if accounting.returncode == 0:
        return "sacct"
    age = min_job_age()
    if age is None:
        return None
    if age < 3 * FIRST_CHECK_SECONDS:
        raise SlurmSetupError(
            "profiles/slurm: this cluster has no job accounting (sacct does not answer) and "
            f"keeps finished jobs in squeue for MinJobAge={age} s, less than the "
            f"{3 * FIRST_CHECK_SECONDS} s the Slurm executor plugin needs to follow them "
            "with squeue: the run would never end. Ask for MinJobAge >= "
            f"{3 * FIRST_CHECK_SECONDS} or accounting (docs/scaling.md)."
        )
    return "squeue"
