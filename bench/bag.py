"""BAG: a search's BagIt bag remade after an update of 1% (dnflow.bag, dnflow.bagzip).

An archive of ``tweets`` posts in 100 raw chunks is summarized (with its state, its
posts.parquet and networks, as the pipeline's jobs make them) and bagged at
``everything`` (every file: the raw chunks too), the bag's state kept. Then one new chunk
of 1% more posts is added, the summary and its products made again (the summary files
rewritten, tweets.csv appended to), and the bag remade. The rebuild is compared with the
first build; both bags are validated with bagit.py, and the rebuilt one must be the same
bytes as a bag of the same data made whole.
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

from bench.summarize import archive

CHUNKS = 100
EVERYTHING = {"level": "everything", "followers": 5000}


def _products(files: list[Path], summary: Path, state: Path) -> None:
    from dnflow import networks
    from dnflow.parquet import write_search
    from dnflow.summary import summarize

    summarize(files, summary, {"slug": "bench", "source": "archive", "title": "bench"},
              state_dir=state)
    write_search(summary)
    networks.write_search(summary, summary.parent / "networks")


def _bag(summary: Path, zip_path: Path, state: Path | None) -> tuple[float, float, object]:
    from dnflow.bag import make_search_bag

    zip_path.unlink(missing_ok=True)  # as Snakemake does before the job
    os.sync()  # the summary's writes out of the way, as hours later under cron
    t, cpu = time.perf_counter(), time.process_time()
    w = make_search_bag(summary, zip_path, {}, base=Path("/"), publish=EVERYTHING,
                        state_dir=state)
    return time.perf_counter() - t, time.process_time() - cpu, w


def _validate(zip_path: Path, into: Path) -> None:
    import bagit

    shutil.rmtree(into, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(into)
    bagit.Bag(str(into / zip_path.name.removesuffix(".zip"))).validate()
    shutil.rmtree(into)


def _rewritten(networks: Path, zip_path: Path) -> tuple[float, int]:
    """The part of any rebuild that no record can spare: zipping the files the networks
    job rewrites whole at every update (network.gexf, the edge lists), alone."""
    from dnflow import bagzip

    files = sorted(networks.iterdir())
    t = time.perf_counter()
    with bagzip.writing(zip_path) as w:
        for p in files:
            w.add(p.name, p)
    return time.perf_counter() - t, sum(p.stat().st_size for p in files)


def run(out: Path, tweets: int) -> dict:
    big = archive(out, tweets)
    extra = max(tweets // 100, 1)
    chunk = archive(out, extra, seed=43, start="2026-11-08T00:00:00Z", days=0.5)
    work = out / f"bag-{tweets}"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    raw.mkdir(parents=True)
    lines = big.read_bytes().splitlines(keepends=True)
    per = -(-len(lines) // CHUNKS)
    for i in range(CHUNKS):
        (raw / f"chunk-{i:04d}.jsonl").write_bytes(b"".join(lines[i * per:(i + 1) * per]))
    del lines
    slug = work / "data" / "bench"
    summary, state = slug / "summary", slug / "state"
    files = sorted(raw.iterdir())
    _products(files, summary, state)
    zip_path = slug / "bag" / "bench-bag.zip"
    first, first_cpu, _ = _bag(summary, zip_path, slug / "bag-state")
    size_first = zip_path.stat().st_size
    _validate(zip_path, work / "check")
    shutil.copyfile(chunk, raw / f"chunk-{CHUNKS:04d}.jsonl")
    _products(sorted(raw.iterdir()), summary, state)
    again, again_cpu, w = _bag(summary, zip_path, slug / "bag-state")
    _validate(zip_path, work / "check")
    whole, _, _ = _bag(summary, work / "whole" / "bench-bag.zip", None)
    same = zip_path.read_bytes() == (work / "whole" / "bench-bag.zip").read_bytes()
    floor, floor_bytes = _rewritten(slug / "networks", work / "rewritten.zip")
    raw_bytes = sum(p.stat().st_size for p in raw.iterdir())
    return {"tweets": tweets, "extra": extra, "first_s": first, "again_s": again,
            "whole_s": whole, "ratio": again / first, "first_cpu": first_cpu,
            "again_cpu": again_cpu, "compressed": w.compressed, "size": zip_path.stat().st_size,
            "size_first": size_first, "raw_bytes": raw_bytes, "reused": w.reused,
            "read": w.read, "hashed": w.hashed, "identical": same,
            "floor_s": floor, "floor_bytes": floor_bytes}


def rows(r: dict) -> list[tuple[str, str]]:
    mb = 1e6
    return [
        ("BAG archive", f"{r['tweets']:,} posts in {CHUNKS} raw chunks "
                        f"({r['raw_bytes'] / mb:,.0f} MB after the update), bagged at "
                        "everything: raw chunks, summary files, posts.parquet, networks"),
        ("BAG first build", f"{r['first_s']:.2f} s ({r['first_cpu']:.2f} s CPU), bag "
                            f"{r['size_first'] / mb:,.1f} MB"),
        ("BAG rebuild after a new chunk of 1% (summary files rewritten)",
         f"{r['again_s']:.2f} s ({r['again_cpu']:.2f} s CPU): {100 * r['ratio']:.1f}% of "
         f"the first build (target ≤ 10%); {r['reused'] / mb:,.0f} MB of unchanged files "
         f"copied from the last bag unread, {r['read'] / mb:,.0f} MB read and hashed (the "
         f"files other jobs rewrote), of which {r['compressed'] / mb:,.0f} MB compressed "
         f"again and {r['hashed'] / mb:,.0f} MB run through SHA-512 and CRC-32 (the rest: "
         "their states at the last unchanged segment taken up)"),
        ("BAG of which unavoidable: the files the networks job rewrote whole",
         f"network.gexf and the edge lists ({r['floor_bytes'] / mb:,.0f} MB) zipped alone: "
         f"{r['floor_s']:.2f} s, {100 * r['floor_s'] / r['first_s']:.1f}% of the first build"),
        ("BAG the same bag made whole, for comparison",
         f"{r['whole_s']:.2f} s; byte-identical to the rebuilt one: "
         f"{'yes' if r['identical'] else 'NO'}; bag {r['size'] / mb:,.1f} MB"),
    ]
