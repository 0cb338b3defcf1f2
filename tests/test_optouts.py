"""dnflow.optouts.hide_handles: a withheld account's handle hidden wherever tweets.csv
holds it, and nobody else's."""

from __future__ import annotations

import csv
import io

from dnflow.optouts import ANONYMOUS, account_key, hide_handles
from dnflow.rows import csv_line


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_every_handle_hidden_in_one_pass_and_no_other_account():
    handles = ["bob", "bob@other.example", "Ana@social.example"]
    lines = [
        ("1", "hi @bob and @BOB@other.example", "bob bob@other.example"),
        ("2", "thanks @ana@social.example, cc @bobby", "ana@social.example bobby"),
        ("3", "@bob.smith is not @bob", "bob.smith bob"),
        ("4", "mail bob@example.org", ""),
    ]
    data = b"".join(csv_line(row).encode() for row in lines)
    out = _rows(hide_handles(data, handles))
    anon = f"[{ANONYMOUS}]"
    bob, other, ana = (account_key(h) for h in handles)
    assert out[0] == ["1", f"hi {anon} and {anon}", f"{bob} {other}"]
    assert out[1] == ["2", f"thanks {anon}, cc @bobby", f"{ana} bobby"]
    assert out[2] == ["3", f"@bob.smith is not {anon}", f"bob.smith {bob}"]
    assert out[3] == list(lines[3])  # an e-mail address is not a mention
    assert bob != other  # two accounts, two keys


def test_nothing_to_hide_is_the_same_bytes():
    data = csv_line(("1", "@bob", "bob")).encode()
    assert hide_handles(data, []) is data
