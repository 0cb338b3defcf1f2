"""The near-duplicates social media makes of a picture, and a labelled set built from
them: what the matching threshold is chosen on (bench/media.py) and tested with
(tests/test_media_match.py).

Same picture: resized, re-encoded as JPEG at low quality, cropped by a few percent, a
caption bar, a watermark, a white frame or black side bars added, turned to grey, and
combinations of those. A
different picture: another photograph, a quarter of a photograph (a detail is a picture
of its own, and no perceptual hash sees a quarter as its whole), and a mirror image
(reposted mirrored to dodge matching: pHash sees another picture, so it is labelled one;
dnflow does not claim to group those).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageOps

Variant = Callable[[Image.Image], Image.Image]


def rgb(img: Image.Image) -> Image.Image:
    return img.convert("RGB") if img.mode != "RGB" else img


def resize(img: Image.Image, longest: int) -> Image.Image:
    """Scaled so that its longest side is ``longest`` (up or down)."""
    w, h = img.size
    f = longest / max(w, h)
    return img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BICUBIC)


def scale(img: Image.Image, f: float) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """Re-encoded as a JPEG at ``quality`` and decoded again."""
    buf = io.BytesIO()
    rgb(img).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """Cut off these fractions of the width/height on each side."""
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def caption_bar(img: Image.Image, frac: float = 0.12, top: bool = True,
                text: str = "when you see it") -> Image.Image:
    """A white bar with black text added above (or below) the picture, as meme
    generators and reposting accounts do: the image gets taller."""
    img = rgb(img)
    w, h = img.size
    bar = max(8, round(h * frac))
    out = Image.new("RGB", (w, h + bar), (255, 255, 255))
    out.paste(img, (0, bar if top else 0))
    d = ImageDraw.Draw(out)
    y = 0 if top else h
    d.text((w // 20, y + bar // 3), text, fill=(0, 0, 0))
    return out


def watermark(img: Image.Image, text: str = "@reposter") -> Image.Image:
    """Half-transparent text and a box in the bottom right corner."""
    img = rgb(img).convert("RGBA")
    w, h = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    box = (round(w * 0.62), round(h * 0.88), round(w * 0.97), round(h * 0.97))
    d.rectangle(box, fill=(255, 255, 255, 110))
    d.text((box[0] + 4, box[1] + 2), text, fill=(0, 0, 0, 200))
    return Image.alpha_composite(img, layer).convert("RGB")


def frame(img: Image.Image, frac: float = 0.1, colour=(255, 255, 255)) -> Image.Image:
    """A flat border of ``frac`` of the width and height on every side."""
    img = rgb(img)
    w, h = img.size
    dw, dh = round(w * frac), round(h * frac)
    out = Image.new("RGB", (w + 2 * dw, h + 2 * dh), colour)
    out.paste(img, (dw, dh))
    return out


def pillarbox(img: Image.Image, aspect: float = 16 / 9) -> Image.Image:
    """Black bars left and right up to ``aspect`` (width / height), as a video frame or
    a platform's fixed-shape preview shows a narrower picture."""
    img = rgb(img)
    w, h = img.size
    out = Image.new("RGB", (max(w, round(h * aspect)), h), (0, 0, 0))
    out.paste(img, ((out.width - w) // 2, 0))
    return out


def grey(img: Image.Image) -> Image.Image:
    return img.convert("L")


def mirror(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def quarter(img: Image.Image, i: int) -> Image.Image:
    """Quarter ``i`` (0 top left, 1 top right, 2 bottom left, 3 bottom right)."""
    w, h = img.size
    x, y = (i % 2) * w // 2, (i // 2) * h // 2
    return img.crop((x, y, x + w // 2, y + h // 2))


#: The same picture, as social media passes it on. Names say what was done.
SAME: dict[str, Variant] = {
    "original": lambda im: im,
    "half size": lambda im: scale(im, 0.5),
    "thumbnail 150": lambda im: resize(im, 150),
    "upscaled 1.5x": lambda im: scale(im, 1.5),
    "jpeg q30": lambda im: jpeg(im, 30),
    "jpeg q10": lambda im: jpeg(im, 10),
    "cropped 3% each side": lambda im: crop(im, .03, .03, .03, .03),
    "cropped 5% left and top": lambda im: crop(im, .05, .05, 0, 0),
    "cropped 8% bottom": lambda im: crop(im, 0, 0, 0, .08),
    "caption bar above": lambda im: caption_bar(im),
    "caption bar below": lambda im: caption_bar(im, 0.10, top=False),
    "watermark": watermark,
    "white frame": frame,
    "pillarboxed to 16:9": pillarbox,
    "grey": grey,
    "thumbnail 320 + jpeg q40": lambda im: jpeg(resize(im, 320), 40),
    "grey + cropped 3% + jpeg q50": lambda im: jpeg(crop(grey(im), .03, .03, .03, .03), 50),
    "caption bar + half size + jpeg q30": lambda im: jpeg(scale(caption_bar(im), .5), 30),
    "watermark + cropped 5% + jpeg q20": lambda im: jpeg(crop(watermark(im), .05, 0, 0, .05), 20),
    "white frame + jpeg q10": lambda im: jpeg(frame(im), 10),
    "pillarboxed + thumbnail 320 + jpeg q30": lambda im: jpeg(resize(pillarbox(im), 320), 30),
}

#: Kept for a quarter (a picture of its own): fewer, to keep the set's pairs balanced.
SAME_FOR_QUARTERS = ("original", "thumbnail 150", "jpeg q30")


class Labelled(NamedTuple):
    label: str      # the picture: two images with the same label are the same picture
    variant: str    # what was done to it
    image: Image.Image


def labelled_set(photos: Iterable[tuple[str, Image.Image]],
                 quarters_of: Callable[[str], bool] = lambda name: True) -> list[Labelled]:
    """Every variant of every photograph, and the different pictures made from each
    (its mirror image, and its quarters for the names ``quarters_of`` accepts)."""
    out: list[Labelled] = []
    for name, img in photos:
        img = rgb(img)
        out += [Labelled(name, v, f(img)) for v, f in SAME.items()]
        out.append(Labelled(f"{name} mirrored", "original", mirror(img)))
        if quarters_of(name):
            for i in range(4):
                q = quarter(img, i)
                out += [Labelled(f"{name} quarter {i}", v, SAME[v](q)) for v in SAME_FOR_QUARTERS]
    return out


class Scores(NamedTuple):
    """Precision and recall over pairs of images: "same picture" is the label, the
    prediction either one link (``pairs``) or one group (``groups``, links chained)."""
    pair_precision: float
    pair_recall: float
    group_precision: float
    group_recall: float
    mixed_groups: int   # groups holding more than one picture
    groups: int


def _pr(pred, same) -> tuple[float, float]:
    tp = int((pred & same).sum())
    fp = int((pred & ~same).sum())
    fn = int((~pred & same).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def scores(labels: list[str], phash: list[int], dhash: list[int], threshold: int,
           dhash_threshold: int | None) -> Scores:
    """How well ``groups.near_pairs``/``groups.components`` at these thresholds find the
    labelled pictures, over every pair of images."""
    import numpy as np

    from dnflow.media.groups import as_array, components, near_pairs

    n = len(labels)
    lab = np.array(labels)
    i, j = np.triu_indices(n, 1)
    same = lab[i] == lab[j]
    pairs = near_pairs(as_array(phash), as_array(dhash), threshold, dhash_threshold)
    linked = np.zeros(len(i), dtype=bool)
    # index of pair (a, b), a < b, in triu order
    a, b = pairs[:, 0], pairs[:, 1]
    linked[a * n - a * (a + 1) // 2 + b - a - 1] = True
    roots = components(n, pairs)
    together = roots[i] == roots[j]
    members: dict[int, set[str]] = {}
    for r, label in zip(roots.tolist(), labels, strict=True):
        members.setdefault(r, set()).add(label)
    return Scores(*_pr(linked, same), *_pr(together, same),
                  sum(len(s) > 1 for s in members.values()), len(members))
