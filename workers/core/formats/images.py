"""Image decoding/validation (Pillow) and the plain image-folder reader.

`decode_image` runs Pillow's `verify()` (structure, CRCs) and then a full decode
(`load()`), which is what catches a truncated JPEG. Accepted formats: JPEG, PNG,
WebP, whatever the file name says. Note: if some other code sets Pillow's global
`ImageFile.LOAD_TRUNCATED_IMAGES = True`, Pillow itself stops reporting
truncation; nothing in this project does.

A plain folder (or zip) of images yields one `Sample` per image with no faces
and K = geometry.default_intrinsics(w, h) (fx = fy = width, centred).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from .. import geometry
from .archive import Limits, SourceLike, is_ignored, opened, suffix
from .records import FormatError, Record, Sample, SampleError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # Pillow's own bomb threshold


class ImageError(FormatError):
    pass


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Validate and fully decode; returns the loaded PIL image or raises `ImageError`."""
    if not data:
        raise ImageError(f"{name}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            if fmt not in _FORMATS:
                raise ImageError(f"{name}: unsupported image format {fmt} (use JPEG, PNG or WebP)")
            w, h = probe.size
            if w <= 0 or h <= 0 or w * h > max_pixels:
                raise ImageError(f"{name}: {w}x{h} pixels is outside the accepted size (at most {max_pixels:,} pixels)")
            probe.verify()
            img = Image.open(io.BytesIO(data))
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        text = str(exc)
        if "truncated" in text.lower():
            raise ImageError(f"{name}: the image file is truncated ({text})") from None
        raise ImageError(f"{name}: corrupt image ({text})") from None
    return img


def image_size(data: bytes, name: str = "image") -> tuple[int, int]:
    img = decode_image(data, name)
    return img.size


def encode_png(array_rgb: NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array_rgb)).save(buf, format="PNG")
    return buf.getvalue()


def is_image_name(name: str) -> bool:
    return suffix(name) in IMAGE_SUFFIXES


def image_sample(name: str, data: bytes) -> Sample:
    w, h = image_size(data, name)
    return Sample(name=name, image_bytes=data, width=w, height=h, K=geometry.default_intrinsics(w, h))


def iter_samples(source: SourceLike, limits: Limits | None = None) -> Iterator[Record]:
    with opened(source, limits) as src:
        yield from src.rejected
        for name in src.names():
            if not is_image_name(name):
                yield SampleError(
                    name,
                    f"{name}: unsupported file type '{suffix(name) or 'none'}' (expected .jpg, .jpeg, .png or .webp)",
                )
                continue
            try:
                yield image_sample(name, src.read(name))
            except FormatError as exc:
                yield SampleError(name, str(exc))


def count(source: SourceLike, limits: Limits | None = None) -> int:
    with opened(source, limits) as src:
        return len(src.rejected) + len([n for n in src.names() if not is_ignored(n)])
