"""Render the static site: one page per search (+ its downloads), the index, compare page
and Atom feed.

Deterministic: the same summary files give byte-identical pages and zips (times come from
summary.json and run records, never the clock), so an unchanged search never rebuilds
anything downstream. Relative links only, so the site works from file:// and any host.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from dnflow import counting, deletions, outputs
from dnflow.counting import Section
from dnflow.formats import FORMATS
from dnflow.platforms import PLATFORMS, Platform
from dnflow.publish import (
    ANONYMOUS,
    DEFAULT_FOLLOWERS,
    Publisher,
    default_settings,
    publish_file,
    publisher,
)
from dnflow.site import charts, image_groups
from dnflow.site import data as sd
from dnflow.site import text as tx
from dnflow.site.networks import load_networks
from dnflow.sources import common_platform, gaps_of, platform_of

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates"
STYLESHEET = PACKAGE / "static" / "style.css"

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
STORED_SUFFIXES = (".gz", ".zip", ".bz2", ".xz", ".zst", ".png", ".jpg")
MAX_DOWNLOAD_ROWS = 100

_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html", "xml"], default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        _env.globals.update(fmt_int=charts.fmt_int, fmt_time=sd.fmt_time)
    return _env


def write_text(path: Path, content: str) -> None:
    """Write atomically: readers (and a crashed job) never see half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


# ------------------------------------------------------------------ one search


def search_context(summary_dir: Path, slug: str,
                   runs: Sequence[str | Path] | None = None,
                   pub: Publisher | None = None,
                   site_media: Path | None = None) -> dict[str, Any]:
    """Everything page.html shows about one search (without downloads).

    ``runs``: run record files; they replace summary.json's copy of the run history, which
    is only as new as the last summary (a run that found nothing does not re-summarize).
    ``pub``: what its publishing level shows (dnflow.publish; None: everything).
    ``site_media``: site/<slug>/media, where the image groups' thumbnails must be.
    """
    pub = pub or Publisher(slug)
    summary = sd.load_summary(summary_dir)
    if runs:
        summary["runs"] = sd.load_runs(runs)
    platform = platform_of(summary)
    w = tx.words(platform)
    gaps = {k: v.format(**w) for k, v in gaps_of(summary).items()}
    last = sd.last_update(summary)
    latest = sd.latest_run(summary)
    tweets = sd.to_int(summary.get("tweets")) or 0
    points = sd.load_timeline(summary_dir)
    bucket = str(summary.get("timeline_bucket") or "day")
    top, sample = sd.load_cards(summary_dir, platform, pub)
    media, media_missing = sd.load_media(summary_dir, pub)
    groups = image_groups.load(summary_dir, platform, pub, site_media)
    sections = sd.count_sections(summary_dir, summary, platform, gaps, pub)
    for s in sections:
        s["chart"] = charts.bar_chart(
            [(r["label"], r["value"]) for r in s["rows"]],
            chart_id=f"chart-{s['id']}",
            title=f"Bar chart: {s['title'].lower()}, top {len(s['rows'])} "
                  f"(the table has the same numbers)",
            value_fmt=s["value_fmt"],
        ) if s["rows"] else None
    peak = sd.busiest(points, 5)
    timeline = None
    if points:
        title = (f"{w['Posts']} per {bucket} from {sd.fmt_time(points[0][0])} to "
                 f"{sd.fmt_time(points[-1][0])}")
        if peak:
            title += f"; peak {peak[0][1]:,} at {sd.fmt_time(peak[0][0])}"
        timeline = charts.timeline_chart(points, bucket=bucket, chart_id="chart-timeline",
                                         title=title)
    return {
        "slug": slug,
        "summary": summary,
        "w": w,
        "title": str(summary.get("title") or slug),
        "description": summary.get("description"),
        "query": summary.get("query"),
        "source": summary.get("source"),
        "status": sd.status_of(summary),
        "error": summary.get("error"),
        "tweets": tweets,
        "span": sd.span_text(summary.get("first"), summary.get("last")),
        "generated": summary.get("generated"),
        "updated": sd.iso(last) if last else None,
        "run_error": (latest.get("error") or "The run failed.")
        if latest and latest.get("status") == "failed" else None,
        "every": summary.get("every"),
        # (label, number, why the data cannot give it: shown instead of a 0)
        "numbers": [
            (w["Posts"], summary.get("tweets"), None),
            ("Users", summary.get("users"), None),
            ("Originals", summary.get("originals"), None),
            (w["Reposts"], summary.get("retweets"), gaps.get("reposts")),
            ("Quotes", summary.get("quotes"), None),
            ("Replies", summary.get("replies"), None),
        ],
        "gaps": [gaps[k] for k in sorted(gaps)],
        "platform": platform,
        "skipped": sd.to_int(summary.get("skipped")) or 0,
        "api_errors": sd.to_int(summary.get("api_errors")) or 0,
        "timeline": timeline,
        "bucket": bucket,
        "busiest": peak,
        "sections": sections,
        "top_cards": top,
        "retweeted_originals": sd.to_int((summary.get("counts") or {}).get("retweeted_originals")),
        "sample_cards": sample,
        "media": media,
        "media_missing": media_missing,
        "media_all": sd.to_int((summary.get("counts") or {}).get("media")),
        "image_groups": groups,
        "runs": sd.runs_table(summary, w["posts"]),
        "coverage": sd.coverage_table(summary),
        "opt_outs": sd.opt_outs(summary, platform),
        "removals": sd.removals(summary),
        "files": sd.files_table(summary),
        "skipped_rows": sd.skipped_rows(summary),
        "publish": {"level": pub.level, "note": pub.note()},
        "networks": load_networks(summary_dir, platform, w, pub),
    }


