"""Images for the demo source: generated, seeded, offline (no corpus, no network), with
the near-duplicates social media makes of them, so a demo search shows image groups.

A picture is a few shapes on a gradient, all drawn from ``random.Random(f"{seed}/{n}")``.
Its variants: the original (PNG), a thumbnail, a low-quality JPEG, a crop of a few
percent, a caption bar above (dark blocks standing in for text, no font involved) and
grey. The pixels are the same on every machine; the encoded bytes can differ with the
zlib and libjpeg that Pillow was built with, so tests compare pixels or hashes, never
the bytes.
"""

from __future__ import annotations

import io
import random
import re
from typing import NamedTuple

from PIL import Image, ImageDraw

from dnflow.media import variants

SIZE = (480, 360)
KINDS = ("original", "thumbnail", "jpeg", "cropped", "caption", "grey")
_KEY = re.compile(r"demo-s(\d{1,9})-p(\d{1,9})-([a-z]+)")


class DemoImage(NamedTuple):
    key: str          # demo-s<seed>-p<picture>-<kind>
    picture: int      # variants of one picture share it
    kind: str
    content_type: str


def key(seed: int, picture: int, kind: str) -> str:
    return f"demo-s{seed}-p{picture}-{kind}"


def _rgb(rng: random.Random) -> tuple[int, int, int]:
    # no near-black or near-white: hashing trims flat bands of those as caption bars,
    # and a crop would trim a generated picture differently from its original
    return rng.randrange(40, 216), rng.randrange(40, 216), rng.randrange(40, 216)


def picture(seed: int, n: int) -> Image.Image:
    """Picture ``n`` of ``seed``: a two-colour gradient and 6 to 10 shapes."""
    rng = random.Random(f"{seed}/{n}")
    w, h = SIZE
    a, b = _rgb(rng), _rgb(rng)
    ramp = Image.linear_gradient("L").resize(SIZE)
    if rng.random() < 0.5:
        ramp = ramp.rotate(90, expand=False)
    img = Image.composite(Image.new("RGB", SIZE, a), Image.new("RGB", SIZE, b), ramp)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(6, 10)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(w // 8, w // 2), y0 + rng.randint(h // 8, h // 2)
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "polygon":
            d.polygon([(rng.randrange(w), rng.randrange(h)) for _ in range(3)], fill=_rgb(rng))
        else:
            getattr(d, shape)((x0, y0, x1, y1), fill=_rgb(rng))
    return img


def _caption(img: Image.Image) -> Image.Image:
    w, h = img.size
    bar = h // 8
    out = Image.new("RGB", (w, h + bar), (255, 255, 255))
    out.paste(img, (0, bar))
    d = ImageDraw.Draw(out)
    x = w // 20
    for word in (5, 3, 7, 4):  # "words": black blocks on the white bar
        d.rectangle((x, bar // 3, x + word * 8, bar * 2 // 3), fill=(0, 0, 0))
        x += word * 8 + 10
    return out


_MAKE = {
    "original": lambda im: im,
    "thumbnail": lambda im: variants.resize(im, 150),
    "jpeg": lambda im: im,  # encoded at quality 25 below
    "cropped": lambda im: variants.crop(im, .03, .03, .03, .03),
    "caption": _caption,
    "grey": variants.grey,
}


def demo_media(seed: int, pictures: int) -> list[DemoImage]:
    """Every image of ``pictures`` pictures: picture n has the first ``1 + n % 6``
    kinds, so some pictures are shared in many variants and some in one."""
    out = []
    for n in range(pictures):
        for kind in KINDS[:1 + n % len(KINDS)]:
            mime = "image/jpeg" if kind in ("jpeg", "thumbnail") else "image/png"
            out.append(DemoImage(key(seed, n, kind), n, kind, mime))
    return out


def render(image_key: str) -> bytes:
    """The encoded image of a key made by ``key`` (ValueError for any other text)."""
    m = _KEY.fullmatch(image_key)
    if not m or m[3] not in _MAKE:
        raise ValueError(f"not a demo image key: {image_key!r}")
    img = _MAKE[m[3]](picture(int(m[1]), int(m[2])))
    buf = io.BytesIO()
    if m[3] in ("jpeg", "thumbnail"):
        variants.rgb(img).save(buf, "JPEG", quality=25 if m[3] == "jpeg" else 80)
    else:
        img.save(buf, "PNG")
    return buf.getvalue()
