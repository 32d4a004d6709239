"""Crop rules of the pose networks, numpy + OpenCV.

Boxes are (x0, y0, x1, y1) in pixels with OpenCV pixel centres ((0, 0) is the
centre of the top-left pixel). Each network was trained on crops made one
particular way; a different crop costs degrees of accuracy, so every rule is
named and kept here, with the source it reproduces.

- `box_square_3ddfa`: 3DDFA-V2 from a detector box: a square of side
  1.58 x mean(w, h), centre moved down by 0.14 x mean(w, h).
- `landmark_square_3ddfa`: 3DDFA-V2 from 68 landmarks: the bounding square of
  the landmarks (side = the longer extent), enlarged to its own diagonal.
- `margin_box`: FSA-Net (0.6 of the box size added on every side) and similar
  detector-box margins, clamped to the image.
- `hopenet_box` / `aflw_pt2d_box`: the HopeNet / 6DRepNet AFLW2000 test crop
  (on any tight face box / from the benchmark's `pt2d`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # annotations only: detection loads the reference face
    from workers.core.proposers.parts.detection import DetectedFace

Size = int | tuple[int, int]
"""A crop size: one side, or (width, height)."""


class CropError(ValueError):
    """A box or landmark set that no crop can be made from."""


def _as_box(box: ArrayLike) -> NDArray[np.float64]:
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise CropError(f"a box is 4 finite numbers (x0, y0, x1, y1), got {box!r}")
    if b[2] <= b[0] or b[3] <= b[1]:
        raise CropError(f"box {b.tolist()} has no area (need x1 > x0 and y1 > y0)")
    return b


def box_square_3ddfa(box: ArrayLike, scale: float = 1.58, shift_down: float = 0.14) -> NDArray[np.float64]:
    x0, y0, x1, y1 = _as_box(box)
    size = (x1 - x0 + y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + shift_down * size
    half = scale * size / 2
    return np.array([cx - half, cy - half, cx + half, cy + half])


def landmark_square_3ddfa(points: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or len(p) < 2 or not np.all(np.isfinite(p[:, :2])):
        raise CropError(f"landmarks must be a finite (N, 2) array with N >= 2, got shape {p.shape}")
    lo, hi = p[:, :2].min(0), p[:, :2].max(0)
    side = float((hi - lo).max())
    if side <= 0:
        raise CropError("landmarks all fall on one point")
    half = side * np.sqrt(2) / 2  # half the diagonal of the bounding square
    cx, cy = (lo + hi) / 2
    return np.array([cx - half, cy - half, cx + half, cy + half])


def margin_box(
    box: Sequence[float] | NDArray[np.float64], margin: float, width: int, height: int
) -> NDArray[np.float64]:
    """Box grown by `margin` x its own width/height on every side, clamped to the
    image; integer pixel bounds (inclusive x0, y0; exclusive x1, y1)."""
    x0, y0, x1, y1 = _as_box(box)
    w, h = x1 - x0, y1 - y0
    xa, ya = max(int(x0 - margin * w), 0), max(int(y0 - margin * h), 0)
    xb, yb = min(int(x1 + margin * w), width - 1) + 1, min(int(y1 + margin * h), height - 1) + 1
    if xb <= xa or yb <= ya:
        raise CropError(f"box {list(box)} lies outside the {width}x{height} image")
    return np.array([xa, ya, xb, yb], dtype=np.float64)


def hopenet_box(box: ArrayLike, k: float = 0.2) -> NDArray[np.float64]:
    """The HopeNet / 6DRepNet AFLW2000 test margins on a tight face box:
    2k w left, 2k h up, 2k x (new width) right, 0.6k x (new height) down,
    truncated to whole pixels; not clamped (PIL's crop, used by the reference
    code, pads with black)."""
    x_min, y_min, x_max, y_max = _as_box(box)
    x_min -= 2 * k * abs(x_max - x_min)
    y_min -= 2 * k * abs(y_max - y_min)
    x_max += 2 * k * abs(x_max - x_min)
    y_max += 0.6 * k * abs(y_max - y_min)
    return _as_box([int(x_min), int(y_min), int(x_max), int(y_max)])


def aflw_pt2d_box(pt2d: ArrayLike) -> NDArray[np.float64]:
    """HopeNet/6DRepNet AFLW2000 benchmark crop: `hopenet_box` of the min/max of
    ALL pt2d points, the (-1, 452) markers of invisible points included, as the
    reference code does."""
    p = np.asarray(pt2d, dtype=np.float64)
    if p.ndim != 2 or 2 not in p.shape:
        raise CropError(f"pt2d must be (2, N) or (N, 2), got {p.shape}")
    if p.shape[0] == 2 and p.shape[1] != 2:
        p = p.T
    return hopenet_box([*p.min(0), *p.max(0)])


def centre_square(box: ArrayLike) -> NDArray[np.float64]:
    """The largest square centred in `box` (torchvision Resize + CenterCrop of a
    box-shaped crop keeps exactly this part)."""
    x0, y0, x1, y1 = _as_box(box)
    half = min(x1 - x0, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([cx - half, cy - half, cx + half, cy + half])


def crop_box(image: NDArray[np.uint8], roi: ArrayLike, size: Size) -> NDArray[np.uint8]:
    """Resample `roi` (may reach outside the image: black there) to size x size
    (or size=(w, h)), bilinear. Equivalent to cutting the box out and
    cv2.resize-ing it, without rounding the box to whole pixels."""
    x0, y0, x1, y1 = _as_box(roi)
    if isinstance(size, int) or np.isscalar(size):  # isinstance first: the else branch is then a pair
        w = h = int(size)
    else:
        w, h = int(size[0]), int(size[1])
    a = (x1 - x0) / w
    b = (y1 - y0) / h
    # crop pixel j covers [x0 + j a, x0 + (j + 1) a]: its centre is x0 + (j + 0.5) a
    M = np.array([[a, 0, x0 + 0.5 * a], [0, b, y0 + 0.5 * b]])
    out = cv2.warpAffine(
        image,
        M,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return cast("NDArray[np.uint8]", out)  # cv2 keeps the dtype (its stubs say any number array)


def crop_to_image(points_crop: ArrayLike, roi: ArrayLike, size: Size) -> NDArray[np.float64]:
    """Points in a `crop_box` crop's pixels -> image pixels (inverse map)."""
    x0, y0, x1, y1 = _as_box(roi)
    w, h = (size, size) if isinstance(size, int) or np.isscalar(size) else (size[0], size[1])
    p = np.asarray(points_crop, dtype=np.float64)
    scale = np.array([(x1 - x0) / w, (y1 - y0) / h])
    out: NDArray[np.float64] = (p + 0.5) * scale + np.array([x0, y0])
    return out