def _withholds(platform: Platform, formats: list[str], summary: Mapping[str, Any]) -> bool:
    """Whether a raw file stays unpublished: raw answers hold what a withheld post's
    record does not (text, handles), so a file of a platform whose authors may be
    withheld (the search's, or that of any format the file was read in: an archive can
    mix platforms) is published only by a search that includes opted-out accounts."""
    if summary.get("include_opted_out"):
        return False
    return platform.withholds_authors or any(
        f in FORMATS and PLATFORMS[FORMATS[f].platform].withholds_authors for f in formats)


def _raw_files(summary: Mapping[str, Any], base: Path) -> list[tuple[str, Path, list[str]]]:
    """(download name, path, formats) of every input file the summary read as an archive (a
    format of posts recognised in it); names made unique. A file named as an archive
    that held none (a path outside the project given by mistake, a file a failed
    summary never read) is not published."""
    out: list[tuple[str, Path]] = []
    used: set[str] = set()
    gone = []
    for i, s in enumerate(summary.get("sources") or ()):
        p = s.get("path") if isinstance(s, Mapping) else None
        if not p or not s.get("formats"):
            continue
        path = Path(p) if Path(p).is_absolute() else base / p
        if not path.is_file():
            gone.append(str(p))
            continue
        name = path.name
        if name in used or name.startswith("."):
            name = f"{i + 1:04d}-{name}"
        used.add(name)
        out.append((name, path, list(s["formats"])))
    if gone:
        log.warning("%d input files are gone, not offered for download: %s",
                    len(gone), ", ".join(gone[:5]) + (", …" if len(gone) > 5 else ""))
    return out


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.create_system = 3
    stored = name.endswith(STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    # the fastest level: CSV and JSON still shrink 3-4x, at a third of the default's time
    # (the zip is remade with every change to a search)
    info._compresslevel = 1  # compress_level from Python 3.13 (this name still works)
    return info


def write_zip(zip_path: Path, members: Iterable[tuple[str, Path]]) -> None:
    """A deterministic zip: sorted entries, fixed times and modes."""
    tmp = zip_path.with_name(f".{zip_path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        for name, path in sorted(members):
            info = _zip_entry(name)
            big = path.stat().st_size > 0x7FFF0000
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=big) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, zip_path)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link where the filesystem allows: raw archives can be gigabytes, and neither
    side is ever modified in place (dnflow writes new files and renames them). A
    symbolic link is followed: a link to it could dangle where the site is served."""
    src = Path(os.path.realpath(src))
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


_END = 1 << 20  # the bytes sync_copy compares at the end of a copy (and 64 KiB at its start)


def _same(a: Path, b: Path, start: int, length: int) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        fa.seek(start)
        fb.seek(start)
        return fa.read(length) == fb.read(length)


def sync_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` a copy of ``src``, appending only what is new when ``src`` extends it.

    An update appends rows to a summary's tweets.csv (its state's file, in place): a copy
    of the whole file at every update would cost as much as the search. ``dst`` is the
    page's own (data/<slug>/published/), linked into the downloads only after it is
    written, so no rule writes into another's outputs. ``src`` extends ``dst`` when it is
    no shorter and their first 64 KiB and the last MiB of ``dst`` are the same bytes (a
    recount writes the file anew, and then the copy is made anew)."""
    size = src.stat().st_size
    have = dst.stat().st_size if dst.exists() else -1
    if 0 <= have <= size and _same(src, dst, 0, min(have, 1 << 16)) and _same(
            src, dst, max(have - _END, 0), min(have, _END)):
        if have < size:
            with open(src, "rb") as fs, open(dst, "ab") as fd:
                fs.seek(have)
                shutil.copyfileobj(fs, fd, 1 << 20)
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def published_raw(summary: Mapping[str, Any], summary_dir: Path, base: Path,
                  pub: Publisher, copies: Path) -> tuple[list[tuple[str, Path]], bool, bool]:
    """(download name, path) of the raw files the page publishes (the bag holds the
    same: dnflow.bag.published_files), whether some were withheld, and whether posts
    were removed. None below everything, none of a file whose authors may be withheld;
    a search some of whose posts were removed (dnflow.deletions) publishes filtered
    copies of its raw files, written under ``copies``."""
    if not pub.everything:
        return [], False, False
    removed = deletions.read_removed(summary_dir.parent / deletions.REMOVED_IDS) if sd.to_int(
        summary.get("removed")) else set()
    platform = platform_of(summary)
    out, withheld = [], False
    for name, src, fmts in _raw_files(summary, base):
        if _withholds(platform, fmts, summary):
            withheld = True
            continue
        if removed:
            own = copies / name
            deletions.filtered_copy(src, own, removed)
            src = own
        out.append((name, src))
    return out, withheld, bool(removed)


