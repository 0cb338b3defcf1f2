"""Near-duplicate images in groups, without comparing every pair.

Two images are near-duplicates when their pHashes differ in at most ``threshold`` bits
and their dHashes in at most ``dhash_threshold`` (see ``THRESHOLD``: chosen on the
labelled set of bench/media.py). Groups are what near-duplicate links join, directly or
through other images (a connected component).

The pairs are found by multi-index hashing (Norouzi, Punjani and Fleet, 2012): the 64
bits are cut into ``m`` chunks, and two hashes at most ``t`` bits apart agree within
``t // m`` bits on at least one chunk (if every chunk differed in more, the whole would
differ in at least ``m * (t // m + 1) > t``). Each chunk is a table from its value to the
images that have it; an image looks up its chunk and the values a few bits away, and
only the images found there are compared in full. ``m`` is chosen per call from the
expected number of lookups and candidates. Everything is numpy, over all images at
once; ``pairs_brute`` compares every pair and is what the tests hold this to.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import comb
from typing import NamedTuple

import numpy as np

#: Largest pHash distance (bits of 64) still taken for the same picture, and the same for
#: dHash. Chosen on the labelled set (bench/media.py; figures in bench/results.md).
THRESHOLD = 14
DHASH_THRESHOLD = 16


class Item(NamedTuple):
    key: str     # stable and unique (a media key or URL): breaks ties between groups
    phash: int
    dhash: int
    posts: int = 0


def as_array(hashes: Sequence[int]) -> np.ndarray:
    return np.fromiter((int(h) for h in hashes), dtype=np.uint64, count=len(hashes))


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances of two equally long uint64 arrays, elementwise."""
    return np.bitwise_count(a ^ b).astype(np.int64)


def pairs_brute(h: np.ndarray, t: int) -> np.ndarray:
    """Every pair (i < j) at most ``t`` bits apart, by comparing all pairs: the reference
    (n²/2 comparisons), and the faster way for a few hundred images."""
    out = []
    for i in range(len(h) - 1):
        j = np.flatnonzero(np.bitwise_count(h[i + 1:] ^ h[i]) <= t) + i + 1
        if len(j):
            out.append(np.stack([np.full(len(j), i), j], axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)


def _chunks(m: int) -> list[tuple[int, int]]:
    """(shift, width) of ``m`` contiguous chunks of 64 bits, as equal as they go."""
    widths = [64 // m + (1 if c < 64 % m else 0) for c in range(m)]
    shifts = np.cumsum([0, *widths[:-1]])
    return [(int(s), w) for s, w in zip(shifts, widths, strict=True)]


def _cost(n: int, t: int, m: int) -> float:
    """Expected work of ``m`` chunks: lookups plus candidates (hashes spread evenly)."""
    r = t // m
    return sum(n * sum(comb(w, k) for k in range(r + 1)) * (1 + n / 2**w)
               for _, w in _chunks(m))


def choose_chunks(n: int, t: int) -> int:
    """The number of chunks with the least expected work (tables of at most 2**22)."""
    return min(range(3, 17), key=lambda m: _cost(n, t, m))


def _masks(width: int, r: int) -> np.ndarray:
    """Every value of ``width`` bits with at most ``r`` bits set."""
    out = [0]
    for k in range(1, r + 1):
        out += [sum(1 << b for b in bits) for bits in combinations(range(width), k)]
    return np.array(out, dtype=np.int64)


def pairs_mih(h: np.ndarray, t: int, m: int | None = None,
              stats: dict[str, int] | None = None) -> np.ndarray:
    """Every pair (i < j) at most ``t`` bits apart, by multi-index hashing: the same
    pairs as ``pairs_brute``, in the same order. ``stats`` gets ``compared``: how many
    pairs were compared in full (a pair can be met in more than one chunk)."""
    n = len(h)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    m = m or choose_chunks(n, t)
    found = []
    for shift, width in _chunks(m):
        vals = ((h >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)
        order = np.argsort(vals, kind="stable")
        # work in the chunk's sorted order: a bucket is then a run of positions
        hs, vs = h[order], vals[order]
        starts = np.zeros((1 << width) + 1, dtype=np.int64)
        np.cumsum(np.bincount(vals, minlength=1 << width), out=starts[1:])
        for mask in _masks(width, t // m):
            # a pair of buckets is visited once, from the lower value; in its own bucket
            # an image meets only those after it
            src = np.flatnonzero((vs ^ mask) > vs) if mask else np.arange(n)
            q = vs[src] ^ mask
            lo = starts[q]
            cnt = starts[q + 1] - lo
            i = np.repeat(src, cnt)
            # lo, lo+1 … for each image: a ragged arange
            j = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(len(i))
            if not mask:
                keep = i < j
                i, j = i[keep], j[keep]
            if stats is not None:
                stats["compared"] = stats.get("compared", 0) + len(i)
            near = np.bitwise_count(hs[i] ^ hs[j]) <= t
            a, b = order[i[near]], order[j[near]]
            found.append(np.minimum(a, b) * n + np.maximum(a, b))
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1)


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """For each of ``n`` nodes, the smallest node of its connected component: union by
    the smaller root and path halving, all links at once (numpy), until no link joins
    two roots."""
    parent = np.arange(n)
    i, j = pairs[:, 0], pairs[:, 1]
    while True:
        while True:  # compress: every node points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        pi, pj = parent[i], parent[j]
        apart = pi != pj
        if not apart.any():
            return parent
        lo = np.minimum(pi[apart], pj[apart])
        np.minimum.at(parent, pi[apart], lo)
        np.minimum.at(parent, pj[apart], lo)


def near_pairs(phash: np.ndarray, dhash: np.ndarray, threshold: int = THRESHOLD,
               dhash_threshold: int | None = DHASH_THRESHOLD) -> np.ndarray:
    """Pairs whose pHashes are within ``threshold`` and dHashes within
    ``dhash_threshold`` (None: pHash alone)."""
    pairs = pairs_mih(phash, threshold) if len(phash) > 300 else pairs_brute(phash, threshold)
    if dhash_threshold is not None and len(pairs):
        pairs = pairs[distances(dhash[pairs[:, 0]], dhash[pairs[:, 1]]) <= dhash_threshold]
    return pairs


def number_groups(roots: np.ndarray, posts: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Group numbers 1, 2 … by the group's posts (summed over its items), most first;
    ties by the smallest key in the group."""
    total: dict[int, int] = {}
    first: dict[int, str] = {}
    for r, p, k in zip(roots.tolist(), posts, keys, strict=True):
        total[r] = total.get(r, 0) + p
        if r not in first or k < first[r]:
            first[r] = k
    ranked = sorted(total, key=lambda r: (-total[r], first[r]))
    number = {r: i for i, r in enumerate(ranked, 1)}
    return [number[r] for r in roots.tolist()]


def group(items: Sequence[Item], threshold: int = THRESHOLD,
          dhash_threshold: int | None = DHASH_THRESHOLD) -> list[int]:
    """The group number of each item (see ``number_groups``): items joined by a chain
    of near-duplicates share one."""
    ph = as_array([it.phash for it in items])
    dh = as_array([it.dhash for it in items])
    roots = components(len(items), near_pairs(ph, dh, threshold, dhash_threshold))
    return number_groups(roots, [it.posts for it in items], [it.key for it in items])
