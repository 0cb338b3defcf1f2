"""network.gexf: the account networks of a search in one GEXF 1.3 file, for Gephi.

Written as a stream of text, not built as a tree (xml.etree, networkx's write_gexf):
a big search has millions of edges, and the file is made from the edge lists already
on disk and the authors in account order, holding one row at a time (and the sort of
the accounts, which spills like every other). Every value goes through xml.sax.saxutils'
escaping; text XML cannot hold (control characters) is dropped.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

NS = "http://gexf.net/1.3"
HEAD = f"""<?xml version="1.0" encoding="UTF-8"?>
<gexf xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="{NS} {NS}/gexf.xsd" version="1.3">
  <meta>
    <creator>dnflow</creator>
    <description>who mentions, reposts, quotes and replies to whom</description>
  </meta>
  <graph defaultedgetype="directed" mode="static">
    <attributes class="node" mode="static">
      <attribute id="posts" title="posts" type="integer"/>
      <attribute id="followers" title="followers" type="integer"/>
      <attribute id="platform" title="platform" type="string"/>
    </attributes>
    <attributes class="edge" mode="static">
      <attribute id="kind" title="kind" type="string"/>
      <attribute id="first" title="first" type="string"/>
      <attribute id="last" title="last" type="string"/>
    </attributes>
"""
TAIL = "  </graph>\n</gexf>\n"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


_PLAIN = re.compile('[&<>"\x00-\x1f\ufffe\uffff\ud800-\udfff]')


def _attr(value: Any) -> str:
    """A quoted attribute value (most are ids, times and names that need no escaping:
    one search of the text tells, the escaping is ten times slower)."""
    text = str(value)
    if _PLAIN.search(text) is None:
        return '"' + text + '"'
    return quoteattr(_NOT_XML.sub("", text))


def _edges(paths: list[Path]) -> Iterator[tuple[str, list[str]]]:
    """(network name, [source, target, weight, first, last]) of each edge list."""
    for path in paths:
        kind = path.stem.removeprefix("edges-")
        with open(path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            next(rows, None)
            for row in rows:
                yield kind, row


def _accounts(paths: list[Path], sort: Callable) -> Iterator[str]:
    """Every account of the edge lists once, in order."""
    ends = (a for _, row in _edges(paths) for a in row[:2])
    for account, _ in groupby(sort(ends, _same)):
        yield account


def _same(x: str) -> str:
    return x


def _node_rows(accounts: Iterator[str], authors: Iterator[tuple[str, list]],
               ) -> Iterator[tuple[str, list | None]]:
    """Accounts of edges and authors, merged by account (both come in order)."""
    a = next(accounts, None)
    n = next(authors, None)
    while a is not None or n is not None:
        if n is None or (a is not None and a < n[0]):
            yield a, None
            a = next(accounts, None)
        else:
            if a == n[0]:
                a = next(accounts, None)
            yield n
            n = next(authors, None)


def _node(account: str, info: list | None, platforms: str) -> str:
    label = info[4] if info is not None and info[4] else account.removeprefix("@")
    values = [f'<attvalue for="platform" value={_attr(platforms)}/>']
    if info is not None:
        values.append(f'<attvalue for="posts" value="{int(info[0])}"/>')
        if info[3].__class__ is int:
            values.append(f'<attvalue for="followers" value="{info[3]}"/>')
    return (f"      <node id={_attr(account)} label={_attr(label)}><attvalues>"
            f"{''.join(values)}</attvalues></node>\n")


def _edge(n: int, kind: str, row: list[str]) -> str:
    src, tgt, weight, first, last = row
    return (f'      <edge id="{n}" source={_attr(src)} target={_attr(tgt)} '
            f'weight="{int(weight)}" kind={_attr(kind)}><attvalues>'
            f'<attvalue for="kind" value={_attr(kind)}/>'
            f"<attvalue for=\"first\" value={_attr(first)}/>"
            f"<attvalue for=\"last\" value={_attr(last)}/></attvalues></edge>\n")


def write_gexf(path: Path, edge_lists: list[Path], authors: Iterable[tuple[str, list]],
               platforms: str, sort: Callable) -> None:
    """The graph of ``edge_lists`` (written before), its nodes every account of an edge
    and every author (``authors``: (account, [posts, first, last, followers, handle])
    in account order)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(HEAD)
        f.write("    <nodes>\n")
        lines = []
        for account, info in _node_rows(_accounts(edge_lists, sort), iter(authors)):
            lines.append(_node(account, info, platforms))
            if len(lines) >= 4096:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))
        f.write("    </nodes>\n    <edges>\n")
        lines = []
        for n, (kind, row) in enumerate(_edges(edge_lists)):
            lines.append(_edge(n, kind, row))
            if len(lines) >= 4096:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))
        f.write("    </edges>\n")
        f.write(TAIL)
    os.replace(tmp, path)