def build_downloads(summary_dir: Path, downloads: Path, slug: str,
                    summary: Mapping[str, Any], base: Path | None = None,
                    pub: Publisher | None = None) -> dict[str, Any]:
    """Copy summary files (dnflow.outputs' manifest) and raw inputs under ``downloads``,
    zip them; describe them in the words of the search's platform. Below publishing
    level everything (``pub``, dnflow.publish), only the files the level publishes, as
    published copies (dnflow.publish.publish_file), and no raw data."""
    base = base or Path.cwd()
    pub = pub or Publisher(slug)
    platform = platform_of(summary)
    if downloads.exists():
        shutil.rmtree(downloads)
    (downloads / "raw" if pub.everything else downloads).mkdir(parents=True)
    files, members = [], []
    w = tx.words(platform)
    left_out = set()  # zip members ({slug}/name) left out: each is its own download
    for out in outputs.downloads():
        src = outputs.path(summary_dir, out)
        if src.is_file():
            note = out.note.format(**w)
            if not pub.everything:
                left = publish_file(src, downloads / out.name, out, pub)
                if left is None:
                    continue
                if left:  # the page says what the level took out
                    note += (f" ({left:,} left out: they name an account shown as "
                             f"\"{ANONYMOUS}\")")
            elif out.grows:  # the page's own copy (an update appends to the summary's)
                own = summary_dir.parent / "published" / out.name
                sync_copy(src, own)
                link_or_copy(own, downloads / out.name)
            else:
                link_or_copy(src, downloads / out.name)
            members.append((f"{slug}/{out.name}", downloads / out.name))
            files.append({"name": out.name, "href": f"downloads/{out.name}",
                          "size": sd.size_text((downloads / out.name).stat().st_size),
                          "note": note})
            if not out.zipped:
                left_out.add(f"{slug}/{out.name}")
    if summary.get("runs"):
        runs_json = downloads / "runs.json"
        runs_json.write_bytes(orjson.dumps(summary["runs"], option=orjson.OPT_INDENT_2
                                           | orjson.OPT_SORT_KEYS) + b"\n")
        members.append((f"{slug}/runs.json", runs_json))
        files.append({"name": "runs.json", "href": "downloads/runs.json",
                      "size": sd.size_text(runs_json.stat().st_size),
                      "note": "the record of every collection run"})
    raw = []
    published, withheld, removed = published_raw(
        summary, summary_dir, base, pub, summary_dir.parent / "published" / "raw")
    for name, src in published:
        link_or_copy(src, downloads / "raw" / name)
        raw.append({"name": name, "href": f"raw/{quote(name)}",
                    "size": sd.size_text(src.stat().st_size)})
    # the zip is remade whenever the search changes: it leaves out what grows with every
    # tweet (tweets.csv, the raw archives), which can be gigabytes, and is linked anyway
    zip_path = downloads / f"{slug}.zip"
    write_zip(zip_path, [(n, p) for n, p in members if n not in left_out])
    more = None
    if len(raw) > MAX_DOWNLOAD_ROWS:
        write_text(downloads / "raw.html", environment().get_template("raw.html").render(
            root="../../", nav="page", title=summary.get("title") or slug, raw=raw))
        more = {"count": len(raw) - MAX_DOWNLOAD_ROWS, "href": "downloads/raw.html"}
    return {
        "zip": {"name": zip_path.name, "href": f"downloads/{zip_path.name}",
                "size": sd.size_text(zip_path.stat().st_size)},
        "files": files,
        "raw": [{**r, "href": f"downloads/{r['href']}"} for r in raw[:MAX_DOWNLOAD_ROWS]],
        "raw_more": more,
        "raw_total": len(raw),
        "raw_withheld": withheld and pub.everything,
        "raw_removed": removed and bool(raw),
        "bag": None,  # the search's BagIt bag, where build_page is given one
    }


