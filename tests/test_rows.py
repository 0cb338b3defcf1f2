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


def test_tweet_rows_name_the_accounts_they_point_at_as_the_csv_module_writes_them():
    """tweet_row's fast path against csv_row, with the accounts of a repost's original,
    a quote and a reply (any text, or none) at the end of the row."""
    from dnflow.rows import TWEETS_CSV_HEADER, csv_row, tweet_row

    rng = random.Random(3)
    metrics = {"retweet_count": 1, "reply_count": 0, "like_count": 2, "quote_count": 0}

    def maybe() -> str | None:
        return rng.choice([None, _text(rng), "123"])

    fast = 0
    for _ in range(2000):
        author = x_json.author(maybe(), maybe(), maybe(), None, None, None, None)
        orig = None
        if rng.random() < 0.5:
            orig_author = x_json.author(maybe(), maybe(), None, None, None, None, None)
            orig = post("x", "9", None, None, orig_author, _text(rng), None, None, None,
                        None, None, [_text(rng), "x"][:rng.randrange(3)], [], [], [],
                        None, dict(metrics))
        rec = post("x", "12", None, "2026-11-01T10:00:00Z", author, _text(rng), None,
                   "9" if orig else None, maybe(), maybe(), orig, [], [], [], [], maybe(),
                   dict(metrics), reply_user=maybe(), quote_user=maybe())
        line = tweet_row(rec)
        assert line == csv_row(rec).encode(), rec
        row = dict(zip(TWEETS_CSV_HEADER, next(csv.reader(io.StringIO(line.decode()))),
                       strict=True))
        assert row["retweet_of_author_id"] == (orig.author.id or "" if orig else "")
        assert row["retweet_of_username"] == (orig.author.handle or "" if orig else "")
        assert row["quote_of_author_id"] == (rec.quote_user or "")
        assert row["reply_to_author_id"] == (rec.reply_user or "")
        assert row["retweet_of_hashtags"] == (" ".join(orig.hashtags) if orig else "")
        fast += line.count(b'"') == 44
    assert fast > 200  # the hand-formatted path was taken, not only the csv module's
