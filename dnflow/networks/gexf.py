"""network.gexf: the account networks of a search in one GEXF 1.3 file, for Gephi.

Written as a stream of text, not built as a tree (xml.etree, networkx's write_gexf):
a big search has millions of edges, and the file is made from the query results of
dnflow.networks, a block of rows at a time: the nodes, then each network's edges a
block at a time on their way to its edge list (sorted once, for both). Every value goes
through xml.sax.saxutils' escaping; text XML cannot hold (control characters) is
dropped. tests/schemas/gexf-1.3-dnflow.xsd is what the file may hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import quoteattr

NS = "http://gexf.net/1.3"
HEAD = f"""<?xml version="1.0" encoding="UTF-8"?>
<gexf xmlns="{NS}" version="1.3">
  <meta>
    <creator>dnflow</creator>
    <description>who mentions, reposts, quotes and replies to whom</description>
  </meta>
  <graph defaultedgetype="directed" mode="static">
    <attributes class="node">
      <attribute id="posts" title="posts" type="integer"/>
      <attribute id="followers" title="followers" type="integer"/>
      <attribute id="platform" title="platform" type="string"/>
    </attributes>
    <attributes class="edge">
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


def _plain(values: list[Any]) -> bool:
    """Whether no value of a block needs escaping (one search of them all); a value
    that is no text makes the block go value by value through :func:`_attr`."""
    try:
        return _PLAIN.search(" ".join(values)) is None
    except TypeError:
        return False


_POSTS = '<attvalue for="posts" value="{}"/>'
_FOLLOWERS = '<attvalue for="followers" value="{}"/>'


def _node(account: str, posts: int | None, handle: str | None, followers: int | None,
          platform: str) -> str:
    label = handle or account.removeprefix("@")
    values = [f'<attvalue for="platform" value={_attr(platform)}/>']
    if posts is not None:
        values.append(_POSTS.format(int(posts)))
    if followers is not None:
        values.append(_FOLLOWERS.format(int(followers)))
    return (f"      <node id={_attr(account)} label={_attr(label)}><attvalues>"
            f"{''.join(values)}</attvalues></node>\n")


def _nodes_text(rows: Sequence[tuple[str, int | None, str | None, int | None]],
                platform: str) -> str:
    """The lines of a block of nodes: :func:`_node`'s, made as :func:`_edges_text` makes
    edges' (tests/test_networks.py holds it to :func:`_node`)."""
    if not _plain([platform, *(v for a, _p, h, _f in rows for v in (a, h or ""))]):
        return "".join(_node(*row, platform) for row in rows)
    return "".join(
        f'      <node id="{a}" label="{h or a.removeprefix("@")}"><attvalues>'
        f'<attvalue for="platform" value="{platform}"/>'
        f'{"" if p is None else _POSTS.format(int(p))}'
        f'{"" if f is None else _FOLLOWERS.format(int(f))}'
        "</attvalues></node>\n" for a, p, h, f in rows)


def _edge(n: int, kind: str, src: str, tgt: str, weight: int, first: str | None,
          last: str | None) -> str:
    return (f'      <edge id="{n}" source={_attr(src)} target={_attr(tgt)} '
            f'weight="{int(weight)}" kind={_attr(kind)}><attvalues>'
            f'<attvalue for="kind" value={_attr(kind)}/>'
            f"<attvalue for=\"first\" value={_attr(first or '')}/>"
            f"<attvalue for=\"last\" value={_attr(last or '')}/></attvalues></edge>\n")


def _edges_text(n: int, kind: str, rows: Sequence[tuple[str, str, int, str | None,
                                                        str | None]]) -> str:
    """The lines of ``rows``, the first one's id ``n``: :func:`_edge`'s, made without
    checking each value when no value of the block needs escaping (one search of them
    all: nearly always; tests/test_networks.py holds it to :func:`_edge`)."""
    if not _plain([kind, *(v for s, t, _w, f, last in rows
                           for v in (s, t, f or "", last or ""))]):
        return "".join(_edge(n + i, kind, *row) for i, row in enumerate(rows))
    k = f'kind="{kind}"><attvalues><attvalue for="kind" value="{kind}"/>'
    return "".join(
        f'      <edge id="{n + i}" source="{s}" target="{t}" weight="{int(w)}" {k}'
        f'<attvalue for="first" value="{f or ""}"/><attvalue for="last" '
        f'value="{last or ""}"/></attvalues></edge>\n'
        for i, (s, t, w, f, last) in enumerate(rows))


class GexfFile:
    """network.gexf, written as its parts come: :meth:`nodes` first, then each
    network's :meth:`edges`. In a ``with`` block: the file is there when the block ends
    without an error (until then it is a temporary file beside it)."""

    def __init__(self, path: Path, platform: str) -> None:
        self.path = path
        self.platform = platform
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._edges = 0  # written, and the next one's id

    def __enter__(self) -> GexfFile:
        self._f = open(self._tmp, "w", encoding="utf-8")
        self._f.write(HEAD)
        return self

    def nodes(self, nodes: Iterable[Sequence[tuple[str, int | None, str | None,
                                                    int | None]]]) -> None:
        """Every node, in blocks: (account, posts, handle, followers; the last three None
        for an account that is no author of the search), every account of the edges
        among them."""
        self._f.write("    <nodes>\n")
        for block in nodes:
            self._f.write(_nodes_text(block, self.platform))
        self._f.write("    </nodes>\n    <edges>\n")

    def edges(self, network: str,
              rows: Sequence[tuple[str, str, int, str | None, str | None]]) -> None:
        """Add a block of one network's rows (source, target, weight, first, last)."""
        self._f.write(_edges_text(self._edges, network, rows))
        self._edges += len(rows)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self._f.write("    </edges>\n" + TAIL)
        finally:
            self._f.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)
