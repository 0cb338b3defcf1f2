"""The page's "Images shared most": the search's media groups (data/<slug>/media/
media-groups.json, written by the media groups job) as its publishing level allows.

Images are people's content: at ``everything`` the grid of groups with the site's own
copies (site/<slug>/media/, published by the media job at that level only) and their alt
text; at ``ids`` the counts and a link to each group's first post; at ``counts`` the
counts alone. Alt text coverage and how many images are gone are counts: every level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from dnflow.media.groups import THRESHOLD, Item, group
from dnflow.platforms import Platform
from dnflow.publish import Publisher
from dnflow.site import data as sd
from dnflow.site import text as tx

# the media job names files by the sha256 of the original and the decoded type
TOP_SHARED = 24  # the compare page's images shared across searches
_FILE = re.compile(r"[0-9a-f]{64}\.(?:jpg|png|gif|webp)")


def groups_path(summary_dir: Path) -> Path:
    return summary_dir.parent / "media" / "media-groups.json"


def _file(name: Any, site_media: Path | None) -> str | None:
    """A thumbnail's path relative to the page, if it is a file the site holds."""
    if not isinstance(name, str) or not _FILE.fullmatch(name):
        return None
    if site_media is not None and not (site_media / name).is_file():
        return None
    return f"media/{name}"


def _first_post(p: Any, platform: Platform, pub: Publisher) -> dict[str, Any] | None:
    if not isinstance(p, Mapping) or not p.get("id"):
        return None
    handle = pub.label(str(p.get("username") or "")) if not pub.everything else \
        str(p.get("username") or "")
    href = platform.post_url(handle or None, str(p["id"]))
    if href and (not tx.safe_url(href) or (not pub.everything and pub.names_hidden(href))):
        href = None
    return {"href": href, "time": p.get("created_at"),
            "time_text": sd.fmt_time(p.get("created_at"))}


def _group(g: Mapping[str, Any], platform: Platform, pub: Publisher,
           site_media: Path | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"group": sd.to_int(g.get("group")),
                             "posts": sd.to_int(g.get("posts")) or 0,
                             "variant_count": sd.to_int(g.get("items")) or 0,
                             "first": _first_post(g.get("first_post"), platform, pub)
                             if pub.allows("ids") else None,
                             "src": None, "variants": [], "alt": ""}
    if pub.everything:
        shown["src"] = _file(g.get("file"), site_media)
        shown["variants"] = [f for f in (_file(v, site_media)
                                         for v in g.get("variants") or ()) if f]
        shown["alt"] = tx.clip(str(g.get("alt_text") or ""), 300)
    return shown


def load(summary_dir: Path, platform: Platform, pub: Publisher,
         site_media: Path | None = None) -> dict[str, Any] | None:
    """What the section shows; None when the search has no media groups file or no
    media (a search that downloads nothing still reports alt text and gone counts)."""
    try:
        d = orjson.loads(groups_path(summary_dir).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or d.get("status") != "ok" or not d.get("items"):
        return None
    groups = [_group(g, platform, pub, site_media) for g in d.get("top") or ()
              if isinstance(g, Mapping)]
    return {
        "total": sd.to_int(d.get("items")) or 0,
        "downloaded": sd.to_int(d.get("downloaded")) or 0,
        "gone": sd.to_int(d.get("gone")) or 0,
        "first_gone": sd.fmt_time(d.get("first_gone")) if d.get("first_gone") else None,
        "with_alt": sd.to_int(d.get("with_alt")) or 0,
        "groups_total": sd.to_int(d.get("groups")) or 0,
        "groups": groups,
        "grid": pub.everything and any(g["src"] for g in groups),
        "level": pub.level,
    }


def _rows(csv_path: Path) -> list[dict[str, str]]:
    return [r for r in sd.iter_rows(csv_path) if r.get("phash") and r.get("sha256")]


def shared_across(searches: Sequence[tuple[Mapping[str, Any], Path]], site: Path,
                  top: int = TOP_SHARED) -> list[dict[str, Any]]:
    """The compare page's images shared across searches: groups of near-identical images
    over the union of the searches' hashed media (pHash alone: the searches' files keep
    no dHash; bench/results.md: pHash <= 14 alone has precision 1.000), each group that
    two or more searches carry, by posts. Only searches published at everything, and
    only images their site folders hold."""
    items: list[Item] = []
    where: list[tuple[Mapping[str, Any], dict[str, str]]] = []
    for entry, summary_dir in searches:
        pub = entry.get("pub")
        if not isinstance(pub, Publisher) or not pub.everything:
            continue
        for r in _rows(summary_dir.parent / "media" / "media-groups.csv"):
            try:
                ph = int(r["phash"], 16)
            except ValueError:
                continue
            items.append(Item(f"{entry['slug']}\t{r['media_key']}", ph, ph,
                              sd.to_int(r.get("posts")) or 0))
            where.append((entry, r))
    if not items:
        return []
    numbers = group(items, THRESHOLD, None)
    by_group: dict[int, list[int]] = {}
    for i, n in enumerate(numbers):
        by_group.setdefault(n, []).append(i)
    out = []
    for n in sorted(by_group):
        members = by_group[n]
        slugs = sorted({where[i][0]["slug"] for i in members})
        if len(slugs) < 2:
            continue
        per: dict[str, dict[str, Any]] = {}
        for i in members:
            entry, r = where[i]
            s = per.setdefault(entry["slug"], {"entry": entry, "posts": 0, "items": 0})
            s["posts"] += sd.to_int(r.get("posts")) or 0
            s["items"] += 1
        src = None
        for i in members:
            entry, r = where[i]
            found = sorted((site / entry["slug"] / "media").glob(f"{r['sha256']}.*"))
            if found and _FILE.fullmatch(found[0].name):
                src = f"{entry['slug']}/media/{found[0].name}"
                break
        out.append({"src": src, "posts": sum(s["posts"] for s in per.values()),
                    "searches": [per[s] for s in slugs],
                    "same_file": len({where[i][1]["sha256"] for i in members}) == 1})
        if len(out) >= top:
            break
    return out
