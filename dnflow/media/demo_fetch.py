"""The demo source's media, without the network: each invented URL of a demo search is
answered with one of dnflow.media.demo_images' generated pictures or variants, chosen by
the URL's hash, so ``make site`` downloads, stores, publishes and groups images offline.
A few pictures in many variants: the groups on the page show what matching does."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from dnflow.media.demo_images import DemoImage, demo_media, render
from dnflow.media.fetch import Fetched, Stats

SEED = 12
PICTURES = 8  # 24 images: picture n in 1 + n % 6 variants


@cache
def _images() -> tuple[DemoImage, ...]:
    return tuple(demo_media(SEED, PICTURES))


@cache
def _bytes(key: str) -> bytes:
    return render(key)


def image_for(url: str) -> DemoImage:
    """The generated image an invented URL stands for (the same URL, the same image)."""
    images = _images()
    n = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big")
    return images[n % len(images)]


class DemoFetcher:
    """Fetcher's interface (``get``, ``stats``) over generated images: no request."""

    def __init__(self, *_: Any, **__: Any) -> None:
        self.stats = Stats()

    def get(self, url: str) -> Fetched:
        return Fetched("ok", 200, _bytes(image_for(url).key))
