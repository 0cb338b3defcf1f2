"""Issue 15, class 7: state that cannot lie. A saved state damaged without changing size
(a digit flipped in ids.bin, tweets.csv, users.csv, the state itself…) is never used:
the next run counts from scratch and publishes what a count from scratch publishes. A
file that grows while it is read is counted again by the next run."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnflow.generate import write_archive
from dnflow.summary import summarize

from .conftest import V2
from .test_incremental import META, Log, assert_same, run, scratch

# every file of a saved state a later run reads
STATE_FILES = ["state.marshal", "state.head", "ids.bin", "tweets.csv", "tweet-ids.txt",
               "skipped.csv", "users.csv", "users.*.marshal", "users.order"]


def _flip_a_digit(path):
    """Change one digit in the second half of ``path`` (its size stays the same)."""
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data)):
        if 0x30 <= data[i] <= 0x39:
            data[i] = 0x30 + (data[i] - 0x30 + 1) % 10
            path.write_bytes(bytes(data))
            return
    data[len(data) // 2] ^= 0x01  # no digit: a bit then
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("archives")
    a = d / "a.jsonl"
    write_archive(a, 800, 31, page_size=50)
    return [a, V2 / "2sets.jsonl", V2 / "streaming_output_with_error.jsonl"]


@pytest.mark.parametrize("name", STATE_FILES)
def test_a_damaged_state_file_means_a_recount(tmp_path, files, name):
    run(tmp_path, files[:2])
    state = tmp_path / "state"
    targets = sorted(state.glob(name))
    assert targets, f"no {name} in the state: {sorted(p.name for p in state.iterdir())}"
    for path in targets:
        _flip_a_digit(path)
    got, incremental, _ = run(tmp_path, files)
    # the head is only a hint (the state itself is checked); users.csv and its order
    # are written anew from the authors' table instead of spliced
    if name not in ("state.head", "users.csv", "users.order"):
        assert not incremental
    assert_same(got, scratch(tmp_path, files))
    # and the state written by the recount is sound again
    again, incremental, _ = run(tmp_path, files)
    assert incremental
    assert_same(again, got)


@pytest.mark.parametrize("name", ["state.spilled", "tweets.csv", "tweet-ids.txt"])
def test_a_damaged_spilled_state_means_a_recount(tmp_path, files, name):
    kw = {"spill_min_bytes": 0, "spill_keys": 40}
    run(tmp_path, files[:2], **kw)
    _flip_a_digit(tmp_path / "state" / name)
    got, incremental, _ = run(tmp_path, files, **kw)
    assert not incremental
    assert_same(got, scratch(tmp_path, files, **kw))


class GrowingLog(Log):
    """A job log that appends posts to an archive when the summary reports having read
    it: the archive grows while the search is counted, as one still being written does."""

    def __init__(self, path, more):
        super().__init__()
        self.path, self.more = path, more

    def write(self, text):
        if text.startswith(f"read {self.path}:") and self.more:
            with open(self.path, "ab") as f:
                f.write(self.more)
            self.more = b""
        super().write(text)


def test_a_file_that_grows_while_read_is_counted_again_by_the_next_run(tmp_path):
    archive = tmp_path / "growing.jsonl"
    lines = (V2 / "2sets.jsonl").read_bytes().splitlines(keepends=True)
    archive.write_bytes(lines[0])  # the first page: 100 tweets
    out, state = tmp_path / "summary", tmp_path / "state"
    log = GrowingLog(archive, lines[1])
    first = summarize([archive], out, META, log=log, state_dir=state)
    assert first["tweets"] == 100 and first["changed_while_read"] == [str(archive)]
    assert "counted again by the next run" in "".join(log)
    second = summarize([archive], out, META, log=Log(), state_dir=state)
    assert second["tweets"] == 200 and "changed_while_read" not in second


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["state.marshal", "ids.bin", "tweets.csv", "tweet-ids.txt",
                             "users.csv"]),
       where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_flipped_bit_of_a_state_never_reaches_the_outputs(tmp_path_factory, files,
                                                             name, where, bit):
    tmp = tmp_path_factory.mktemp("flip")
    run(tmp, files[:2])
    path = tmp / "state" / name
    data = bytearray(path.read_bytes())
    data[int(where * len(data))] ^= 1 << bit
    path.write_bytes(bytes(data))
    got, _, _ = run(tmp, files)
    assert_same(got, scratch(tmp, files))
