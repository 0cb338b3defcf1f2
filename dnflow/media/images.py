"""What a downloaded file is, decided by decoding it; and the copy the site publishes.

A file is an image only if Pillow decodes all of it: never because a server said
``image/jpeg``. Decoding is bounded by Pillow's decompression-bomb limit, checked from
the header before any pixel is decoded (Pillow only warns below twice its limit, and
``warnings`` filters are not thread-safe, so the size is checked here).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dnflow import atomic

# formats a page can show; anything else Pillow reads (TIFF, BMP, PSD…) is not a web image
WEB_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# frame-level keys a published copy keeps; everything else (exif, icc_profile, xmp,
# comments, PNG text chunks, dpi…) is left behind
KEEP_INFO = ("transparency", "duration", "loop", "background")


class NotAnImage(ValueError):
    """The bytes are not a whole web image; str() is the reason the index records."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, GIF, WEBP
    ext: str  # the file extension the store gives it
    width: int
    height: int


def max_pixels() -> int:
    """Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, ~89 Mpx)."""
    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def inspect(data: bytes) -> ImageInfo:
    """Decode ``data`` whole: its format and size, or NotAnImage with the reason."""
    info, im = decode(data)
    im.close()
    return info


def decode(data: bytes) -> tuple[ImageInfo, Image.Image]:
    """:func:`inspect`, and the decoded image (the caller closes it): the media job
    publishes its copy from it rather than decoding the stored file again."""
    if not data:
        raise NotAnImage("empty file")
    try:
        im = Image.open(io.BytesIO(data))
        try:
            fmt = im.format or ""
            if fmt not in WEB_FORMATS:
                raise NotAnImage(f"not a web image ({fmt or 'unknown'} format)")
            width, height = im.size
            if width * height > max_pixels():
                raise NotAnImage(f"decompression bomb: {width}x{height} pixels is over "
                                 f"Pillow's limit of {max_pixels():,}")
            im.load()  # every pixel: a truncated file fails here
        except BaseException:
            im.close()
            raise
    except NotAnImage:
        raise
    except Image.DecompressionBombError as e:
        raise NotAnImage(f"decompression bomb: {e}") from None
    except UnidentifiedImageError:
        raise NotAnImage("not an image (Pillow cannot identify it)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise NotAnImage(f"not a complete image ({type(e).__name__}: {e})") from None
    return ImageInfo(fmt, WEB_FORMATS[fmt], width, height), im


def publish(src: Path | Image.Image, dst: Path) -> None:
    """Write ``dst``, the copy of the stored original ``src`` (its file, or the image
    :func:`decode` made of it) the site shows: the same pixels (turned upright as its
    EXIF orientation said), in the same format, without EXIF, GPS, ICC, XMP, comments or
    text chunks. Written atomically."""
    if isinstance(src, Image.Image):
        _publish(src, dst)
        return
    with Image.open(src) as im:
        _publish(im, dst)


def _publish(im: Image.Image, dst: Path) -> None:
    fmt = im.format or "PNG"
    upright = ImageOps.exif_transpose(im)  # a copy: the orientation is in the pixels
    clean = upright.copy()
    clean.info = {k: v for k, v in upright.info.items() if k in KEEP_INFO}
    buf = io.BytesIO()
    if fmt == "JPEG":
        clean.save(buf, "JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        clean.save(buf, "WEBP", quality=90)
    else:  # PNG, GIF (the first frame: a post's GIF reaches dnflow as a still preview)
        clean.save(buf, fmt)
    atomic.write_bytes(dst, buf.getvalue())
