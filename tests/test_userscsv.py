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

    assert userscsv.splice(tmp_path / "x", state, "t1", "t2", changed)
    whole = tmp_path / "whole.csv"
    userscsv.write(whole, rows, extra)
    assert (state / "users.csv").read_bytes() == whole.read_bytes()
    # and the next splice starts from this one
    extra[0] += 1
    assert userscsv.splice(tmp_path / "x", state, "t2", "t3", {0: (rows[0], extra[0])})
    userscsv.write(whole, rows, extra)
    assert (state / "users.csv").read_bytes() == whole.read_bytes()


def test_a_splice_needs_the_users_csv_of_the_state_it_updates(tmp_path):
    rows = [user_row(NOBODY, "a", "A", 1, 1)]
    state = tmp_path / "state"
    state.mkdir()
    userscsv.write(state / "users.csv", rows, [0], state, "t1")
    before = (state / "users.csv").read_bytes()
    assert not userscsv.splice(tmp_path / "x", state, "other", "t2", {0: (rows[0], 1)})
    (state / userscsv.ORDER).unlink()
    assert not userscsv.splice(tmp_path / "x", state, "t1", "t2", {0: (rows[0], 1)})
    assert (state / "users.csv").read_bytes() == before
