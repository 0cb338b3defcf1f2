"""A search's media groups: what its media job downloaded, hashed (once per image, cached
in the store) and grouped by near-duplicates, with what the page shows of each group.

Reads media.csv (the summary: removed posts are already out of it), the search's media
index (data/<slug>/media/index.csv, written by the media job, read as it is now: this job
never waits for downloads) and tweets.csv (the first post that carried each item).
Writes, in data/<slug>/media/::

    media-groups.csv   group,media_key,url,sha256,phash,posts,status: one row per media
                       item media.csv ranks within the search's max_items; a row of an
                       item not downloaded (gone, failed, pending, not fetched) has no
                       sha256, phash or group
    media-groups.json  what the page needs: the counts (gone, alt text) and the top groups

Hashes are cached per sha256 in data/media/hashes/<aa>/<sha256>.json, so a rerun hashes
nothing it has hashed before, for any search.
"""

from __future__ import annotations

import csv
import hashlib
import io
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from dnflow import atomic
from dnflow.media.groups import Item, group
from dnflow.media.hashes import hash_file, to_hex
from dnflow.media.settings import MediaSettings
from dnflow.media.store import Entry, Store, read_index
from dnflow.site.data import to_int

HEADER = ("group", "media_key", "url", "sha256", "phash", "posts", "status")
TOP_GROUPS = 24  # the page's grid
VARIANTS_SHOWN = 8  # thumbnails of a group's variants on the page