def render_page(ctx: Mapping[str, Any]) -> str:
    return environment().get_template("page.html").render(root="../", nav="page", **ctx)


def page_publisher(summary_dir: Path, slug: str,
                   publish: Mapping[str, Any] | None = None) -> Publisher:
    """A search's publisher from its settings (dnflow.publish.settings: ``level``,
    ``followers``), or its source's default when none are given."""
    if publish is None:
        publish = default_settings(sd.load_summary(summary_dir))
    return publisher(slug, summary_dir, publish["level"],
                     publish.get("followers", DEFAULT_FOLLOWERS))


def build_page(summary_dir: str | Path, page: str | Path, downloads: str | Path,
               slug: str, base: str | Path | None = None,
               runs: Sequence[str | Path] | None = None,
               bag: str | Path | None = None,
               publish: Mapping[str, Any] | None = None) -> None:
    """Write site/<slug>/index.html and site/<slug>/downloads/ for one search (``bag``:
    its BagIt bag, dnflow.bag, offered beside the zip).

    ``publish``: its publishing (``{"level": …, "followers": …}``, dnflow.publish); by
    default its source's level."""
    summary_dir, page, downloads = Path(summary_dir), Path(page), Path(downloads)
    pub = page_publisher(summary_dir, slug, publish)
    ctx = search_context(summary_dir, slug, runs, pub, page.parent / "media")
    ctx["downloads"] = build_downloads(summary_dir, downloads, slug, ctx["summary"],
                                       Path(base) if base else None, pub)
    if bag is not None and Path(bag).is_file():
        link_or_copy(Path(bag), downloads / Path(bag).name)
        ctx["downloads"]["bag"] = {"name": Path(bag).name,
                                   "href": f"downloads/{Path(bag).name}",
                                   "size": sd.size_text(Path(bag).stat().st_size)}
    write_text(page, render_page(ctx))
    log.info("wrote %s (%d posts)", page, ctx["tweets"])


# ------------------------------------------------------------------ index, compare, feed


