"""Face matching: which detection is which known face, by box overlap (IoU).

Used where a proposer's detections must land on faces the app already knows
(a dataset's ground-truth faces when proposals are stored, the ground-truth
face of a benchmark sample when a proposer is evaluated). Boxes are
(x0, y0, x1, y1) pixels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

MIN_IOU = 0.3


def box_iou(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """(len(a), len(b)) intersection over union of two lists of boxes; 0 where a
    union is empty (degenerate boxes)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def match_boxes(
    known: Sequence[Sequence[float]], detected: Sequence[Sequence[float]], min_iou: float = MIN_IOU
) -> list[int | None]:
    """For each detected box, the index of the known box it matches, or None.

    Greedy by IoU, best pair first: each known box takes at most one detection,
    and pairs overlapping less than min_iou never match. Ties go to the higher
    known index, then the higher detection index (a fixed order, so the same
    input always gives the same answer)."""
    out: list[int | None] = [None] * len(detected)
    if not len(known) or not len(detected):
        return out
    iou = box_iou(known, detected)
    ki, di = np.meshgrid(np.arange(iou.shape[0]), np.arange(iou.shape[1]), indexing="ij")
    order = np.lexsort((-di.ravel(), -ki.ravel(), -iou.ravel()))
    used: set[int] = set()
    for k, d, v in zip(ki.ravel()[order], di.ravel()[order], iou.ravel()[order]):
        if v < min_iou:
            break
        if out[d] is None and k not in used:
            out[d] = int(k)
            used.add(k)
    return out


def match_one(known_box: Sequence[float], detected: Sequence[Sequence[float]], min_iou: float = MIN_IOU) -> int | None:
    """The index of the detection that matches one known box, or None."""
    return next((d for d, k in enumerate(match_boxes([known_box], detected, min_iou)) if k is not None), None)
