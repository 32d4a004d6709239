"""Face matching (workers/core/matching.py): detections to known faces by IoU."""

import numpy as np
import pytest

from workers.core.matching import MIN_IOU, box_iou, match_boxes, match_one


def reference_match(known, detected, min_iou=MIN_IOU):
    """The greedy matching written out pair by pair (as the app did before it moved to the core)."""

    def iou(a, b):
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    pairs = sorted(((iou(k, d), ki, di) for ki, k in enumerate(known) for di, d in enumerate(detected)), reverse=True)
    out, used = [None] * len(detected), set()
    for v, ki, di in pairs:
        if v < min_iou:
            break
        if out[di] is None and ki not in used:
            out[di] = ki
            used.add(ki)
    return out


def test_iou_of_known_boxes():
    a = [(0, 0, 10, 10)]
    b = [(0, 0, 10, 10), (5, 0, 15, 10), (10, 10, 20, 20), (20, 20, 30, 30), (2, 2, 4, 4)]
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0, 0.0, 4 / 100]])
    assert box_iou(a, []).shape == (1, 0)
    assert box_iou([(3, 3, 3, 3)], [(3, 3, 3, 3)])[0, 0] == 0.0  # empty union: no overlap, no NaN


def test_each_detection_lands_on_the_face_it_overlaps_most():
    known = [(0, 0, 100, 100), (200, 0, 300, 100)]
    detected = [(205, 5, 305, 105), (400, 0, 500, 100), (-5, 0, 95, 100)]
    assert match_boxes(known, detected) == [1, None, 0]
    assert match_one(known[0], detected) == 2
    assert match_one((1000, 1000, 1100, 1100), detected) is None


def test_a_face_takes_one_detection_the_best_one():
    known = [(0, 0, 100, 100)]
    detected = [(10, 10, 110, 110), (0, 0, 100, 100)]
    assert match_boxes(known, detected) == [None, 0]


def test_overlap_below_the_threshold_never_matches():
    known = [(0, 0, 100, 100)]
    detected = [(60, 0, 160, 100)]  # IoU 40 / 160 = 0.25
    assert match_boxes(known, detected) == [None]
    assert match_boxes(known, detected, min_iou=0.2) == [0]


def test_empty_inputs():
    assert match_boxes([], [(0, 0, 1, 1)]) == [None]
    assert match_boxes([(0, 0, 1, 1)], []) == []
    assert match_one((0, 0, 1, 1), []) is None


@pytest.mark.parametrize("seed", range(20))
def test_it_agrees_with_the_pairwise_greedy_matching(seed):
    rng = np.random.default_rng(seed)

    def boxes(n):
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(20, 120, (n, 2))
        return [tuple(b) for b in np.hstack([xy, xy + wh]).round(0)]  # rounded: ties happen

    known, detected = boxes(rng.integers(0, 6)), boxes(rng.integers(0, 6))
    assert match_boxes(known, detected) == reference_match(known, detected)