def index_entries(searches: Sequence[tuple[str, Path]],
                  every: Mapping[str, Any] | None = None,
                  runs: Mapping[str, Sequence[str | Path]] | None = None,
                  failures: Mapping[str, str] | None = None,
                  publish: Mapping[str, Mapping[str, Any]] | None = None,
                  ) -> list[dict[str, Any]]:
    """One row per search for the index and the feed, with status and staleness.
    ``failures``: slug → why a job of this run failed (dnflow.site.rescue), shown as the
    search's run error over a summary of an earlier run.

    "Stale" is judged against the newest update of any search on the site (no clock), so
    the index is deterministic; a small script on the index also compares with the
    reader's clock.
    """
    rows = []
    for slug, d in searches:
        s = sd.load_summary(d)
        if (runs or {}).get(slug):
            s["runs"] = sd.load_runs(runs[slug])
        last = sd.last_update(s)
        latest = sd.latest_run(s)
        ev = (every or {}).get(slug) or s.get("every")
        secs = sd.every_seconds(ev)
        points = sd.load_timeline(d)
        platform = platform_of(s)
        w = tx.words(platform)
        pub = page_publisher(d, slug, (publish or {}).get(slug))
        rows.append({
            "slug": slug,
            "pub": pub,
            "publish": {"level": pub.level, "note": pub.note()},
            "href": f"{slug}/index.html",
            "title": str(s.get("title") or slug),
            "description": s.get("description"),
            "source": s.get("source"),
            "platform": platform,
            "w": w,
            "status": sd.status_of(s),
            "error": s.get("error"),
            "run_error": (failures or {}).get(slug) or (
                (latest.get("error") or "the run failed")
                if latest and latest.get("status") == "failed" else None),
            "tweets": sd.to_int(s.get("tweets")),
            "users": sd.to_int(s.get("users")),
            "first": s.get("first"),
            "last": s.get("last"),
            "span": sd.span_text(s.get("first"), s.get("last")),
            "updated": sd.iso(last) if last else None,
            "generated": s.get("generated") if sd.parse_iso(s.get("generated")) else None,
            "every": ev if secs else None,
            "due": sd.iso(last + timedelta(seconds=secs)) if last and secs else None,
            "spark": charts.sparkline(
                [c for _, c in points],
                label=f"Activity of {s.get('title') or slug}: {w['posts']} per "
                      f"{s.get('timeline_bucket') or 'day'}, peak "
                      f"{max((c for _, c in points), default=0):,}",
            ) if points else None,
            "points": points,
        })
    ref = max((sd.parse_iso(r["updated"]) for r in rows if r["updated"]), default=None)
    for r in rows:
        due = sd.parse_iso(r["due"])
        r["stale"] = bool(r["status"] == "ok" and due and ref and due < ref)
    return rows


# The only script on the site (index only; allowed by its hash in the page's CSP): marks a
# search stale when its next refresh is overdue by the reader's clock. The page is complete
# without it.
INDEX_SCRIPT = (
    "for(const r of document.querySelectorAll('tr[data-due]')){"
    "if(Date.parse(r.dataset.due)<Date.now()&&!r.classList.contains('stale')){"
    "r.classList.add('stale');const b=r.querySelector('.status .badge');"
    "if(b){b.textContent='stale';b.className='badge warn';"
    "b.title='the next refresh was due '+r.dataset.due}}}"
)


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


COMPARE_TOP = 10  # from each search
COMPARE_MAX = 25  # items in a chart


def compare_block(spec: Section, searches: Sequence[tuple[dict[str, Any], Path]]
                  ) -> dict[str, Any] | None:
    """A section marked ``compare`` (dnflow.counting) across searches: the items in any
    search's top 10, with each search's count (full CSV scan) and share. A search whose
    publishing level does not publish the section's file is left out of it, and values
    naming an account it does not show are not compared (dnflow.publish)."""
    out = {o.name: o for o in outputs.manifest()}.get(spec.csv)
    if out is not None:
        searches = [(e, d) for e, d in searches if e["pub"].shows(out)]
    if not searches:
        return None
    scanned = out is not None and spec.key in out.scan

    def hidden(entry: Mapping[str, Any], value: str) -> bool:
        return scanned and entry["pub"].names_hidden(value)

    # links and words: the searches' platform if they share one (dnflow.sources); across
    # platforms, each search's counts link to its own platform's page of the value
    platform = common_platform([e["platform"] for e, _ in searches])
    mixed = len({e["platform"].name for e, _ in searches}) > 1
    w = tx.words(platform)
    key = spec.key
    items: dict[str, float] = {}
    for entry, d in searches:
        total = entry["tweets"] or 1
        rows = sd.head_rows(d / spec.csv, COMPARE_TOP * (4 if scanned else 1))
        for r in [r for r in rows if not hidden(entry, r.get(key) or "")][:COMPARE_TOP]:
            v, c = r.get(key) or "", sd.to_int(r.get("count")) or 0
            items[v] = max(items.get(v, 0.0), c / total)
    if not items:
        return None
    chosen = sorted(items, key=lambda v: (-items[v], v))[:COMPARE_MAX]
    want = set(chosen)
    series = []
    for entry, d in searches:
        counts = {r[key]: sd.to_int(r.get("count")) or 0
                  for r in sd.iter_rows(d / spec.csv)
                  if r.get(key) in want and not hidden(entry, r[key])}
        total = entry["tweets"] or 1
        series.append({
            "entry": entry,
            "counts": [counts.get(v, 0) for v in chosen],
            "shares": [100 * counts.get(v, 0) / total for v in chosen],
            "hrefs": [tx.value_link(spec.link, v, entry["platform"]) if mixed else None
                      for v in chosen],
        })
    labels = [spec.prefix + v for v in chosen]
    noun = spec.noun
    title = f"Grouped bar chart: share of {w['posts']} with each of the top {noun} per search"
    return {
        "kind": spec.id,
        "title": spec.title.format(**w),
        "header": spec.headers[0].format(**w),
        "labels": labels,
        "hrefs": [tx.value_link(spec.link, v, platform) for v in chosen],
        "series": series,
        "mixed": mixed,
        "chart": charts.grouped_bar_chart(
            labels, [(s["entry"]["title"], s["shares"]) for s in series],
            chart_id=f"chart-compare-{spec.id}", title=title, noun=w["posts"]),
    }


