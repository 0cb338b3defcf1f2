"""The authors of a search: users.csv, and the page's user rankings."""

from __future__ import annotations

from collections import Counter, _count_elements  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from dnflow import userscsv
from dnflow.counting import COUNTS, Count, Output, Section, Spilled
from dnflow.record import Post
from dnflow.rows import NOBODY, TIME_KEY, time_key, user_row

HEADER = ("username", "name", "tweets", "followers", "following")


@COUNTS.register
class Authors(Count):
    """Per author (the id as an int where it is canonical, else the handle), the
    profile as of their newest post (equal times: the later one; a profile without a
    handle is kept only until one with a handle comes) and their posts beyond the first.

    A part is ``[profiles, more]`` as :class:`dnflow.userscsv.Table` keeps them: a
    summary hands each process's part to that table (in a helper process for a big
    search), which merges them in input order and writes users.csv; ``merge`` here is
    the same rule, for callers without a table.
    """

    name = "authors"
    outputs = (Output("users.csv", HEADER, "username, name, {posts}, followers, following",
                      level="ids", accounts=("username",), texts=("name",)),)

    def start(self) -> list:
        return [{}, Counter()]

    def take(self, part: list, posts: list[Post]) -> list:
        users = part[0]
        more: list = []
        tk = TIME_KEY
        for p in posts:
            a = p.author
            aid = a.id or a.handle
            if not aid:
                continue
            if aid.__class__ is str and aid.isdigit() and aid.isascii() and aid[0] != "0":
                aid = int(aid)  # seen_key, inlined: a third of the memory of the text
            old = users.get(aid)
            if old is not None:
                more.append(aid)
            if a.handle:
                created = p.created_at or ""
                t = created if len(created) == tk and created.isascii() else time_key(created)
                if old is None or t.encode() >= old[:tk]:
                    users[aid] = user_row(t, a.handle, a.name, a.followers,
                                          a.following)
            elif old is None:
                users[aid] = user_row(NOBODY, "", a.name, a.followers, a.following)
        if more:
            _count_elements(part[1], more)
        return part

    def merge(self, part: list, later: list) -> list:
        table = userscsv.Table()
        table.add(*part)
        table.add(*later)
        return [table.users, table.more]

    # a search too big for memory: its authors go to runs, not to the table
    spills = True

    def size(self, part: list) -> int:
        return len(part[0])

    def items(self, part: list, order: int) -> Any:
        users, more = part
        get = more.get
        return ((aid, (row, get(aid, 0), n))
                for n, (aid, row) in enumerate(users.items(), order))

    def combine(self, value: tuple, later: tuple) -> tuple:
        return (userscsv.newer(value[0], later[0]), value[1] + later[1] + 1, value[2])

    def dump(self, part: list) -> list:
        return [part[0], dict(part[1])]

    def load(self, data: list) -> list:
        return [data[0], Counter(data[1])]

    def write(self, part: Any, outdir: Path, ctx: dict[str, Any]) -> None:
        if isinstance(part, Spilled):
            ctx["summary"]["users"] = userscsv.write_ranked(outdir / "users.csv", part)
            return
        # the authors' table writes users.csv; this waits for it and says how many
        ctx["summary"]["users"] = ctx["users_written"]()

    def sections(self) -> list[Section]:
        return [Section("users", "Most active users", "users.csv",
                        ["User", "Name", "{Posts}"], "username", "user", "users",
                        "Authors of the counted {posts} (people only mentioned or "
                        "{repost}ed are not users here), by number of {posts} in this "
                        "search.", table="posts", position=50),
                Section("followed", "Most followed users", "users.csv",
                        ["User", "Name", "Followers"], "username", "user", "users",
                        "Authors by followers, as of their newest {post} in the "
                        "collection.", table="followers", position=51, needs="followers"),
                Section("ratio", "Follow ratio", "users.csv",
                        ["User", "Followers", "Following", "Ratio"], "username", "user",
                        "users", "Followers divided by accounts followed (following 0 "
                        "counts as 1), as of the author's newest {post} in the collection.",
                        table="ratio", position=52, needs="followers")]
