"""A search too big for memory is counted by sorted runs on disk (dnflow.spill): its
outputs are byte for byte the in-memory ones (the golden summaries), in one process and
with workers, and no process holds more than its cap of keys."""

import json
import shutil
from pathlib import Path

import pytest

from dnflow import spill
from dnflow.counting import COUNTS, Tally
from dnflow.summary import passes, summarize

from .golden.cases import GOLDEN, cases, digests, run_case

WANT = json.loads(GOLDEN.read_text())
# small enough that every case spills many times, over many runs per count
SPILLING = {"spill_min_bytes": 0, "spill_keys": 40}


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("spill-archives"))


@pytest.mark.parametrize("name", sorted(WANT))
def test_spilled_outputs_are_the_in_memory_ones(all_cases, tmp_path, name):
    base, files = all_cases[name]
    assert run_case(base, files, tmp_path / "out", **SPILLING) == WANT[name]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".spill")]


@pytest.mark.parametrize("name", ["corpus-all", "generated-climate"])
def test_spilled_with_workers(all_cases, tmp_path, name):
    base, files = all_cases[name]
    got = run_case(base, files, tmp_path / "out", workers=2, min_parallel_bytes=1,
                   **SPILLING)
    assert got == WANT[name]


def test_workers_whose_ids_meet_are_recounted(all_cases, tmp_path):
    """The same archive twice: the second half's posts were all counted in the first
    (the worker's runs meet the parent's), so it is recounted after them and adds
    nothing, exactly as in memory."""
    base, files = all_cases["generated-music"]
    twice = [tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"]
    for p in twice:
        shutil.copyfile(base / files[0], p)
    mem = summarize(twice, tmp_path / "mem", {"slug": "t"}, workers=2, min_parallel_bytes=1)
    spilled = summarize(twice, tmp_path / "spilled", {"slug": "t"}, workers=2,
                        min_parallel_bytes=1, **SPILLING)
    assert spilled["tweets"] == mem["tweets"] == 2000
    assert spilled["sources"][1]["new"] == 0
    assert digests(tmp_path / "spilled") == digests(tmp_path / "mem")


def test_a_spilling_pass_holds_at_most_its_cap(all_cases, tmp_path, monkeypatch):
    base, files = all_cases["generated-climate"]
    held: list[int] = []
    take = Tally.take

    def watched(self, posts):
        take(self, posts)
        held.append(self.held())

    monkeypatch.setattr(Tally, "take", watched)
    paths = {n: tmp_path / n for n in passes.STREAMED}
    streams = passes.Streams(paths, header=True)
    p = passes.Pass(Tally(), streams, None, spill.Spiller(tmp_path / "runs"), cap=500)
    p.run([(0, base / files[0])])
    streams.close()
    page = 100  # a spill comes after the page that passed the cap
    assert p.tally.posts == 3000
    assert max(held) > 500  # it did fill up…
    assert max(held) <= 500 + 12 * page  # …and a page adds at most a dozen keys a post
    assert len(p.tally.seen_runs.runs) >= 3
    assert len(p.tally.seen_runs) + len(p.tally.seen) == 3000


def test_a_spilled_search_updates_from_its_state(all_cases, tmp_path):
    """Each update reads only its new files, from the runs its state kept, and its
    outputs are a count from scratch's (in memory), with workers, duplicates included."""
    import io

    base = all_cases["generated-climate"][0]
    a = base / all_cases["generated-climate"][1][0]
    b = base / all_cases["generated-music"][1][0]
    c = tmp_path / "again.jsonl.gz"
    shutil.copyfile(a, c)  # every post already counted
    state, out = tmp_path / "state", tmp_path / "out"
    for files in ([a], [a, b], [a, b, c]):
        log = io.StringIO()
        got = summarize(files, out, {"slug": "t"}, state_dir=state, log=log, workers=2,
                        min_parallel_bytes=1, **SPILLING)
        want = summarize(files, tmp_path / "mem", {"slug": "t"})
        assert got == want
        assert digests(out) == digests(tmp_path / "mem")
        assert (state / "state.spilled").exists() and not (state / "state.marshal").exists()
        if len(files) > 1:
            assert f"incremental: {len(files) - 1} files already counted, 1 new" in log.getvalue()
    runs = sorted(p.name for p in state.glob("*.run"))
    assert len(runs) == 1 + sum(1 for c in COUNTS if c.spills)  # the last state's only
    assert got["sources"][2]["new"] == 0


def test_a_damaged_spilled_state_means_a_recount(all_cases, tmp_path):
    base, files = all_cases["generated-news"]
    state, out = tmp_path / "state", tmp_path / "out"
    summarize([base / files[0]], out, {"slug": "t"}, state_dir=state, **SPILLING)
    run = next(state.glob("authors.*.run"))
    data = bytearray(run.read_bytes())
    run.write_bytes(bytes(data[:-1]))  # a run cut short: not the state's
    log = __import__("io").StringIO()
    got = summarize([base / files[0]], out, {"slug": "t"}, state_dir=state, log=log,
                    **SPILLING)
    assert "incremental" not in log.getvalue()
    assert got == summarize([base / files[0]], tmp_path / "mem", {"slug": "t"})


def test_each_kind_of_state_removes_the_other(all_cases, tmp_path):
    base, files = all_cases["generated-news"]
    state = tmp_path / "state"
    summarize([base / files[0]], tmp_path / "o1", {"slug": "t"}, state_dir=state)
    assert (state / "state.marshal").exists()
    summarize([base / files[0]], tmp_path / "o2", {"slug": "t"}, state_dir=state,
              **SPILLING)
    assert not (state / "state.marshal").exists() and (state / "state.spilled").exists()
    summarize([base / files[0]], tmp_path / "o3", {"slug": "t"}, state_dir=state)
    assert not (state / "state.spilled").exists() and not list(state.glob("*.run"))
    assert digests(tmp_path / "o1") == digests(tmp_path / "o2") == digests(tmp_path / "o3")


# ---------------------------------------------------------------- the runs themselves


def test_runs_find_ints_and_text_and_merge_in_input_order(tmp_path):
    sp = spill.Spiller(tmp_path)
    keys = [*range(0, 30000, 3), "012", "abc", "zz"]
    run = sp.run("seen", sorted(keys, key=spill.sort_key), with_values=False)
    assert len(run) == len(keys) and run.span is None  # text among the ints
    for k in (0, 3, 29997, "012", "abc", "zz"):
        assert k in run
    for k in (1, 29998, 30000, -3, "12", "ab", "zzz"):
        assert k not in run
    ints = sp.run("seen", range(100, 200), with_values=False)
    assert ints.span == (100, 199) and 150 in ints and 99 not in ints

    early = sp.run("c", [("a", 1), ("b", 2)])
    late = sp.run("c", [("b", 10), ("c", 5)])
    assert list(spill.merged([early, late], lambda a, b: f"{a}<{b}")) == [
        ("a", 1), ("b", "2<10"), ("c", 5)]


def test_ranked_holds_chunks_and_keeps_equal_keys_in_order(tmp_path):
    sp = spill.Spiller(tmp_path)
    items = [(i % 7, i) for i in range(1000)]
    got = list(spill.ranked(iter(items), lambda x: x[0], sp, chunk=64))
    assert got == sorted(items, key=lambda x: x[0])  # sorted() is stable too
    assert not list(tmp_path.glob("ranked.*"))  # its chunks are gone


def test_seen_runs_meet(tmp_path):
    sp = spill.Spiller(tmp_path)
    a, b, c = spill.SeenRuns(), spill.SeenRuns(), spill.SeenRuns()
    a.add(sp.run("s", [1, 5, 9], with_values=False))
    a.add(sp.run("s", [2, 6], with_values=False))
    b.add(sp.run("s", [3, 4, 7, "x"], with_values=False))
    c.add(sp.run("s", [0, 6, 100], with_values=False))
    assert not spill.meet(a, b)
    assert spill.meet(a, c) and spill.meet(c, a)
    assert a.found([6, 7, 9, 10]) == {6, 9}
    assert not spill.meet(a, spill.SeenRuns())


def test_digests_helper_sees_every_output(all_cases, tmp_path):
    """The comparisons above would pass vacuously if no output were compared."""
    base, files = all_cases["generated-news"]
    got = run_case(base, files, tmp_path / "out", **SPILLING)
    assert {"users.csv", "hashtags.csv", "retweets.csv", "media.csv", "summary.json",
            "cards.json", "tweets.csv"} <= set(got)
    assert Path(tmp_path / "out" / "users.csv").stat().st_size > 1000


def test_a_big_gzip_file_is_not_taken_for_a_small_one(all_cases, monkeypatch):
    """ISIZE (a gzip file's recorded size) is modulo 4 GiB: past the size where it may
    have wrapped, the estimate is at least ten times the compressed size."""
    from dnflow.sources import archive

    base, files = all_cases["generated-news"]
    path = base / files[0]
    exact = archive.uncompressed_size(path)
    assert exact > 4 * path.stat().st_size  # ISIZE, trusted for a small file
    monkeypatch.setattr(archive, "GZIP_MAY_WRAP", 1)
    assert archive.uncompressed_size(path) == max(exact, 10 * path.stat().st_size)
