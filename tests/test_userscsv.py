"""users.csv spliced from the last one is byte for byte users.csv written whole."""

import random

import pytest

from dnflow import userscsv
from dnflow.rows import NOBODY, user_row

NAMES = ["alice", "Alice", "bob", "", 'qu"ote', "com,ma", "zoë", "ZOË", "x" * 30]


def profile(rng: random.Random, day: int) -> bytes:
    name = rng.choice(NAMES)
    t = NOBODY if not name else f"2026-11-{day:02d}T10:00:00Z"
    return user_row(t, name, rng.choice(["N", "Na, me", ""]), rng.randrange(100), None)


@pytest.mark.parametrize("seed", range(6))
def test_splice_equals_a_whole_write(tmp_path, seed):
    rng = random.Random(seed)
    rows = [profile(rng, 1) for _ in range(300)]
    extra = [rng.choice([0, 0, 0, 1, 2, 7]) for _ in rows]
    state = tmp_path / "state"
    state.mkdir()
    userscsv.write(state / "users.csv", rows, extra, state, "t1")

    changed = {}
    for i in rng.sample(range(len(rows)), 40):  # more tweets, maybe a newer profile
        extra[i] += rng.choice([1, 1, 5])
        if rng.random() < 0.5:
            rows[i] = profile(rng, 2)
        changed[i] = (rows[i], extra[i])
    for _ in range(25):  # new authors
        rows.append(profile(rng, 3))
        extra.append(rng.choice([0, 0, 3]))
        changed[len(rows) - 1] = (rows[-1], extra[-1])

    assert userscsv.splice(state, "t1", "t2", changed)
    whole = tmp_path / "whole.csv"
    userscsv.write(whole, rows, extra)
    assert (state / "users.csv").read_bytes() == whole.read_bytes()
    # and the next splice starts from this one
    extra[0] += 1
    assert userscsv.splice(state, "t2", "t3", {0: (rows[0], extra[0])})
    userscsv.write(whole, rows, extra)
    assert (state / "users.csv").read_bytes() == whole.read_bytes()


def test_a_splice_needs_the_users_csv_of_the_state_it_updates(tmp_path):
    rows = [user_row(NOBODY, "a", "A", 1, 1)]
    state = tmp_path / "state"
    state.mkdir()
    userscsv.write(state / "users.csv", rows, [0], state, "t1")
    before = (state / "users.csv").read_bytes()
    assert not userscsv.splice(state, "other", "t2", {0: (rows[0], 1)})
    (state / userscsv.ORDER).unlink()
    assert not userscsv.splice(state, "t1", "t2", {0: (rows[0], 1)})
    assert (state / "users.csv").read_bytes() == before


def one_process(tweets: list[tuple[int, bytes]]) -> tuple[dict, dict]:
    """Authors as one process counts them, tweet by tweet (dnflow.counting.authors' rule): the
    newest profile, equal times the later one, one naming nobody only until one does."""
    users: dict = {}
    more: dict = {}
    for aid, row in tweets:
        old = users.get(aid)
        if old is not None:
            more[aid] = more.get(aid, 0) + 1
        if row[:userscsv.TIME_KEY] != userscsv.NOBODY:
            if old is None or row[:userscsv.TIME_KEY] >= old[:userscsv.TIME_KEY]:
                users[aid] = row
        elif old is None:
            users[aid] = row
    return users, more


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("helper", [False, True])
@pytest.mark.parametrize("authors", [60, 3000])  # the table finds shared authors two ways
def test_parts_merge_as_one_process_counts(tmp_path, seed, helper, authors):
    rng = random.Random(seed)
    tweets = [(rng.randrange(authors), profile(rng, rng.choice([1, 2, 2, 3])))
              for _ in range(authors * 7)]
    cuts = sorted(rng.sample(range(1, len(tweets)), rng.randrange(0, 5)))
    table = userscsv.Writer(len(cuts) + 1) if helper else userscsv.Table()
    try:
        for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(tweets)], strict=True)):
            if i % 2:  # a forked worker's part comes as a file (summary.parallel)
                part = tmp_path / f".authors.part{i}.tmp"
                part.write_bytes(userscsv.pack(*one_process(tweets[a:b])))
                notify = table.notifier(i)
                if notify is not None and i % 4 == 1:  # read early, by the helper
                    notify(part)
                    # and a killed worker's part, read early too, that must not count
                    decoy = tmp_path / f".authors.decoy{i}.tmp"
                    decoy.write_bytes(userscsv.pack(*one_process(tweets[:b])))
                    notify(decoy)
                    table.forget(decoy)
                    table.notifier(i + 1)(decoy)  # after: never added either
                table.add_file(part)
            else:
                table.add(*one_process(tweets[a:b]))
        table.finish(tmp_path / "users.csv")
        n, spliced = table.wait()
    finally:
        table.close()
    # the parts' files went (a decoy stays: its worker's summary removes it)
    assert {p.name for p in tmp_path.iterdir() if "decoy" not in p.name} == {"users.csv"}
    users, more = one_process(tweets)
    assert (n, spliced) == (len(users), None)
    whole = tmp_path / "whole.csv"
    userscsv.write(whole, list(users.values()), [more.get(a, 0) for a in users])
    assert (tmp_path / "users.csv").read_bytes() == whole.read_bytes()


