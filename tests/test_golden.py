"""Every output is byte for byte what the code made before the record-and-registries
rewrite (tests/golden/summaries.json), on every X file of the corpus and on generated
archives, in one process and shared between workers. The networks made from each
case's tweets.csv (dnflow.networks) are byte for byte what the pass made when it
counted them itself (tests/golden/networks.json: written once from that code and never
counted again, so the two ways of counting are checked against each other; only
network.gexf's digests were moved once, for its new head, each proven to be the old
bytes with the old head put back)."""

import json

import pytest

from dnflow.networks import write_networks

from .golden.cases import GOLDEN, cases, digests, run_case

WANT = json.loads(GOLDEN.read_text())
NETWORKS = json.loads((GOLDEN.parent / "networks.json").read_text())


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("golden-archives"))


@pytest.mark.parametrize("name", sorted(WANT))
def test_outputs_unchanged(all_cases, tmp_path, name):
    base, files = all_cases[name]
    out = tmp_path / "out"
    assert run_case(base, files, out) == WANT[name]
    write_networks(out / "tweets.csv", out / "users.csv", tmp_path / "networks", "x")
    assert digests(tmp_path / "networks") == NETWORKS[name]


def test_outputs_unchanged_with_workers(all_cases, tmp_path):
    base, files = all_cases["corpus-all"]
    got = run_case(base, files, tmp_path / "out", workers=2, min_parallel_bytes=1)
    assert got == WANT["corpus-all"]
