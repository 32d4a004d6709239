"""The texture of a face mesh: a square crop of the image around the landmarks.

UV convention here is glTF's: u = 0 at the left edge of the texture, v = 0 at the
TOP edge (glTF images are stored top row first and sampled with v growing
downward). Pixel (0, 0) is the centre of the top-left pixel, so a square crop of
side S pixels starting at integer pixel (x0, y0) covers the continuous span
[x0 - 0.5, x0 + S - 0.5] and a landmark at x has u = (x - x0 + 0.5) / S.
Resizing the crop to the texture size keeps that mapping (edges map to edges).
"""

from __future__ import annotations

from typing import NamedTuple, cast

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image

from workers.core.meshing.schemes import MeshingError


class FaceTexture(NamedTuple):
    image: Image.Image  # RGB, size x size
    uv: NDArray[np.float64]  # (N, 2) float64 in [0, 1], glTF convention (v = 0 at top)
    crop: tuple[int, int, int]  # (x0, y0, side): the crop in image pixels


def square_crop(landmarks_2d: ArrayLike, margin: float = 0.2) -> tuple[int, int, int]:
    """(x0, y0, side) integers: the landmarks' bounding square, grown by `margin`
    of its side on every side."""
    p = np.asarray(landmarks_2d, dtype=np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    centre = (lo + hi) / 2
    side = int(np.ceil(max(hi - lo) * (1 + 2 * margin))) + 2  # +2: landmarks never on the edge
    x0 = int(np.floor(centre[0] - side / 2 + 0.5))
    y0 = int(np.floor(centre[1] - side / 2 + 0.5))
    return x0, y0, side


def _cut(image: NDArray[np.uint8], x0: int, y0: int, side: int) -> NDArray[np.uint8]:
    """The crop, with the image's border pixels repeated where it leaves the image."""
    h, w = image.shape[:2]
    xa, ya = max(x0, 0), max(y0, 0)
    xb, yb = min(x0 + side, w), min(y0 + side, h)
    if xa >= xb or ya >= yb:
        raise MeshingError("the face crop lies entirely outside the image")
    part = image[ya:yb, xa:xb]
    pads = (ya - y0, y0 + side - yb, xa - x0, x0 + side - xb)
    if any(pads):
        # cv2 returns the input's dtype (its stubs say any integer or float array)
        part = cast("NDArray[np.uint8]", cv2.copyMakeBorder(part, *pads, borderType=cv2.BORDER_REPLICATE))
    return part


def face_texture(
    image_bgr: NDArray[np.uint8], landmarks_2d: ArrayLike, margin: float = 0.2, max_size: int = 512
) -> FaceTexture:
    """Crop, shrink to at most max_size pixels a side (never enlarged), compute UVs."""
    img = np.asarray(image_bgr)
    if img.ndim == 2:
        img = cast("NDArray[np.uint8]", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))  # cv2 keeps the dtype
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
        raise MeshingError(f"expected an 8-bit BGR image (H, W, 3), got {img.dtype} {img.shape}")
    if img.shape[2] == 4:
        img = img[:, :, :3]
    p = np.asarray(landmarks_2d, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0 or not np.all(np.isfinite(p)):
        raise MeshingError("landmarks_2d must be a non-empty (N, 2) array of finite pixels")
    if max_size < 8:
        raise MeshingError("max_size must be at least 8 pixels")
    x0, y0, side = square_crop(p, margin)
    crop = _cut(img, x0, y0, side)
    size = min(side, int(max_size))
    if size != side:
        crop = cast("NDArray[np.uint8]", cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))  # same dtype
    uv = (p - np.array([x0, y0]) + 0.5) / side
    rgb = Image.fromarray(np.ascontiguousarray(crop[:, :, ::-1]))
    return FaceTexture(image=rgb, uv=uv, crop=(x0, y0, side))