# characters XML 1.0 forbids even escaped (controls, lone surrogates, U+FFFE/FFFF): a
# title, description or error holding one would make feed.xml unreadable to every reader
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_chars(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", text)


def build_site(searches: Sequence[tuple[str, str | Path]], out_dir: str | Path,
               every: Mapping[str, Any] | None = None,
               runs: Mapping[str, Sequence[str | Path]] | None = None,
               failures: Mapping[str, str] | None = None,
               publish: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Write index.html, compare.html, feed.xml and style.css under ``out_dir``.

    ``runs`` maps a slug to its run record files (see ``search_context``); ``failures``
    as for :func:`index_entries`; ``publish`` a slug to its publishing
    (dnflow.publish.settings; by default its source's)."""
    out = Path(out_dir)
    pairs = [(slug, Path(d)) for slug, d in searches]
    entries = index_entries(pairs, every, runs, failures, publish)
    env = environment()
    updated = max((e["updated"] for e in entries if e["updated"]), default=None)
    totals = {
        "searches": len(entries),
        "tweets": sum(e["tweets"] or 0 for e in entries),
        "failed": sum(e["status"] == "failed" or bool(e["run_error"]) for e in entries),
        "stale": sum(e["stale"] for e in entries),
    }
    # words of pages that show every search: their platform's if they share one (else
    # each search names its platform)
    w = tx.words(common_platform([e["platform"] for e in entries]))
    mixed = len({e["platform"].name for e in entries}) > 1
    write_text(out / "index.html", env.get_template("index.html").render(
        root="", nav="index", entries=entries, totals=totals, updated=updated, w=w,
        mixed=mixed, index_script=Markup(INDEX_SCRIPT), script_hash=_csp_hash(INDEX_SCRIPT)))
    comparable = [(e, d) for e, (_, d) in zip(entries, pairs, strict=True)
                  if e["status"] == "ok" and e["tweets"]]
    blocks = [b for spec in counting.sections() if spec.compare
              if (b := compare_block(spec, comparable))]
    images = image_groups.shared_across(comparable, out)
    write_text(out / "compare.html", env.get_template("compare.html").render(
        root="", nav="compare", blocks=blocks, searches=[e for e, _ in comparable],
        images=images,
        entries=entries, top=COMPARE_TOP, updated=updated, w=w,
        platforms=sorted({e["platform"].label for e, _ in comparable if e["platform"].label})))
    feed_entries = sorted(entries, key=lambda e: (e["generated"] or "", e["slug"]), reverse=True)
    write_text(out / "feed.xml", xml_chars(env.get_template("feed.xml").render(
        entries=feed_entries, w=w,
        updated=max((e["generated"] for e in entries if e["generated"]),
                    default="1970-01-01T00:00:00Z"))))
    write_text(out / "style.css", STYLESHEET.read_text(encoding="utf-8"))
    log.info("wrote the index, compare page and feed for %d searches", len(entries))


__all__ = ["build_page", "build_site", "render_page", "search_context"]
