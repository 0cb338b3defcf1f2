"""The page's networks: the most central accounts of each network (in-degree and
weighted in-degree), a drawing of the top accounts of the mention and repost networks,
and the hashtags used together, read from the search's networks folder (dnflow.networks,
beside its summary folder). At ids a small account is "an account" (dnflow.publish);
at counts there is no network section.

The drawing's layout is computed here, at build time, by a fixed number of
force-directed steps from a start that depends only on the data (accounts placed on a
circle by rank): the same data gives the same picture, byte for byte. It is an SVG with a
<title>; the table beside it has the same accounts in words.
"""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from dnflow.networks import FILES, FOLDER, GEXF_FILE, HASHTAGS_FILE, KINDS
from dnflow.platforms import Platform
from dnflow.publish import ANONYMOUS, Publisher
from dnflow.site import text as tx

TOP = 10  # accounts in each table
DRAWN = 100  # accounts in a drawing
DRAWN_KINDS = ("M", "R")  # the networks drawn: mentions and reposts
STEPS = 120
SIZE = 560
GRAVITY = 2.0
_GEXF = "{http://gexf.net/1.3}"
# network letter → (section title, the edge's meaning), in the platform's words
TITLES = {
    "M": ("Mentions", "mentioned"),
    "R": ("{Reposts}", "{repost}ed"),
    "Q": ("Quotes", "quoted"),
    "P": ("Replies", "replied to"),
}


def _edges(path: Path) -> Iterator[tuple[str, str, int]]:
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows, None)
        for r in rows:
            if len(r) >= 3 and r[2].isdigit():
                yield r[0], r[1], int(r[2])


@dataclass
class Degrees:
    """An edge list's accounts' degrees, from one read of it: a few numbers per account
    of the network, never its edges."""

    indegree: Counter = field(default_factory=Counter)
    weighted_in: Counter = field(default_factory=Counter)
    weighted: Counter = field(default_factory=Counter)  # in and out
    edges: int = 0


def degrees(path: Path) -> Degrees:
    """The degrees of an edge list's accounts, and how many edges it has."""
    d = Degrees()
    for src, tgt, w in _edges(path):
        d.weighted_in[tgt] += w
        d.indegree[tgt] += 1
        d.weighted[src] += w
        d.weighted[tgt] += w
        d.edges += 1
    return d


def central(d: Degrees, n: int = TOP) -> list[tuple[str, int, int]]:
    """The ``n`` accounts with the most weighted in-degree: (account, in-degree,
    weighted in-degree), ties by in-degree then account."""
    top = sorted(d.weighted_in, key=lambda a: (-d.weighted_in[a], -d.indegree[a], a))[:n]
    return [(a, d.indegree[a], d.weighted_in[a]) for a in top]


def labels(gexf: Path, accounts: set[str]) -> dict[str, str]:
    """The label (handle) network.gexf gives each of ``accounts``, read as a stream."""
    out: dict[str, str] = {}
    if not gexf.exists() or not accounts:
        return out
    nodes = None
    with open(gexf, "rb") as f:
        for event, el in ET.iterparse(f, events=("start", "end")):
            if event == "start":
                if el.tag == _GEXF + "nodes":
                    nodes = el
                elif el.tag == _GEXF + "edges":
                    break  # the nodes come first: the edges (most of the file) are not read
            elif el.tag == _GEXF + "node":
                a, label = el.get("id"), el.get("label")
                if a in accounts and label and label != a:  # an id alone is no handle
                    out[a] = label
                if nodes is not None:
                    nodes.clear()  # a node read is not held
    return out


def _top_graph(path: Path, d: Degrees, n: int = DRAWN
               ) -> tuple[list[str], list[tuple[int, int, int]]]:
    """The ``n`` accounts with the most weighted degree (in and out), and the edges
    between them (as indexes into that list): the edge list read again."""
    nodes = sorted(d.weighted, key=lambda a: (-d.weighted[a], a))[:n]
    index = {a: i for i, a in enumerate(nodes)}
    edges = [(index[s], index[t], w) for s, t, w in _edges(path)
             if s in index and t in index and s != t]
    return nodes, edges


