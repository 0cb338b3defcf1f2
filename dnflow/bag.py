"""A search's BagIt bag: ``<slug>-bag.zip``, what the page publishes, for archives.

The bag is a function of a file list (:func:`published_files`: (name in the bag's
``data/``, file) pairs) and of the search's summary (:func:`bag_info`), so what a search
publishes decides what its bag holds. ``bagit`` (the Library of Congress's bagit.py)
writes the payload manifests and bag-info.txt; dnflow then marks the bag BagIt 1.0 (the
version bagit.py 1.9 still writes is 0.97, which the two differ in nothing dnflow uses),
writes its tag manifests in name order and zips it with fixed times, so the same data
gives the same bytes. ``Bagging-Date`` is the newest post's date, never the clock.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from dnflow import __version__, outputs
from dnflow.publish import Publisher, publish_file
from dnflow.sources import platform_of

CHECKSUMS = ("sha256", "sha512")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
RUNS = "runs.json"


def bag_name(slug: str) -> str:
    return f"{slug}-bag.zip"


def published_files(summary_dir: Path, summary: Mapping[str, Any], base: Path,
                    pub: Publisher | None = None, copies: Path | None = None
                    ) -> list[tuple[str, Path]]:
    """What the page publishes of a search: its summary files (the pass's and those
    made from them) and its raw inputs under ``raw/``, by the page's own rules
    (dnflow.site.render.published_raw: none of a
    file whose authors may be withheld, none below everything; filtered copies for a
    search with removed posts). Below everything (``pub``, dnflow.publish) the files are
    the level's published copies; those and the filtered raw files are written under
    ``copies`` (the bag's own: the page job writes data/<slug>/published/)."""
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
    raw, _, _ = published_raw(summary, summary_dir, base, pub,
                              (copies or summary_dir.parent / "published") / "raw")
    return out + [(f"raw/{name}", path) for name, path in raw]


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
    info["Platform"] = platform_of(summary).name
    info["Retrieval-Time"] = [r["finished"] for r in summary.get("runs") or ()
                              if isinstance(r, Mapping) and r.get("finished")]
    info["Posts"] = str(summary.get("tweets") or 0)
    info["Count"] = [f"{k}={v}" for k, v in sorted((summary.get("counts") or {}).items())]
    return {k: v for k, v in info.items() if v != []}


def write_bag(zip_path: Path, files: list[tuple[str, Path]], info: dict,
              runs: list | None = None) -> None:
    """Bag ``files`` (and the run records, as ``runs.json``) with ``info`` and zip it as
    ``zip_path``, its one folder named like the zip."""
    import bagit

    from dnflow.site.render import link_or_copy, write_zip

    top = zip_path.name.removesuffix(".zip")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=zip_path.parent, prefix=".bag-") as tmp:
        folder = Path(tmp) / top
        folder.mkdir()
        for name, path in files:
            dst = folder / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(path, dst)
        if runs:
            (folder / RUNS).write_bytes(orjson.dumps(runs, option=orjson.OPT_INDENT_2
                                                     | orjson.OPT_SORT_KEYS) + b"\n")
        bagit.make_bag(str(folder), dict(info), checksums=list(CHECKSUMS))
        (folder / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
        _tag_manifests(folder)
        members = [(f"{top}/{p.relative_to(folder).as_posix()}", p)
                   for p in folder.rglob("*") if p.is_file()]
        write_zip(zip_path, members)


def _tag_manifests(folder: Path) -> None:
    """tagmanifest-<alg>.txt of the tag files, in name order."""
    tags = sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in CHECKSUMS:
        lines = []
        for name in tags:
            with open(folder / name, "rb") as f:
                lines.append(f"{hashlib.file_digest(f, alg).hexdigest()}  {name}\n")
        (folder / f"tagmanifest-{alg}.txt").write_text("".join(lines), encoding="utf-8")


def make_search_bag(summary_dir: Path, zip_path: Path, archive: Mapping[str, Any] | None,
                    runs: list[str | Path] | None = None, base: Path | None = None,
                    publish: Mapping[str, Any] | None = None) -> None:
    """A search's bag from its summary folder: what it publishes at its level
    (``publish``, as the page's), its run records (``runs``: their files, as the page
    reads them; else the summary's)."""
    from dnflow.site import data as sd
    from dnflow.site.render import page_publisher

    summary = orjson.loads((summary_dir / "summary.json").read_bytes())
    if runs:
        summary["runs"] = sd.load_runs(runs)
    pub = page_publisher(summary_dir, str(summary.get("slug") or zip_path.stem), publish)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=zip_path.parent, prefix=".published-") as tmp:
        files = published_files(summary_dir, summary, base or Path.cwd(), pub, Path(tmp))
        write_bag(zip_path, files, bag_info(summary, archive), summary.get("runs") or None)
