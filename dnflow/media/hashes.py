"""Perceptual hashes of an image, with Pillow and numpy only.

pHash: the image in grey, 32×32, its two-dimensional DCT-II, the 8×8 lowest
frequencies, one bit per coefficient above their median. dHash: the image in grey, 9×8,
one bit per pixel brighter than its left neighbour. Both are 64-bit ints (bit 63 first,
row by row), the layout of imagehash's ``phash``/``dhash`` so the ideas carry over.

Deterministic on every machine: the grey conversion and the resampling are Pillow's
fixed-point integer code, and the DCT is computed in exact integer arithmetic (the
cosines scaled by 2**14 and rounded) instead of floating point, whose last bits can
differ with the BLAS in use and flip a coefficient that sits at the median.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

#: One filter for every resize (a hash only compares with hashes made the same way).
RESAMPLE = Image.Resampling.LANCZOS
_N = 32  # pHash works on a 32×32 image …
_K = 8   # … and keeps its 8×8 lowest frequencies


def _dct_matrix(n: int) -> np.ndarray:
    """DCT-II basis, integer: round(2**14 cos(pi (2j+1) k / 2n)). Scaling every
    coefficient alike does not move one across the median, and integers sum exactly."""
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    return np.rint(np.cos(np.pi * (2 * j + 1) * k / (2 * n)) * 2**14).astype(np.int64)


_DCT = _dct_matrix(_N)[:_K]  # only the rows of the low frequencies are needed
_WEIGHTS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


class ImageHashes(NamedTuple):
    phash: int
    dhash: int


def _bits(flags: np.ndarray) -> int:
    """64 booleans, first one the highest bit."""
    return int((flags.reshape(-1).astype(np.uint64) * _WEIGHTS).sum(dtype=np.uint64))


def grey(img: Image.Image) -> Image.Image:
    """The picture as it is shown, in 8-bit grey: EXIF orientation applied (platforms
    rotate and strip it), transparency laid on white, then Pillow's ITU-R 601-2 luma."""
    if img.getexif().get(0x0112, 1) != 1:  # exif_transpose copies even when upright
        img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greys: scale to 8 bits rather than clip at 255
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return Image.fromarray(np.rint(a).astype(np.uint8), "L")
    if img.mode == "LAB":  # Pillow converts LAB to nothing; its L is the lightness
        return img.getchannel("L")
    return img.convert("L")


_EXTREME_LO, _EXTREME_HI = 24, 231  # near black, near white
_BAR_ROW = 0.9    # a row of a bar: this share of its pixels near black or near white
_BAR_MAX = 0.4    # never trim more than this share of a side


def _bar(extreme: np.ndarray) -> int:
    """How many of the first lines are a flat band of near-black or near-white (text on
    it allowed: a caption bar, a letterbox, a white frame), from each line's share of
    such pixels."""
    flat = extreme >= _BAR_ROW
    limit = int(len(flat) * _BAR_MAX)
    if not limit or flat[:limit].all():
        return 0  # flat that far: the picture itself (a white page, a night sky), no bar
    return int(np.argmin(flat[:limit]))


def trim_bars(g: Image.Image) -> Image.Image:
    """The picture without the bars that reposting adds around it (caption bars above or
    below, letterboxing, frames): they would otherwise move every low frequency."""
    px = np.asarray(g)
    if px.ndim != 2 or min(px.shape) < 8:
        return g
    extreme = (px <= _EXTREME_LO) | (px >= _EXTREME_HI)
    rows, cols = extreme.mean(axis=1), extreme.mean(axis=0)
    top, bottom, left, right = _bar(rows), _bar(rows[::-1]), _bar(cols), _bar(cols[::-1])
    h, w = px.shape
    if top + bottom >= h - 4 or left + right >= w - 4:
        return g  # nothing would be left to hash
    return g.crop((left, top, w - right, h - bottom))


def phash(g: Image.Image) -> int:
    """pHash of a grey image (see the module's docstring)."""
    px = np.asarray(g.resize((_N, _N), RESAMPLE), dtype=np.int64)
    low = _DCT @ px @ _DCT.T  # 8×8; |value| < 32·32·255·2**28, far inside int64
    flat = np.sort(low.reshape(-1))
    # above the median of 64 values, i.e. 2v > the sum of the two middle ones: exact
    return _bits(2 * low > flat[31] + flat[32])


def dhash(g: Image.Image) -> int:
    """dHash of a grey image: a pixel brighter than the one to its left."""
    px = np.asarray(g.resize((_K + 1, _K), RESAMPLE), dtype=np.int16)
    return _bits(px[:, 1:] > px[:, :-1])


def hash_image(img: Image.Image) -> ImageHashes:
    """pHash and dHash of an image already opened with Pillow."""
    g = trim_bars(grey(img))
    return ImageHashes(phash(g), dhash(g))


def hash_file(path: str | Path) -> ImageHashes:
    """Hashes of an image file (any format Pillow reads; the first frame of an animation)."""
    with Image.open(path) as img:
        img.load()
        return hash_image(img)


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return (a ^ b).bit_count()


def to_hex(h: int) -> str:
    """The 16 hex digits a CSV carries (imagehash's ``str()`` layout)."""
    return f"{h:016x}"
