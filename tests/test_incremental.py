"""A rerun whose inputs only gained files reads just those, and its outputs are byte for
byte those of a run from scratch; anything else about the state means a full recount."""

import json
import marshal
import os

import pytest

from dnflow import outputs
from dnflow.generate import write_archive
from dnflow.summary import passes, summarize
from dnflow.summary import state as state_files

from .conftest import ROOT, V2

OUTPUTS = outputs.names()
META = {"slug": "t", "generated": "2026-11-28T00:00:00Z"}


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    d = tmp_path_factory.mktemp("chunks")
    a, b = d / "a.jsonl", d / "b.jsonl.gz"
    write_archive(a, 1500, 21, page_size=50)
    write_archive(b, 300, 22, start="2026-11-09T00:00:00Z", days=1)
    return [a, V2 / "media_policy_violation_on.jsonl", V2 / "streaming_output_with_error.jsonl",
            b, V2 / "media_policy_violation_off.jsonl", a]


def scratch(tmp_path, files, name="scratch", **kw):
    out = tmp_path / name
    summarize(files, out, META, **kw)
    return {n: (out / n).read_bytes() for n in OUTPUTS}


class Log(list):
    def write(self, text):
        self.append(text)


def run(tmp_path, files, **kw):
    log = Log()
    summarize(files, tmp_path / "summary", META, log=log, state_dir=tmp_path / "state", **kw)
    out = {n: (tmp_path / "summary" / n).read_bytes() for n in OUTPUTS}
    incremental = any(line.startswith("incremental:") for line in log)
    return out, incremental, "".join(log)


def assert_same(got, want):
    for name in OUTPUTS:
        assert got[name] == want[name], name


@pytest.mark.parametrize("workers", [1, 2])
def test_new_files_only_are_read_and_outputs_match_scratch(tmp_path, chunks, workers):
    kw = {"workers": workers, "min_parallel_bytes": 0}
    spliced = 0
    for n in range(1, len(chunks) + 1):
        got, incremental, log = run(tmp_path, chunks[:n], **kw)
        assert incremental == (n > 1)
        if n > 1:  # one file read: the new one
            assert log.count("\nread ") == 1 and f"read {chunks[n - 1]}:" in log
            # with two processes, by a worker started before the state is read
            assert ("(counted while the state loaded)" in log) == (workers == 2)
            spliced += "users.csv spliced" in log
        assert_same(got, scratch(tmp_path, chunks[:n], f"s{n}"))
    # then users.csv is spliced (the changed authors only), when the new tweets did not
    # overlap the counted ones (here: corpus files after generated ones)
    assert spliced >= (2 if workers == 2 else 0)


def test_rerun_with_nothing_new_rewrites_the_same_outputs(tmp_path, chunks):
    first, _, _ = run(tmp_path, chunks[:3])
    again, incremental, log = run(tmp_path, chunks[:3])
    assert incremental and "read " not in log
    assert_same(again, first)


def test_changed_removed_or_reordered_files_count_from_scratch(tmp_path, chunks):
    a = tmp_path / "a.jsonl"
    a.write_bytes(chunks[0].read_bytes())
    files = [a, chunks[1]]
    run(tmp_path, files)
    os.utime(a, ns=(1, 1))  # touched: its size is the same, its time is not
    got, incremental, _ = run(tmp_path, files + [chunks[3]])
    assert not incremental
    assert_same(got, scratch(tmp_path, files + [chunks[3]]))
    got, incremental, _ = run(tmp_path, [chunks[1], a])  # another order
    assert not incremental
    assert_same(got, scratch(tmp_path, [chunks[1], a], "s2"))
    got, incremental, _ = run(tmp_path, [a])  # a file fewer
    assert not incremental
    assert_same(got, scratch(tmp_path, [a], "s3"))


# one process, and two: a worker counting the new files while the state loads
PROCESSES = [{}, {"workers": 2, "min_parallel_bytes": 0}]


@pytest.mark.parametrize("kw", PROCESSES)
def test_damaged_or_stale_state_counts_from_scratch(tmp_path, chunks, monkeypatch, kw):
    files = chunks[:2]
    want = scratch(tmp_path, chunks[:3])
    state = tmp_path / "state"
    run(tmp_path, files, **kw)
    (state / state_files.STATE).write_bytes(b"garbage")
    got, incremental, _ = run(tmp_path, chunks[:3], **kw)
    assert not incremental
    assert_same(got, want)

    run(tmp_path, files, **kw)
    with open(state / "tweet-ids.txt", "a") as f:  # an id that counts do not know
        f.write("123\n")
    with open(state / state_files.STATE, "rb") as f:
        saved = marshal.load(f)
    saved["lengths"]["tweet-ids.txt"] += 4
    (state / state_files.STATE).write_bytes(marshal.dumps(saved))
    got, incremental, _ = run(tmp_path, chunks[:3], **kw)
    assert not incremental
    assert_same(got, want)

    run(tmp_path, files, **kw)
    ids = state / state_files.IDS_BIN  # an id short
    os.truncate(ids, ids.stat().st_size - 8)
    got, incremental, _ = run(tmp_path, chunks[:3], **kw)
    assert not incremental
    assert_same(got, want)

    for damage in ("lost", "garbage"):  # the authors' table saved with the state
        run(tmp_path, files, **kw)
        (table,) = state.glob("users.*.marshal")  # the state's only: older ones are gone
        if damage == "lost":
            table.unlink()
        else:
            table.write_bytes(b"garbage")
        got, incremental, _ = run(tmp_path, chunks[:3], **kw)
        assert not incremental
        assert_same(got, want)

    run(tmp_path, files, **kw)
    monkeypatch.setattr(state_files, "code_fingerprint", lambda: "other counting code")
    got, incremental, _ = run(tmp_path, chunks[:3], **kw)
    assert not incremental
    assert_same(got, want)