def layout(n: int, edges: list[tuple[int, int, int]], steps: int = STEPS
           ) -> list[tuple[float, float]]:
    """Fruchterman–Reingold in a unit square from a circle: deterministic (no random
    start, a fixed number of steps, a cooling schedule)."""
    if n == 0:
        return []
    pos = [[0.5 + 0.4 * math.cos(2 * math.pi * i / n),
            0.5 + 0.4 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    k = 0.5 * math.sqrt(1.0 / n)
    for step in range(steps):
        temp = 0.05 * (1 - step / steps)
        # a pull to the middle keeps the pieces of a graph that is not connected close
        disp = [[(0.5 - x) * GRAVITY, (0.5 - y) * GRAVITY] for x, y in pos]
        for i in range(n):
            xi, yi = pos[i]
            for j in range(i + 1, n):
                dx, dy = xi - pos[j][0], yi - pos[j][1]
                d2 = dx * dx + dy * dy or 1e-9
                f = k * k / d2
                disp[i][0] += dx * f
                disp[i][1] += dy * f
                disp[j][0] -= dx * f
                disp[j][1] -= dy * f
        for s, t, _ in edges:
            dx, dy = pos[s][0] - pos[t][0], pos[s][1] - pos[t][1]
            d = math.sqrt(dx * dx + dy * dy) or 1e-9
            f = d / k
            disp[s][0] -= dx * f
            disp[s][1] -= dy * f
            disp[t][0] += dx * f
            disp[t][1] += dy * f
        for i in range(n):
            dx, dy = disp[i]
            d = math.sqrt(dx * dx + dy * dy) or 1e-9
            step_len = min(d, temp)
            pos[i][0] = min(0.97, max(0.03, pos[i][0] + dx / d * step_len))
            pos[i][1] = min(0.97, max(0.03, pos[i][1] + dy / d * step_len))
    return _fitted(pos)


def _fitted(pos: list[list[float]], margin: float = 40) -> list[tuple[float, float]]:
    """The positions scaled (one scale both ways) to fill the drawing, less a margin."""
    lo_x, lo_y = min(x for x, _ in pos), min(y for _, y in pos)
    span = max(max(x for x, _ in pos) - lo_x, max(y for _, y in pos) - lo_y) or 1.0
    scale = (SIZE - 2 * margin) / span
    return [(round(margin + (x - lo_x) * scale, 1), round(margin + (y - lo_y) * scale, 1))
            for x, y in pos]


def drawing(nodes: list[str], edges: list[tuple[int, int, int]], names: dict[str, str],
            chart_id: str, title: str) -> Markup:
    """An SVG of the graph: edges as lines (wider for heavier), accounts as dots named
    as ``names`` says, the busiest dozen labelled."""
    xy = layout(len(nodes), edges)
    top_w = max((w for *_, w in edges), default=1)
    parts = [Markup('<svg class="chart network" viewBox="0 0 {s} {s}" width="{s}" '
                    'height="{s}" role="img" aria-labelledby="{id}-t" '
                    'xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{t}</title>'
                    ).format(s=SIZE, id=chart_id, t=title)]
    for s, t, w in edges:
        parts.append(Markup('<line class="edge" x1="{}" y1="{}" x2="{}" y2="{}" '
                            'stroke-width="{}"/>').format(
            *xy[s], *xy[t], round(0.5 + 2.5 * w / top_w, 1)))
    for i, (x, y) in enumerate(xy):
        name = names[nodes[i]]
        parts.append(Markup('<circle class="node" cx="{}" cy="{}" r="{}"><title>{}'
                            '</title></circle>').format(x, y, 5 if i < 12 else 3, name))
        if i < 12:  # labels point inwards, so none runs off the drawing
            right = x > SIZE / 2
            parts.append(Markup('<text class="label" x="{}" y="{}"{}>{}</text>').format(
                round(x - 6 if right else x + 6, 1), round(y - 6, 1),
                Markup(' text-anchor="end"') if right else "", name[:24]))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _named(a: str, names: dict[str, str], pub: Publisher) -> tuple[str | None, str]:
    """An account's handle as published (None: not shown) and how the page names it:
    its handle, else its id at everything, else "an account"."""
    handle = pub.label(names.get(a) or (a[1:] if a.startswith("@") else None))
    return handle, handle or (a if pub.everything else ANONYMOUS)


def _account(a: str, names: dict[str, str], platform: Platform,
             pub: Publisher) -> dict[str, Any]:
    handle, label = _named(a, names, pub)
    return {"label": label,
            "href": tx.safe_url(platform.profile_url(handle)) if handle else None}


def load_networks(summary_dir: Path, platform: Platform, words: dict[str, str],
                  pub: Publisher | None = None) -> dict[str, Any]:
    """What the page's network section shows; empty when the search has no networks
    (or is published at counts)."""
    pub = pub or Publisher("")
    d = summary_dir.parent / FOLDER
    if not pub.allows("ids") or not d.is_dir():
        return {"tables": [], "drawings": [], "tags": [], "gexf": False, "any": False}
    tables = []
    graphs = {}
    for kind in KINDS:
        deg = degrees(d / FILES[kind])
        title, verb = (t.format(**words) for t in TITLES[kind])
        tables.append({"id": f"net-{KINDS[kind]}", "title": title, "verb": verb,
                       "top": central(deg), "edges": deg.edges, "csv": FILES[kind]})
        if kind in DRAWN_KINDS:
            graphs[kind] = _top_graph(d / FILES[kind], deg)
    wanted = {a for t in tables for a, *_ in t["top"]}
    wanted |= {a for nodes, _ in graphs.values() for a in nodes}
    names = labels(d / GEXF_FILE, wanted)
    for t in tables:
        t["rows"] = [{**_account(a, names, platform, pub), "degree": deg, "weighted": w}
                     for a, deg, w in t["top"]]
    drawings = []
    for kind, (nodes, edges) in graphs.items():
        if not edges:
            continue
        title = TITLES[kind][0].format(**words)
        drawings.append({
            "title": title,
            "svg": drawing(nodes, edges, {a: _named(a, names, pub)[1] for a in nodes},
                           f"chart-net-{KINDS[kind]}",
                           f"{title} network: the {len(nodes)} accounts with the most "
                           f"{title.lower()} and the {len(edges)} links between them "
                           "(the tables beside it list the most central accounts)"),
        })
    tags = [{"a": a, "b": b, "weight": w, "a_href": tx.safe_url(platform.hashtag_url(a)),
             "b_href": tx.safe_url(platform.hashtag_url(b))}
            for (a, b, w), _ in zip(_edges(d / HASHTAGS_FILE), range(15), strict=False)]
    return {"tables": tables, "drawings": drawings, "tags": tags,
            "gexf": pub.everything,  # its labels are handles: published at everything only
            "any": any(t["edges"] for t in tables) or bool(tags)}

