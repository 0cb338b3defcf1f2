"""Perceptual hashes and near-duplicate groups (issue 12), on the real photographs of
``../shared/corpus/images`` and the variants social media makes of them."""

from __future__ import annotations

import io
import random
from collections import defaultdict
from functools import cache

import numpy as np
import pytest
from PIL import Image

from dnflow.media import demo_images, groups, hashes, variants

from .conftest import CORPUS

IMAGES = CORPUS / "images"
pytestmark = pytest.mark.skipif(not IMAGES.is_dir(),
                                reason=f"no corpus photographs at {IMAGES}")


@cache
def photos() -> tuple[tuple[str, Image.Image], ...]:
    out = []
    for p in sorted(IMAGES.iterdir()):
        with Image.open(p) as im:
            im.load()
            out.append((p.stem, im))
    return tuple(out)


@cache
def labelled() -> tuple[list[variants.Labelled], list[hashes.ImageHashes]]:
    made = variants.labelled_set(photos(), quarters_of=lambda name: name != "brick")
    return made, [hashes.hash_image(x.image) for x in made]


# --- hashes -------------------------------------------------------------------------

def _float_phash(img: Image.Image) -> int:
    """pHash as imagehash defines it (scipy's DCT-II along both axes), in float."""
    px = np.asarray(hashes.trim_bars(hashes.grey(img)).resize((32, 32), hashes.RESAMPLE),
                    dtype=np.float64)
    k, j = np.arange(32)[:, None], np.arange(32)[None, :]
    c = 2 * np.cos(np.pi * (2 * j + 1) * k / 64)
    low = (c @ px @ c.T)[:8, :8]
    return int("".join("1" if v else "0" for v in (low > np.median(low)).reshape(-1)), 2)


def test_integer_dct_gives_the_phash_of_the_float_definition():
    made, hs = labelled()
    for x, h in zip(made, hs, strict=True):
        assert h.phash == _float_phash(x.image), (x.label, x.variant)


def test_hashes_are_the_same_from_a_file_and_from_run_to_run(tmp_path):
    for p in sorted(IMAGES.iterdir()):
        with Image.open(p) as im:
            assert hashes.hash_file(p) == hashes.hash_image(im) == hashes.hash_file(p)
    # pinned: a hash published in media-groups.csv must not move between runs or
    # machines; if Pillow's resampling ever changes, this says so before the CSVs do
    h = hashes.hash_file(IMAGES / "astronaut.png")
    assert (hashes.to_hex(h.phash), hashes.to_hex(h.dhash)) == PINNED_ASTRONAUT


PINNED_ASTRONAUT = ("c2924c5532bddfc8", "cd8dd91d897293a7")


def test_grey_and_resize_and_reencoding_keep_the_hash_close():
    for name, im in photos():
        base = hashes.hash_image(im)
        for v in ("grey", "half size", "thumbnail 150", "jpeg q30"):
            h = hashes.hash_image(variants.SAME[v](variants.rgb(im)))
            assert hashes.hamming(h.phash, base.phash) <= 4, (name, v)


def test_exif_orientation_is_applied_before_hashing(tmp_path):
    im = variants.rgb(dict(photos())["chelsea"])
    upright = hashes.hash_image(im)
    turned = im.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to view": undoes ROTATE_90 (anticlockwise)
    turned.save(tmp_path / "t.jpg", quality=95, exif=exif)
    h = hashes.hash_file(tmp_path / "t.jpg")
    assert hashes.hamming(h.phash, upright.phash) <= 2
    assert hashes.hamming(hashes.hash_image(turned).phash, upright.phash) > 14


