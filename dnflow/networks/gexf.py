"""network.gexf: the account networks of a search in one GEXF 1.3 file, for Gephi.

Written as a stream of text, not built as a tree (xml.etree, networkx's write_gexf):
a big search has millions of edges, and the file is made from the query results of
dnflow.networks, a block of rows at a time. Every value goes through xml.sax.saxutils'
escaping; text XML cannot hold (control characters) is dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
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


def _written(f: Any, lines: Iterable[str]) -> None:
    block = []
    for line in lines:
        block.append(line)
        if len(block) >= 4096:
            f.write("".join(block))
            block.clear()
    f.write("".join(block))


def write_gexf(path: Path, nodes: Iterable[tuple[str, int | None, str | None, int | None]],
               edges: Iterable[tuple[str, str, str, int, str | None, str | None]],
               platform: str) -> None:
    """The graph: ``nodes`` (account, posts, handle, followers; the last three None
    for an account that is no author of the search), every account of ``edges`` among
    them; ``edges`` (network, source, target, weight, first, last), read after the
    nodes."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(HEAD)
        f.write("    <nodes>\n")
        _written(f, (_node(*n, platform) for n in nodes))
        f.write("    </nodes>\n    <edges>\n")
        _written(f, (_edge(i, *e) for i, e in enumerate(edges)))
        f.write("    </edges>\n")
        f.write(TAIL)
    os.replace(tmp, path)
