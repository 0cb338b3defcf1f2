"""Rows formatted by hand (dnflow.rows) are the bytes the csv module writes."""

import csv
import io
import random

from dnflow.formats import x_json
from dnflow.record import post
from dnflow.rows import COUNT_SLOT_STR, csv_field, original_row, user_row

ALPHABET = ['a', 'Z', ' ', ',', '"', '\n', '\r', "'", 'é', '😀', ';', '\t', '\\']


def _csv(values) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 8)))


def test_fields_are_quoted_as_the_csv_module_quotes_them():
    rng = random.Random(1)
    for _ in range(3000):
        values = [_text(rng) for _ in range(rng.randrange(2, 5))]
        assert ",".join(map(csv_field, values)) + "\r\n" == _csv(values), values


def test_profiles_and_originals_are_csv_rows():
    rng = random.Random(2)
    t = "2026-11-01T10:00:00Z"
    for _ in range(2000):
        username, name, text = _text(rng), _text(rng), _text(rng)
        followers = rng.choice([0, 12, None, "x", 3.5])
        row = user_row(t, username, name, followers, 7).decode("utf-8", "surrogateescape")
        want = _csv([username, name, "\0", followers if type(followers) is int else "", 7])
        assert row == t + want.replace("\0", COUNT_SLOT_STR, 1), (username, name)
        author = x_json.author("1", username, name, None, None, None, None)
        got, _ = original_row("12", post("x", "12", None, None, author, text, None, None,
                                         None, None, None, [], [], [], [], None, {}))
        assert got.decode() == _csv(["12", username, text])[:-2] + ",", (username, text)