def test_caption_bars_and_letterboxes_are_trimmed_before_hashing():
    im = variants.rgb(dict(photos())["astronaut"])
    g = hashes.grey(im)
    for v in (variants.caption_bar(im), variants.caption_bar(im, 0.1, top=False)):
        assert hashes.trim_bars(hashes.grey(v)).size == g.size
    box = Image.new("RGB", (im.width + 100, im.height), (0, 0, 0))
    box.paste(im, (50, 0))
    assert hashes.trim_bars(hashes.grey(box)).size == g.size
    # a flat picture is not trimmed away
    white = Image.new("L", (200, 100), 255)
    assert hashes.trim_bars(white).size == (200, 100)
    assert hashes.hash_image(Image.new("RGBA", (50, 50), (0, 0, 0, 0))) is not None


# --- the fast pairs are the pairs -----------------------------------------------------

def _random_clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """Hashes in clusters (a base and copies a few bits off) plus loners."""
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)
    out = []
    while len(out) < n:
        base = rng.integers(0, 2**63, dtype=np.uint64) * np.uint64(2) + np.uint64(rng.integers(2))
        for _ in range(int(rng.geometric(0.3))):
            flips = rng.choice(64, int(rng.integers(0, 20)), replace=False)
            out.append(base ^ np.bitwise_or.reduce(bits[flips]) if len(flips) else base)
    return np.array(out[:n], dtype=np.uint64)


@pytest.mark.parametrize("n,t,m", [(500, 14, None), (2000, 14, None), (1500, 6, None),
                                   (800, 20, None), (600, 14, 3), (600, 14, 7), (600, 0, None),
                                   (2, 14, None), (1, 14, None)])
def test_multi_index_hashing_finds_exactly_the_pairs_of_comparing_all(n, t, m):
    rng = np.random.default_rng(n * 100 + t)
    for h in (rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False),
              _random_clustered(rng, n)):
        assert np.array_equal(groups.pairs_mih(h, t, m), groups.pairs_brute(h, t))


def test_multi_index_hashing_on_real_hashes():
    made, hs = labelled()
    ph = groups.as_array([h.phash for h in hs] * 3)  # repeats: identical hashes too
    for t in (0, 8, 14, 18):
        fast = groups.pairs_mih(ph, t)
        assert np.array_equal(fast, groups.pairs_brute(ph, t))
        assert len(fast) > len(ph)  # the copies at least


def _union_find(n: int, pairs) -> list[int]:
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in pairs:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [root(x) for x in range(n)]


def test_components_are_those_of_a_plain_union_find():
    rng = random.Random(3)
    for n, e in ((1, 0), (10, 0), (50, 40), (300, 280), (1000, 5000)):
        pairs = np.array([sorted(rng.sample(range(n), 2)) for _ in range(e)] if e else
                         np.empty((0, 2), dtype=np.int64)).reshape(-1, 2)
        assert groups.components(n, pairs).tolist() == _union_find(n, pairs.tolist())
    chain = np.array([[k, k + 1] for k in range(999)][::-1])  # a long chain, reversed
    assert set(groups.components(1000, chain).tolist()) == {0}


def test_groups_are_numbered_by_posts_then_by_key():
    a = groups.Item("a", 0x0, 0x0, 5)
    a2 = groups.Item("a2", 0x3, 0x1, 4)       # near a: group of 9 posts
    b = groups.Item("b", ~0 & (2**64 - 1), 0xFFFF0000FFFF0000, 9)  # alone, 9 posts, key b
    c = groups.Item("c", 0x00FF00FF00FF00FF, 0x0F0F0F0F0F0F0F0F, 20)
    assert groups.group([a, a2, b, c]) == [2, 2, 3, 1]
    assert groups.group([]) == []


def test_a_near_phash_with_a_far_dhash_is_another_picture():
    a = groups.Item("a", 0x0, 0x0, 1)
    b = groups.Item("b", 0x1, 0xFFFFFFFF, 1)  # pHash 1 bit off, dHash 32
    assert groups.group([a, b]) == [1, 2]
    assert groups.group([a, b], dhash_threshold=None) == [1, 1]


# --- the labelled set: what "done" says ------------------------------------------------

