"""MEDIA: near-duplicate images, how well and how fast (issue 12).

Quality: the labelled set of ``dnflow.media.variants`` made from the real photographs in
``../shared/corpus/images`` (each photograph's social-media variants are one picture;
other photographs, their quarters and mirror images are others), hashed, and scored
over every pair at each candidate threshold: pair precision/recall (one link) and group
precision/recall (links chained into groups, what dnflow publishes).

Speed: 50,000 images' hashes grouped by multi-index hashing, against comparing every
pair (numpy, same run, same hashes). The hashes are the labelled set's real ones plus
synthetic pictures derived from them: a base is a real hash with 24 random bits flipped
(as far from it as different photographs are), its variants are the base with as many
bits flipped as the labelled set's variants differ from their originals (drawn from
those measured distances). Each synthetic image knows its picture, so the table also
says whether any group mixed two pictures at that scale.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dnflow.media import groups, hashes, variants

CORPUS_IMAGES = Path(os.environ.get(
    "DNFLOW_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")) / "images"
TEXTURE = "brick"  # a texture: its quarters look alike, so none are made of it
CANDIDATES = (8, 10, 12, 14, 16, 18, 20)


def labelled(images: Path = CORPUS_IMAGES) -> tuple[list[variants.Labelled],
                                                    list[hashes.ImageHashes], float]:
    photos = []
    for p in sorted(images.iterdir()):
        with Image.open(p) as im:
            im.load()
            photos.append((p.stem, im))
    made = variants.labelled_set(photos, quarters_of=lambda name: name != TEXTURE)
    t0 = time.perf_counter()
    hs = [hashes.hash_image(x.image) for x in made]
    return made, hs, time.perf_counter() - t0


def quality_rows(made, hs) -> list[tuple[str, str]]:
    labels = [x.label for x in made]
    ph, dh = [h.phash for h in hs], [h.dhash for h in hs]
    n_same = sum(a == b for k, a in enumerate(labels) for b in labels[k + 1:])
    rows = [("labelled set", f"{len(made):,} images of {len(set(labels))} pictures from "
             f"{len({x.label.split(' ')[0] for x in made})} photographs; "
             f"{len(made) * (len(made) - 1) // 2:,} pairs, {n_same:,} of the same picture")]
    rules = [(t, groups.DHASH_THRESHOLD) for t in CANDIDATES] + [(t, None) for t in (14, 18)]
    for t, td in rules:
        s = variants.scores(labels, ph, dh, t, td)
        chosen = " **chosen**" if (t, td) == (groups.THRESHOLD, groups.DHASH_THRESHOLD) else ""
        rule = f"pHash ≤ {t}" + (f", dHash ≤ {td}" if td is not None else " alone")
        rows.append((f"MEDIA {rule}{chosen}",
                     f"pairs: precision {s.pair_precision:.3f}, recall {s.pair_recall:.3f}; "
                     f"groups: precision {s.group_precision:.3f}, recall {s.group_recall:.3f} "
                     f"({s.groups} groups, {s.mixed_groups} mixing pictures)"))
    return rows


def synthetic(made, hs, n: int, seed: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` images' (pHash, dHash, picture) arrays: the real ones first, then derived."""
    rng = np.random.default_rng(seed)
    orig = {x.label: k for k, x in enumerate(made) if x.variant == "original"}
    base = [hs[orig[x.label]] for x in made]
    dist_p = [hashes.hamming(h.phash, o.phash) for h, o in zip(hs, base, strict=True)]
    dist_d = [hashes.hamming(h.dhash, o.dhash) for h, o in zip(hs, base, strict=True)]
    label_ids = {lab: i for i, lab in enumerate(dict.fromkeys(x.label for x in made))}
    ph = [h.phash for h in hs]
    dh = [h.dhash for h in hs]
    pic = [label_ids[x.label] for x in made]
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)

    def flip(h: int, k: int) -> int:
        return int(np.uint64(h) ^ np.bitwise_or.reduce(bits[rng.choice(64, k, replace=False)])) \
            if k else h

    picture = len(label_ids)
    while len(ph) < n:
        src = int(rng.integers(len(hs)))
        bp, bd = flip(hs[src].phash, 24), flip(hs[src].dhash, 24)
        for _ in range(min(int(rng.geometric(0.25)), n - len(ph))):  # 4 images a picture
            v = int(rng.integers(len(hs)))
            ph.append(flip(bp, dist_p[v]))
            dh.append(flip(bd, dist_d[v]))
            pic.append(picture)
        picture += 1
    return groups.as_array(ph), groups.as_array(dh), np.array(pic)


def _timed(f, *args):
    w, c = time.perf_counter(), time.process_time()
    out = f(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def speed_rows(ph, dh, pic, brute_n: int) -> list[tuple[str, str]]:
    n = len(ph)

    def grouped():
        pairs = groups.near_pairs(ph, dh)
        roots = groups.components(n, pairs)
        return pairs, roots, groups.number_groups(roots, [1] * n, [f"{k:08d}" for k in range(n)])
    (pairs, roots, numbers), took, cpu = _timed(grouped)
    mixed = sum(len(set(pic[roots == r].tolist())) > 1 for r in np.unique(roots))
    m = groups.choose_chunks(n, groups.THRESHOLD)
    rows = [(f"MEDIA group {n:,} images (multi-index hashing, {m} chunks)",
             f"{took:.2f} s (CPU {cpu:.2f} s): {len(pairs):,} near-duplicate links, "
             f"{max(numbers):,} groups for {len(set(pic.tolist())):,} pictures, "
             f"{mixed} groups mixing pictures")]
    sub = ph[:brute_n]
    stats: dict[str, int] = {}
    fast, t_fast, c_fast = _timed(groups.pairs_mih, sub, groups.THRESHOLD, None, stats)
    slow, t_slow, c_slow = _timed(groups.pairs_brute, sub, groups.THRESHOLD)
    same = "yes" if np.array_equal(fast, slow) else "NO"
    more = (f"; at {n:,} images every pair is {(n / brute_n) ** 2:.0f}× the work"
            if brute_n < n else "")
    rows.append((f"MEDIA pHash pairs of {brute_n:,} images: every pair compared (baseline) "
                 "vs multi-index hashing",
                 f"{t_slow:.2f} s vs {t_fast:.2f} s, ratio {t_slow / t_fast:.1f} "
                 f"(CPU {c_slow:.2f} s vs {c_fast:.2f} s, ratio {c_slow / c_fast:.1f}); "
                 f"same pairs: {same}; multi-index hashing compared {stats['compared']:,} "
                 f"pairs in full, {stats['compared'] / (brute_n * (brute_n - 1) / 2):.1%} of "
                 f"all{more}"))
    return rows


def run(quick: bool) -> list[tuple[str, str]]:
    made, hs, took = labelled()
    rows = [("MEDIA hash the labelled set (pHash + dHash)",
             f"{took:.2f} s for {len(made)} images, {1000 * took / len(made):.1f} ms each")]
    rows += quality_rows(made, hs)
    n, brute_n = (5_000, 1_000) if quick else (50_000, 50_000)
    ph, dh, pic = synthetic(made, hs, n)
    rows += speed_rows(ph, dh, pic, brute_n)
    if "NO" in rows[-1][1]:
        raise SystemExit("MEDIA: multi-index hashing found other pairs than comparing all")
    return rows