class HashCache:
    """pHash and dHash per sha256, kept beside the store; ``hashed`` counts new ones."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root / "hashes"
        self.hashed = 0

    def get(self, sha256: str, ext: str) -> tuple[int, int] | None:
        path = self.root / sha256[:2] / f"{sha256}.json"
        try:
            d = orjson.loads(path.read_bytes())
            return int(d["phash"], 16), int(d["dhash"], 16)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            h = hash_file(self.store.original(sha256, ext))
        except (OSError, ValueError):  # gone from the store, or no longer decodes
            return None
        self.hashed += 1
        atomic.write_bytes(path, orjson.dumps({"phash": to_hex(h.phash), "dhash": to_hex(h.dhash)}))
        return h.phash, h.dhash


def index_token(media_dir: str | Path) -> str:
    """The rule's ``index`` param: what of the search's index the groups depend on (each
    item's key, status and file), so a run after downloads groups again and a run that
    only tried again what failed does not."""
    index, _ = read_index(Path(media_dir) / "index.csv")
    digest = hashlib.sha256()
    for url in sorted(index):
        e = index[url]
        digest.update(f"{url}\t{e.status}\t{e.sha256}\t{e.ext}\t{e.first_gone}\n".encode())
    return digest.hexdigest()[:16] if index else ""


def media_rows(media_csv: Path, max_items: int) -> list[dict[str, str]]:
    """media.csv's first ``max_items`` rows with a key (the most shared first)."""
    out: list[dict[str, str]] = []
    try:
        with open(media_csv, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if len(out) >= max_items:
                    break
                if (row.get("media_key") or "").strip():
                    out.append(row)
    except FileNotFoundError:
        pass
    return out


def first_posts(tweets_csv: Path, keys: set[str]) -> dict[str, dict[str, str]]:
    """Per media key, the earliest post (not a repost) that carried it: id, username,
    created_at. One pass over tweets.csv."""
    first: dict[str, dict[str, str]] = {}
    if not tweets_csv.exists():
        return first
    with open(tweets_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            mk = row.get("media_keys")
            if not mk or row.get("type") == "retweet":
                continue
            for k in mk.split():
                if k in keys:
                    seen = first.get(k)
                    if seen is None or (row.get("created_at") or "") < seen["created_at"]:
                        first[k] = {"id": row.get("id") or "",
                                    "username": row.get("username") or "",
                                    "created_at": row.get("created_at") or ""}
    return first


def media_sets(path: Path, keys: set[str]) -> list[tuple[frozenset[str], int]]:
    """media-sets.csv's sets (of the summary: posts per set of media keys carried
    together) with two or more of ``keys``, only those keys, and their posts."""
    out: list[tuple[frozenset[str], int]] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                shared = keys.intersection((row.get("media_keys") or "").split())
                if len(shared) > 1:
                    out.append((frozenset(shared), to_int(row.get("count")) or 0))
    except FileNotFoundError:  # a summary made before the file was: keys are counted apart
        pass
    return out


def group_posts(members: list[dict[str, Any]],
                sets: list[tuple[frozenset[str], int]]) -> int:
    """Posts carrying a group's members: media.csv's posts per member, less the posts
    that carry more than one member (each counted once, not once per member)."""
    keys = {it["media_key"] for it in members}
    posts = sum(it["posts"] for it in members)
    for together, n in sets:
        shared = len(together & keys)
        if shared > 1:
            posts -= n * (shared - 1)
    return posts


def _items(rows: list[dict[str, str]], index: dict[str, Entry], cache: HashCache,
           downloads: bool) -> list[dict[str, Any]]:
    items = []
    by_key = {e.media_key: e for e in index.values()}
    for r in rows:
        key = r["media_key"].strip()
        # by key, else by either URL (two keys of one URL were fetched once)
        e = by_key.get(key) or index.get((r.get("preview_url") or "").strip()) or \
            index.get((r.get("url") or "").strip())
        if e is not None:
            status = e.status
        elif not ((r.get("url") or "").strip() or (r.get("preview_url") or "").strip()):
            status = "no url"  # the data gave none (for example, a removed file)
        else:
            status = "pending" if downloads else "not fetched"
        it: dict[str, Any] = {"media_key": key, "url": (e.url if e else "") or r.get("url") or
                              r.get("preview_url") or "", "posts": to_int(r.get("count")) or 0,
                              "status": status, "sha256": "", "file": "", "phash": None,
                              "dhash": None, "alt_text": (r.get("alt_text") or "").strip(),
                              "first_gone": (e.first_gone if e else "")}
        if e is not None and e.status == "ok" and e.sha256:
            h = cache.get(e.sha256, e.ext)
            if h is not None:
                it.update(sha256=e.sha256, file=e.name, phash=h[0], dhash=h[1])
        items.append(it)
    return items


def assign_groups(items: list[dict[str, Any]]) -> None:
    """Set each hashed item's ``group`` (numbered by posts, most first); None for the rest."""
    hashed = [it for it in items if it["phash"] is not None]
    numbers = group([Item(it["media_key"], it["phash"], it["dhash"], it["posts"])
                     for it in hashed]) if hashed else []
    for it in items:
        it["group"] = None
    for it, n in zip(hashed, numbers, strict=True):
        it["group"] = n


def renumber(items: list[dict[str, Any]], sets: list[tuple[frozenset[str], int]]) -> None:
    """Number the groups again by their posts counted once each (:func:`group_posts`),
    most first; ties keep their order. Without ``sets`` nothing changes."""
    if not sets:
        return
    groups: dict[int, list[dict[str, Any]]] = {}
    for it in items:
        if it["group"] is not None:
            groups.setdefault(it["group"], []).append(it)
    posts = {n: group_posts(members, sets) for n, members in groups.items()}
    number = {n: i for i, n in enumerate(sorted(groups, key=lambda n: (-posts[n], n)), 1)}
    for it in items:
        if it["group"] is not None:
            it["group"] = number[it["group"]]


def summary(items: list[dict[str, Any]], first: dict[str, dict[str, str]],
            top: int = TOP_GROUPS,
            sets: list[tuple[frozenset[str], int]] = ()) -> dict[str, Any]:
    """The counts and top groups the page shows (before publishing levels); ``sets``:
    media keys carried together (:func:`media_sets`)."""
    gone = [it for it in items if it["status"] == "gone"]
    groups: dict[int, list[dict[str, Any]]] = {}
    for it in items:
        if it["group"] is not None:
            groups.setdefault(it["group"], []).append(it)
    shown = []
    for n in sorted(groups)[:top]:
        members = sorted(groups[n], key=lambda it: (-it["posts"], it["media_key"]))
        firsts = [first[it["media_key"]] | {"media_key": it["media_key"]}
                  for it in members if it["media_key"] in first]
        earliest = min(firsts, key=lambda p: (p["created_at"], p["id"])) if firsts else None
        alt = next((it["alt_text"] for it in members if it["alt_text"]), "")
        shown.append({"group": n, "posts": group_posts(members, sets),
                      "items": len(members), "file": members[0]["file"],
                      "variants": [it["file"] for it in members[1:1 + VARIANTS_SHOWN]],
                      "first_post": earliest, "alt_text": alt})
    return {"items": len(items),
            "downloaded": sum(it["status"] == "ok" for it in items),
            "gone": len(gone),
            "first_gone": min((it["first_gone"] for it in gone if it["first_gone"]),
                              default=""),
            "with_alt": sum(bool(it["alt_text"]) for it in items),
            "groups": len(groups), "top": shown}


def write_csv(path: Path, items: Iterable[dict[str, Any]]) -> None:
    ordered = sorted(items, key=lambda it: (it["group"] is None, it["group"] or 0,
                                            -it["posts"], it["media_key"]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for it in ordered:
        w.writerow(("" if it["group"] is None else it["group"], it["media_key"], it["url"],
                    it["sha256"], "" if it["phash"] is None else to_hex(it["phash"]),
                    it["posts"], it["status"]))
    atomic.write_bytes(path, buf.getvalue().encode())


def group_search(slug: str, summary_dir: Path, settings: MediaSettings, csv_path: Path, *,
                 workdir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Hash and group one search's media into ``csv_path``; returns media-groups.json's
    content."""
    store = Store(workdir / "data" / "media")
    media_dir = workdir / "data" / slug / "media"
    rows = media_rows(summary_dir / "media.csv", settings.max_items)
    index_rows, problems = read_index(media_dir / "index.csv")
    for p in problems:
        say(p)
    cache = HashCache(store)
    items = _items(rows, index_rows, cache, settings.download != "none")
    assign_groups(items)
    grouped = {it["media_key"] for it in items if it["group"] is not None}
    sets = media_sets(summary_dir / "media-sets.csv", grouped)
    renumber(items, sets)
    first = first_posts(summary_dir / "tweets.csv", grouped)
    write_csv(csv_path, items)
    out = summary(items, first, sets=sets)
    say(f"{len(items)} items, {out['downloaded']} downloaded, {cache.hashed} hashed now, "
        f"{out['groups']} groups")
    return {"status": "ok", "hashed": cache.hashed, **out}


def run_groups(slug: str, summary_dir: str, settings: MediaSettings, csv_path: str,
               json_path: str, log_path: str, workdir: str | Path = ".") -> dict[str, Any]:
    """The rule's job: never fails (the page must build): an error leaves an empty
    groups file and a record saying so."""
    workdir = Path(workdir)
    with open(log_path, "w", encoding="utf-8") as log:
        def say(line: str) -> None:
            log.write(line + "\n")
        try:
            record = group_search(slug, Path(summary_dir), settings, Path(csv_path),
                                  workdir=workdir, say=say)
        except Exception as e:  # noqa: BLE001 - the page must build whatever this job does
            log.write(traceback.format_exc())
            record = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            if not Path(csv_path).exists():
                write_csv(Path(csv_path), [])
    atomic.write_bytes(Path(json_path), orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    return record