@pytest.mark.parametrize("kw", PROCESSES)
def test_a_failed_run_leaves_a_state_the_next_one_repairs(tmp_path, chunks, monkeypatch, kw):
    run(tmp_path, chunks[:2], **kw)
    calls = []
    real = passes.Pass.run

    def dying(self, segments):
        if calls:
            raise RuntimeError("killed")
        calls.append(1)
        # rows reach the state's files, then the run dies before saving its state
        real(self, segments)
        self.streams.tweets.flush()
        raise RuntimeError("killed")

    monkeypatch.setattr(passes.Pass, "run", dying)
    with pytest.raises(RuntimeError):
        run(tmp_path, chunks[:4], **kw)
    monkeypatch.setattr(passes.Pass, "run", real)
    got, incremental, _ = run(tmp_path, chunks[:4], **kw)
    assert incremental  # the appended rows were cut back to the saved lengths
    assert_same(got, scratch(tmp_path, chunks[:4]))


def test_downloads_have_one_owner_and_updates_append(tmp_path, chunks):
    """An update appends to the summary's tweets.csv in place (its state's file); the
    page's downloads are its own copy, which the page brings up to date by appending what
    is new, never rewritten by the summary in between; a recount is copied anew."""
    from dnflow.site.render import build_downloads

    def page():
        summary = json.loads((tmp_path / "summary" / "summary.json").read_text())
        build_downloads(tmp_path / "summary", tmp_path / "downloads", "s", summary)
        return tmp_path / "downloads" / "tweets.csv"

    run(tmp_path, chunks[:2])
    before = page().read_bytes()
    own = tmp_path / "published" / "tweets.csv"
    inode = own.stat().st_ino
    got, incremental, _ = run(tmp_path, chunks[:4])
    assert incremental and len(got["tweets.csv"]) > len(before)
    # the summary's update did not reach into the page's downloads
    assert (tmp_path / "downloads" / "tweets.csv").read_bytes() == before
    assert page().read_bytes() == got["tweets.csv"]
    assert own.stat().st_ino == inode  # appended to, not copied anew
    got, incremental, _ = run(tmp_path, chunks[1:4])  # a file fewer: from scratch
    assert not incremental
    assert page().read_bytes() == got["tweets.csv"] and own.stat().st_ino != inode
    for name in ("tweet-ids.txt", "skipped.csv"):
        assert (tmp_path / "downloads" / name).read_bytes() == got[name]


@pytest.mark.parametrize("odd_id", ["0123", "99999999999999999999"])
def test_ids_that_are_not_8_byte_integers_keep_the_text_path(tmp_path, chunks, odd_id):
    """ids.bin holds canonical ids below 2**63; a search with any other keeps its ids as
    text, and both ways give the outputs of a run from scratch."""
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps(
        {"data": [{"id": odd_id, "text": "odd id", "author_id": "1"}], "meta": {}}) + "\n")
    files = chunks[:2]
    run(tmp_path, files)
    assert (tmp_path / "state" / state_files.IDS_BIN).stat().st_size == 8 * len(
        (tmp_path / "state" / "tweet-ids.txt").read_text().split())
    for more in ([odd], [odd, chunks[3]]):
        got, incremental, _ = run(tmp_path, files + more)
        assert incremental, more
        assert not (tmp_path / "state" / state_files.IDS_BIN).exists()
        assert_same(got, scratch(tmp_path, files + more, f"s{len(more)}"))


def test_a_stale_head_is_not_trusted(tmp_path, chunks):
    """The head (which files are new, read before the state) may be older than the state
    if a run died between writing the two: the state decides."""
    kw = {"workers": 2, "min_parallel_bytes": 0}
    run(tmp_path, chunks[:1], **kw)
    head = (tmp_path / "state" / state_files.HEAD).read_bytes()
    run(tmp_path, chunks[:2], **kw)
    (tmp_path / "state" / state_files.HEAD).write_bytes(head)  # says one file where there are two
    got, incremental, log = run(tmp_path, chunks[:3], **kw)
    assert incremental and "while the state loaded" not in log
    assert log.count("\nread ") == 1 and f"read {chunks[2]}:" in log
    assert_same(got, scratch(tmp_path, chunks[:3]))


def test_the_state_depends_on_all_counting_code():
    """A state is recounted when code that makes records or counts changes: the files
    its fingerprint covers include every format's normalizers, the record and the pass."""
    files = {str(p.relative_to(ROOT)) for p in state_files.code_files()}
    for name in ("dnflow/formats/x_struct.py", "dnflow/formats/x_json.py",
                 "dnflow/formats/x.py", "dnflow/record.py", "dnflow/rows.py",
                 "dnflow/userscsv.py", "dnflow/summary/passes.py",
                 "dnflow/counting/authors.py", "dnflow/sources/archive.py"):
        assert name in files, name
    assert all((ROOT / f).is_file() for f in files)
