"""envs/dnflow.yaml (the jobs' conda environment) lists what pyproject.toml depends on."""

import re
import tomllib

import yaml

from .conftest import ROOT


def _split(spec: str) -> tuple[str, str]:
    name, version = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), version.replace(" ", "")


def test_conda_env_has_every_runtime_dependency_with_the_same_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(d) for d in project["dependencies"])
    wanted.pop("snakemake")  # it runs the jobs; it is not in their environment
    env = yaml.safe_load((ROOT / "envs" / "dnflow.yaml").read_text())
    have = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    python = have.pop("python")
    assert have == wanted
    assert python.lstrip("=") == project["requires-python"].lstrip(">=")
