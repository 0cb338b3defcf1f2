"""A search's BagIt bag: ``<slug>-bag.zip``, what the page publishes, for archives.

The bag is a function of a file list (:func:`published_files`: (name in the bag's
``data/``, file) pairs, with :func:`media_files` the search's downloaded images) and of
the search's summary (:func:`bag_info`), so what a search publishes decides what its bag
holds. dnflow writes the BagIt 1.0 tag files itself (bagit.txt, bag-info.txt as
bagit.py writes it, the sha256 and sha512 payload manifests and tag manifests, in name
order) straight into the zip, which dnflow.bagzip writes so that the bag remade after
an update reuses the last one's checksums and compressed bytes of every unchanged file
(its record is kept in the search's ``bag-state/``, outside the rule's outputs, which
Snakemake deletes before a job). The same data gives the same bytes, however the last
bag was made. ``Bagging-Date`` is the newest post's date, never the clock. The tests
validate bags with bagit.py (the Library of Congress's), as archives' tools would.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from dnflow import __version__, atomic, bagzip, fromsummary, outputs
from dnflow.publish import Publisher, publish_file

CHECKSUMS = ("sha256", "sha512")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
RUNS = "runs.json"
STATE = "bag-state"  # data/<slug>/bag-state/: the last bag and what it records
STATE_ZIP = "last.zip"
STATE_RECORD = "members.json"
STATE_VERSION = 2  # 2: segments carry CRC-32 and SHA-512 states
_NEWLINES = re.compile(r"[\r\n]")
CR, LF = "\r", "\n"


def bag_name(slug: str) -> str:
    return f"{slug}-bag.zip"


def published_files(summary_dir: Path, summary: Mapping[str, Any], base: Path,
                    pub: Publisher | None = None, copies: Path | None = None,
                    raw_copies: Path | None = None) -> list[tuple[str, Path]]:
    """What the page publishes of a search: its summary files (the pass's and those
    made from them) and its raw inputs under ``raw/``, by the page's own rules
    (dnflow.site.render.published_raw: none of a
    file whose authors may be withheld, none below everything; filtered copies for a
    search with removed posts). Below everything (``pub``, dnflow.publish) the files are
    the level's published copies, written under ``copies``; the filtered raw files under
    ``raw_copies`` (by default ``copies``/raw; the bag job passes the page's own,
    data/<slug>/published/raw, which are remade only when their file or the removed
    posts change, and which the page job then finds made)."""
    from dnflow.site.render import published_raw

    pub = pub or Publisher(str(summary.get("slug") or ""))
    out = []
    for o in outputs.downloads():
        src = outputs.path(summary_dir, o)
        if not src.is_file():
            continue
        if pub.everything:
            out.append((o.name, src))
        elif copies is not None and publish_file(src, copies / o.name, o, pub) is not None:
            out.append((o.name, copies / o.name))
    raw_copies = raw_copies or (copies or summary_dir.parent / "published") / "raw"
    raw, _, _ = published_raw(summary, summary_dir, base, pub, raw_copies)
    return out + [(f"raw/{name}", path) for name, path in raw]


def media_files(summary_dir: Path, store_root: Path, settings: Mapping[str, Any],
                pub: Publisher) -> list[tuple[str, Path | bytes]]:
    """The search's downloaded images as its page publishes them: at everything only,
    the published copies (metadata stripped; site/<slug>/media's files) as
    ``media/<sha256>.<ext>``, with ``media/index.csv``: the rows of the search's media
    index (data/<slug>/media/index.csv) for the items of its media.csv now, so the
    media of a removed post (not in media.csv) are not bagged even before the next
    media job. ``settings``: the search's media settings (MediaSettings.params())."""
    from dnflow.media.job import wanted
    from dnflow.media.settings import MediaSettings
    from dnflow.media.store import Store, index_bytes, read_index

    if not pub.everything:
        return []
    wants = wanted(summary_dir / "media.csv", MediaSettings(
        str(settings.get("download") or "none"), int(settings.get("max_items", 0)),
        int(settings.get("max_bytes", 0))))
    index, _ = read_index(summary_dir.parent / "media" / "index.csv")
    store = Store(store_root)
    rows, files = [], {}
    for w in wants:
        e = index.get(w.url)
        if e is None or e.media_key != w.media_key:
            continue
        rows.append(e)
        path = store.published(e.sha256, e.ext) if e.name else None
        if path is not None and path.is_file():
            files[f"media/{e.name}"] = path
    if not rows:
        return []
    return [("media/index.csv", index_bytes(rows)), *sorted(files.items())]


def bag_info(summary: Mapping[str, Any], archive: Mapping[str, Any] | None) -> dict:
    """bag-info.txt's fields (a list: the tag repeated)."""
    info: dict[str, Any] = {}
    archive = archive or {}
    if archive.get("organization"):
        info["Source-Organization"] = archive["organization"]
    if archive.get("email"):
        info["Contact-Email"] = archive["email"]
    about = [f"{summary.get('title') or summary.get('slug')}."]
    if summary.get("query"):
        about.append(f"Query: {summary['query']}.")
    if summary.get("description"):
        about.append(str(summary["description"]))
    info["External-Description"] = " ".join(about)
    info["External-Identifier"] = str(summary.get("slug") or "")
    newest = summary.get("last") or summary.get("generated") or ""
    info["Bagging-Date"] = str(newest)[:10] or "1970-01-01"
    info["Bag-Software-Agent"] = f"dnflow {__version__}"
    info["Platform"] = fromsummary.platform_name(summary)
    info["Retrieval-Time"] = [r["finished"] for r in summary.get("runs") or ()
                              if isinstance(r, Mapping) and r.get("finished")]
    info["Posts"] = str(summary.get("tweets") or 0)
    info["Count"] = [f"{k}={v}" for k, v in sorted((summary.get("counts") or {}).items())]
    return {k: v for k, v in info.items() if v not in ([], "")}


def _tag_file(info: Mapping[str, Any]) -> bytes:
    """bag-info.txt as bagit.py writes it: tags in name order, a line per value, no
    line breaks inside a value."""
    lines = []
    for tag in sorted(info):
        values = info[tag] if isinstance(info[tag], list) else [info[tag]]
        lines += [f"{tag}: {_NEWLINES.sub('', str(v))}\n" for v in values]
    return "".join(lines).encode("utf-8")


def _manifest(alg: str, members: list[bagzip.Member], names: list[str]) -> bytes:
    # bagit.py's encoding of a name: CR and LF as %0D and %0A
    return "".join(f"{getattr(m, alg)}  {n.replace(CR, '%0D').replace(LF, '%0A')}\n"
                   for m, n in zip(members, names, strict=True)).encode("utf-8")


def _payload_size(source: Path | bytes) -> int:
    return len(source) if isinstance(source, bytes) else os.stat(source).st_size


def _load_state(state_dir: Path) -> dict[str, bagzip.Member] | None:
    """The last bag's records, if they are its (a bag replaced or a record from another
    version is not trusted: the bag is then made whole)."""
    try:
        rec = orjson.loads((state_dir / STATE_RECORD).read_bytes())
        if rec.get("version") != STATE_VERSION or rec.get("zip") != _zip_key(
                state_dir / STATE_ZIP, int(rec["zip"][2])):
            return None
        return {k: bagzip.Member(**v) for k, v in rec["members"].items()}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _zip_key(path: Path, directory: int) -> list:
    """What says a zip is the one recorded: its inode, size and the sha256 of its central
    directory (from ``directory`` on: every member's offset and CRC). Not its mtime:
    Snakemake touches a job's outputs after it, and the output is this file."""
    st = os.stat(path)
    with open(path, "rb") as f:
        f.seek(directory)
        digest = hashlib.sha256(f.read()).hexdigest()
    return [st.st_dev, st.st_ino, directory, st.st_size, digest]


def _save_state(state_dir: Path, members: Mapping[str, bagzip.Member],
                directory: int) -> None:
    from dataclasses import asdict

    rec = {"version": STATE_VERSION, "zip": _zip_key(state_dir / STATE_ZIP, directory),
           "members": {k: asdict(m) for k, m in members.items()}}
    atomic.write_bytes(state_dir / STATE_RECORD, orjson.dumps(rec))


def write_bag(zip_path: Path, files: list[tuple[str, Path | bytes]], info: dict,
              runs: list | None = None, state_dir: Path | None = None) -> bagzip.Writer:
    """Bag ``files`` (name in data/, file or bytes; and the run records, as
    ``runs.json``) with ``info`` and zip it as ``zip_path``, its one folder named like
    the zip. ``state_dir``: where the last bag and its records are kept (none: the bag
    is made whole). What it reused and read: the returned writer's ``reused``, ``read``."""
    top = zip_path.name.removesuffix(".zip")
    payload = [(f"data/{name}", src) for name, src in files]
    if runs:
        payload.append((f"data/{RUNS}", orjson.dumps(
            runs, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"))
    payload.sort(key=lambda p: p[0])
    info = {**info, "Payload-Oxum": f"{sum(_payload_size(s) for _, s in payload)}."
                                    f"{len(payload)}"}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    previous = None
    target = zip_path
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        previous = _load_state(state_dir)
        target = state_dir / STATE_ZIP
    with bagzip.writing(target, previous, state_dir / STATE_ZIP if state_dir else None
                        ) as w:
        tags = {"bagit.txt": BAGIT_TXT.encode("utf-8"), "bag-info.txt": _tag_file(info)}
        for name in sorted(tags):
            w.add(f"{top}/{name}", tags[name])
        done = [w.add(f"{top}/{name}", src) for name, src in payload]
        for alg in CHECKSUMS:
            tags[f"manifest-{alg}.txt"] = _manifest(alg, done, [n for n, _ in payload])
            w.add(f"{top}/manifest-{alg}.txt", tags[f"manifest-{alg}.txt"])
        tagged = sorted(tags)
        heads = {n: w.members[f"{top}/{n}"] for n in tagged}
        for alg in CHECKSUMS:
            w.add(f"{top}/tagmanifest-{alg}.txt",
                  _manifest(alg, [heads[n] for n in tagged], tagged))
    if state_dir is not None:
        _save_state(state_dir, w.members, w.zf.start_dir)
        tmp = zip_path.with_name(f".{zip_path.name}.link")
        tmp.unlink(missing_ok=True)
        from dnflow.site.render import link_or_copy

        link_or_copy(target, tmp)
        os.replace(tmp, zip_path)
    return w


def make_search_bag(summary_dir: Path, zip_path: Path, archive: Mapping[str, Any] | None,
                    runs: list[str | Path] | None = None, base: Path | None = None,
                    publish: Mapping[str, Any] | None = None,
                    media: Mapping[str, Any] | None = None,
                    media_store: Path | None = None,
                    state_dir: Path | None = None) -> bagzip.Writer:
    """A search's bag from its summary folder: what it publishes at its level
    (``publish``, as the page's), its run records (``runs``: their files, as the page
    reads them; else the summary's) and, with ``media`` (its media settings), its
    downloaded images from the store (``media_store``, by default data/media beside
    the search's folder). ``state_dir``: see :func:`write_bag`."""
    from dnflow.site import data as sd
    from dnflow.site.render import page_publisher

    summary = orjson.loads((summary_dir / "summary.json").read_bytes())
    if runs:
        summary["runs"] = sd.load_runs(runs)
    pub = page_publisher(summary_dir, str(summary.get("slug") or zip_path.stem), publish)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=zip_path.parent, prefix=".published-") as tmp:
        files: list[tuple[str, Path | bytes]] = list(published_files(
            summary_dir, summary, base or Path.cwd(), pub, Path(tmp),
            summary_dir.parent / "published" / "raw"))
        if media:
            files += media_files(summary_dir, media_store or summary_dir.parent.parent
                                 / "media", media, pub)
        return write_bag(zip_path, files, bag_info(summary, archive),
                         summary.get("runs") or None, state_dir)
