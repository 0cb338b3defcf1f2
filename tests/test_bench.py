"""`python -m bench --quick` runs (figures are not checked: timings belong to bench/).

P3 and P5 are left out here: tests/test_bench_searches.py and tests/test_bench_collect.py
run their quick modes and check what they show.
"""

import re
import subprocess
import sys

from .conftest import ROOT


def test_quick_bench_runs(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "P1,NET,P4,P4S,MEM",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    for figure in ("P1 ratio summarize / floor", "P2 peak RSS", "P4 rebuild after a new chunk",
                   "P4S rebuild after a new chunk", "MEM 20,000 posts",
                   "byte-identical to the incremental ones: yes", "NET networks job",
                   "NET posts.parquet job"):
        assert figure in res.stdout, figure
    assert "byte-identical to the incremental ones: NO" not in res.stdout
    assert not (tmp_path / "results.md").exists()


def test_quick_media_bench_runs_and_its_fast_pairs_are_all_pairs(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "MEDIA", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    for figure in ("MEDIA hash the labelled set", "**chosen**", "MEDIA group 5,000 images",
                   "same pairs: yes", "0 groups mixing pictures"):
        assert figure in res.stdout, figure
    assert not (tmp_path / "results.md").exists()


def test_quick_bag_bench_runs_and_the_rebuilt_bag_is_the_whole_one(tmp_path):
    """BAG: both bags validate (bagit.py, in bench/bag.py) and the bag remade from its
    state is the same bytes as one made whole; the rebuild reused the unchanged chunks."""
    res = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "BAG", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    for figure in ("BAG first build", "BAG rebuild after a new chunk of 1%",
                   "byte-identical to the rebuilt one: yes"):
        assert figure in res.stdout, figure
    reused = re.search(r"(\d+) MB of unchanged files copied from the last bag", res.stdout)
    assert reused and int(reused.group(1)) >= 2  # the 100 old chunks (3 MB in all)
    assert not (tmp_path / "results.md").exists()