def test_variants_of_a_photograph_group_together_and_photographs_never_share_a_group():
    made, hs = labelled()
    items = [groups.Item(f"{k:04d}", h.phash, h.dhash, 1) for k, h in enumerate(hs)]
    number = groups.group(items)
    pictures = defaultdict(set)
    for x, g in zip(made, number, strict=True):
        pictures[g].add(x.label)
    assert all(len(p) == 1 for p in pictures.values()), [p for p in pictures.values()
                                                         if len(p) > 1]
    missed = []
    for name, _ in photos():
        ours = [g for x, g in zip(made, number, strict=True) if x.label == name]
        home = ours[0]  # the original's group
        missed += [(name, x.variant) for x, g in zip(made, number, strict=True)
                   if x.label == name and g != home]
        if name != "brick":
            assert ours.count(home) >= len(ours) - 1, (name, ours)
    # brick is a texture: its crops are new arrangements of bricks to any hash; a
    # photograph's variants miss at most one in all (measured: coffee's caption bar +
    # half size + jpeg q30)
    assert len([m for m in missed if m[0] != "brick"]) <= 1, missed
    for x, g in zip(made, number, strict=True):
        if "quarter" in x.label or "mirrored" in x.label:
            orig = number[next(k for k, y in enumerate(made)
                               if y.label == x.label.split(" ")[0] and y.variant == "original")]
            assert g != orig, x.label


def test_scores_at_the_chosen_threshold():
    made, hs = labelled()
    s = variants.scores([x.label for x in made], [h.phash for h in hs],
                        [h.dhash for h in hs], groups.THRESHOLD, groups.DHASH_THRESHOLD)
    assert s.pair_precision == s.group_precision == 1.0
    assert s.mixed_groups == 0
    assert s.group_recall >= 0.9, s
    # and the threshold is not loose: pHash alone a few bits further merges pictures
    loose = variants.scores([x.label for x in made], [h.phash for h in hs],
                            [h.dhash for h in hs], groups.THRESHOLD + 4, None)
    assert loose.mixed_groups > 0


# --- the demo's images ----------------------------------------------------------------

def test_demo_images_group_by_picture():
    media = demo_images.demo_media(7, 30)
    assert {m.kind for m in media} == set(demo_images.KINDS)
    items, shown = [], []
    for m in media:
        data = demo_images.render(m.key)
        with Image.open(io.BytesIO(data)) as im:
            assert Image.MIME[im.format] == m.content_type
            h = hashes.hash_image(im)
        items.append(groups.Item(m.key, h.phash, h.dhash, 1 + m.picture % 3))
        shown.append(m.picture)
    number = groups.group(items)
    by_group, by_picture = defaultdict(set), defaultdict(set)
    for p, g in zip(shown, number, strict=True):
        by_group[g].add(p)
        by_picture[p].add(g)
    assert all(len(s) == 1 for s in by_group.values())
    assert all(len(s) == 1 for s in by_picture.values())
    assert len(by_group) == 30


def test_demo_images_are_the_same_pixels_every_time_and_keys_are_checked():
    k = demo_images.key(3, 4, "caption")
    a = Image.open(io.BytesIO(demo_images.render(k)))
    b = Image.open(io.BytesIO(demo_images.render(k)))
    assert a.tobytes() == b.tobytes()
    assert a.size == (demo_images.SIZE[0], demo_images.SIZE[1] + demo_images.SIZE[1] // 8)
    other = Image.open(io.BytesIO(demo_images.render(demo_images.key(4, 4, "caption"))))
    assert a.tobytes() != other.tobytes()
    for bad in ("demo-s1-p1-sepia", "x", "demo-s1-p1-original/../x", "demo-s-p1-grey"):
        with pytest.raises(ValueError):
            demo_images.render(bad)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGBA", "CMYK", "I;16", "I", "F", "LA",
                                  "HSV", "LAB", "YCbCr"])
def test_every_image_mode_hashes_as_the_picture_it_shows(mode):
    im = variants.rgb(dict(photos())["chelsea"])
    h = hashes.hash_image(im.convert(mode))
    assert hashes.hamming(h.phash, hashes.hash_image(im).phash) <= 4
