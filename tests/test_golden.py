"""Every output is byte for byte what the code made before the record-and-registries
rewrite (tests/golden/summaries.json), on every X file of the corpus and on generated
archives, in one process and shared between workers."""

import json

import pytest

from .golden.cases import GOLDEN, cases, run_case

WANT = json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("golden-archives"))


@pytest.mark.parametrize("name", sorted(WANT))
def test_outputs_unchanged(all_cases, tmp_path, name):
    base, files = all_cases[name]
    assert run_case(base, files, tmp_path / "out") == WANT[name]


def test_outputs_unchanged_with_workers(all_cases, tmp_path):
    base, files = all_cases["corpus-all"]
    got = run_case(base, files, tmp_path / "out", workers=2, min_parallel_bytes=1)
    assert got == WANT["corpus-all"]
