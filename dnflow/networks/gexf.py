"""network.gexf: the account networks of a search in one GEXF 1.3 file, for Gephi.

Written as a stream of text, not built as a tree (xml.etree, networkx's write_gexf):
a big search has millions of edges, and the file is made from the query results of
dnflow.networks, a block of rows at a time: the nodes, then each network's edges as
they go by on their way to its edge list (sorted once, for both). Every value goes
through xml.sax.saxutils' escaping; text XML cannot hold (control characters) is
dropped. tests/schemas/gexf-1.3-dnflow.xsd is what the file may hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
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
LINES = 4096  # written at once
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


_PLAIN = re.compile('[&<>"\x00-\x1f\ufffe\uffff\ud800-\udfff]')


def _attr(value: Any) -> str:
    """A quoted attribute value (most are ids, times and names that need no escaping:
    one search of the text tells, the escaping is ten times slower)."""
    text = str(value)
    if _PLAIN.search(text) is None:
        return '"' + text + '"'
    return quoteattr(_NOT_XML.sub("", text))


def _node(account: str, posts: int | None, handle: str | None, followers: int | None,
          platform: str) -> str:
    label = handle or account.removeprefix("@")
    values = [f'<attvalue for="platform" value={_attr(platform)}/>']
    if posts is not None:
        values.append(f'<attvalue for="posts" value="{int(posts)}"/>')
    if followers is not None:
        values.append(f'<attvalue for="followers" value="{int(followers)}"/>')
    return (f"      <node id={_attr(account)} label={_attr(label)}><attvalues>"
            f"{''.join(values)}</attvalues></node>\n")


def _edge(n: int, kind: str, src: str, tgt: str, weight: int, first: str | None,
          last: str | None) -> str:
    return (f'      <edge id="{n}" source={_attr(src)} target={_attr(tgt)} '
            f'weight="{int(weight)}" kind={_attr(kind)}><attvalues>'
            f'<attvalue for="kind" value={_attr(kind)}/>'
            f"<attvalue for=\"first\" value={_attr(first or '')}/>"
            f"<attvalue for=\"last\" value={_attr(last or '')}/></attvalues></edge>\n")


class GexfFile:
    """network.gexf, written as its parts come: :meth:`nodes` first, then each
    network's :meth:`edges`. In a ``with`` block: the file is there when the block ends
    without an error (until then it is a temporary file beside it)."""

    def __init__(self, path: Path, platform: str) -> None:
        self.path = path
        self.platform = platform
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._block: list[str] = []  # lines not yet written
        self._edges = 0  # written, and the next one's id

    def __enter__(self) -> GexfFile:
        self._f = open(self._tmp, "w", encoding="utf-8")
        self._f.write(HEAD)
        return self

    def nodes(self, nodes: Iterable[tuple[str, int | None, str | None, int | None]]
              ) -> None:
        """Every node: (account, posts, handle, followers; the last three None for an
        account that is no author of the search), every account of the edges among
        them."""
        self._f.write("    <nodes>\n")
        for n in nodes:
            self._add(_node(*n, self.platform))
        self._flush()
        self._f.write("    </nodes>\n    <edges>\n")

    def edges(self, network: str,
              rows: Iterable[tuple[str, str, int, str | None, str | None]]
              ) -> Iterator[tuple[str, str, int, str | None, str | None]]:
        """The rows (source, target, weight, first, last) of one network, each one
        passed on once it is an edge of the file."""
        for row in rows:
            self._add(_edge(self._edges, network, *row))
            self._edges += 1
            yield row

    def _add(self, line: str) -> None:
        self._block.append(line)
        if len(self._block) >= LINES:
            self._flush()

    def _flush(self) -> None:
        self._f.write("".join(self._block))
        self._block.clear()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self._flush()
                self._f.write("    </edges>\n" + TAIL)
        finally:
            self._f.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)