def crop_pixels(image: NDArray[np.uint8], box_int: ArrayLike, size: tuple[int, int]) -> NDArray[np.uint8]:
    """Cut integer bounds [x0, x1) x [y0, y1) out and resize to size=(w, h) with
    cv2.resize (the FSA-Net / HopeNet way; the aspect ratio is not kept)."""
    x0, y0, x1, y1 = (int(v) for v in _as_box(box_int))
    patch = image[y0:y1, x0:x1]
    if patch.size == 0:
        raise CropError(f"box {[x0, y0, x1, y1]} is empty inside the image")
    out = cv2.resize(patch, tuple(size), interpolation=cv2.INTER_LINEAR)
    return cast("NDArray[np.uint8]", out)  # cv2 keeps the dtype


def normalise(
    crops: ArrayLike, mean: Sequence[float], std: Sequence[float], to_rgb: bool = False
) -> NDArray[np.float32]:
    """(N, H, W, 3) uint8 BGR -> (N, 3, H, W) float32 (x - mean) / std."""
    x = np.asarray(crops, dtype=np.float32)
    if to_rgb:
        x = x[..., ::-1]
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def tight_face_box(face: DetectedFace) -> NDArray[np.float64]:
    """The tight box the landmark-trained networks expect: the bounding box of
    the face's 68 landmarks when the detector gave them, else its box."""
    lm = getattr(face, "landmarks68", None)
    if lm is not None and np.all(np.isfinite(lm)):
        lm = np.asarray(lm)[:, :2]
        lo, hi = lm.min(0), lm.max(0)
        if np.all(hi > lo):
            return np.array([lo[0], lo[1], hi[0], hi[1]])
    return _as_box(face.box)