def test_a_table_saved_with_a_state_loads_and_splices(tmp_path):
    rng = random.Random(4)
    tweets = [(rng.randrange(80), profile(rng, rng.choice([1, 2]))) for _ in range(300)]
    state = tmp_path / "state"
    state.mkdir()
    table = userscsv.Table()
    table.add(*one_process(tweets[:200]))
    table.finish(tmp_path / "x", state, (None, "t1"))
    assert table.wait()[1] is None  # nothing to splice from: a whole write

    table = userscsv.Table()
    table.load(state, "t0")
    assert not table.loaded()  # not the state's table
    table.load(state, "t1")
    assert table.loaded()
    part = one_process(tweets[200:])
    changed = len(part[0])  # (the table takes the part over)
    table.add(*part)
    table.finish(tmp_path / "x", state, ("t1", "t2"))
    assert table.wait() == (len(one_process(tweets)[0]), changed)
    users, more = one_process(tweets)
    whole = tmp_path / "whole.csv"
    userscsv.write(whole, list(users.values()), [more.get(a, 0) for a in users])
    assert (state / "users.csv").read_bytes() == whole.read_bytes()
    userscsv.drop_tables(state, "t2")
    assert [p.name for p in state.glob("users.*.marshal")] == ["users.t2.marshal"]


ASCII = ["alice", "Alice", "ALICE", "al", "al_", "alice_", "a" * 8, "a" * 9, "A" * 16,
         "abcdefgh1", "abcdefgh", "b0b", "B0b", "zz", "_x", "x" * 15, "", "9lives"]


def ascii_rows(rng: random.Random, n: int) -> tuple[list[bytes], list[int]]:
    rows = []
    for _ in range(n):
        name = rng.choice(ASCII)
        t = NOBODY if not name else f"2026-11-{rng.randrange(1, 29):02d}T10:00:00Z"
        rows.append(user_row(t, name, rng.choice(["N", "Na, me", 'q"t', ""]), 1, None))
    return rows, [rng.choice([0, 0, 0, 1, 2, 7]) for _ in rows]


@pytest.mark.parametrize("seed", range(6))
def test_the_numpy_order_is_the_python_order(seed):
    """users.csv's order by numpy (plain ASCII usernames) against the reference: case,
    prefixes, names across the 8-byte words, equal names and counts in first-seen order."""
    rng = random.Random(seed)
    rows, extra = ascii_rows(rng, rng.choice([1, 2, 50, 2000]))
    fast = userscsv._order_ascii(rows, extra)
    assert fast is not None
    assert fast == userscsv.order_by_names(rows, extra)
    nobody = [user_row(NOBODY, "", "N", 1, None) for _ in rows]  # no username at all
    assert userscsv._order_ascii(nobody, extra) == userscsv.order_by_names(nobody, extra)


@pytest.mark.parametrize("odd", ['qu"ote', "com,ma", "zoë", "ZOË", "x" * 65, "ǅ"])
def test_usernames_numpy_cannot_order_go_the_python_way(odd, monkeypatch):
    monkeypatch.setattr(userscsv, "NUMPY_MIN_ROWS", 0)
    rng = random.Random(7)
    rows, extra = ascii_rows(rng, 300)
    rows[rng.randrange(300)] = user_row("2026-11-02T10:00:00Z", odd, "N", 1, None)
    assert userscsv._order_ascii(rows, extra) is None
    assert userscsv.order(rows, extra) == userscsv.order_by_names(rows, extra)


def test_a_workers_part_reaches_the_helper_from_any_folder_name(tmp_path):
    """Parts travel to the helper by file name: one that is not UTF-8 (a byte the file
    system allows) reads back, early (the worker's word) and when due."""
    rng = random.Random(7)
    tweets = [(rng.randrange(500), profile(rng, 2)) for _ in range(3000)]
    folder = tmp_path / "caf\udce9"  # the byte 0xE9, as os.fsdecode gives it
    folder.mkdir()
    table = userscsv.Writer(2)
    try:
        table.add(*one_process(tweets[:1000]))
        for k, (a, b) in enumerate([(1000, 2000), (2000, 3000)], 1):
            part = folder / f".authors.part{k}.tmp"
            part.write_bytes(userscsv.pack(*one_process(tweets[a:b])))
            if k == 1:
                table.notifier(k)(part)
            table.add_file(part)
        table.finish(tmp_path / "users.csv")
        n, _ = table.wait()
    finally:
        table.close()
    users, more = one_process(tweets)
    whole = tmp_path / "whole.csv"
    userscsv.write(whole, list(users.values()), [more.get(a, 0) for a in users])
    assert n == len(users)
    assert (tmp_path / "users.csv").read_bytes() == whole.read_bytes()
    assert not list(folder.iterdir())
