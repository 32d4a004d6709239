"""Crop rules against their published arithmetic, written out independently."""

import cv2
import numpy as np
import pytest

from workers.core.proposers.parts import crops


def test_3ddfa_box_rule():
    # box 100 wide, 140 high: mean side 120 -> square of 1.58 * 120, centre 0.14 * 120 lower
    roi = crops.box_square_3ddfa([50, 60, 150, 200])
    side = 1.58 * 120
    cx, cy = 100, 130 + 0.14 * 120
    np.testing.assert_allclose(roi, [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def test_3ddfa_landmark_rule_is_the_diagonal_of_the_bounding_square():
    rng = np.random.default_rng(0)
    pts = rng.uniform([10, 20], [90, 200], (68, 2))
    roi = crops.landmark_square_3ddfa(pts)
    lo, hi = pts.min(0), pts.max(0)
    longest = (hi - lo).max()
    assert roi[2] - roi[0] == pytest.approx(longest * np.sqrt(2))
    assert roi[3] - roi[1] == pytest.approx(longest * np.sqrt(2))
    np.testing.assert_allclose([(roi[0] + roi[2]) / 2, (roi[1] + roi[3]) / 2], (lo + hi) / 2)


def test_margin_box_grows_and_clamps():
    b = crops.margin_box([100, 100, 200, 150], 0.6, width=250, height=400)
    # 0.6 x 100 = 60 left/right, 0.6 x 50 = 30 up/down; right edge clamped to the image
    # (bounds [x0, x1) of whole pixels)
    np.testing.assert_array_equal(b, [40, 70, 250, 181])


def test_hopenet_rule_on_pt2d_with_invisible_points():
    pt2d = np.array([[100, 120, 200, -1], [150, 250, 180, 452]], dtype=float)  # (2, N), one invisible point
    b = crops.aflw_pt2d_box(pt2d)
    x_min, y_min, x_max, y_max = -1.0, 150.0, 200.0, 452.0  # the invisible marker counts, as in HopeNet
    x_min -= 0.4 * (x_max - x_min)
    y_min -= 0.4 * (y_max - y_min)
    x_max += 0.4 * (x_max - x_min)
    y_max += 0.12 * (y_max - y_min)
    np.testing.assert_array_equal(b, [int(x_min), int(y_min), int(x_max), int(y_max)])


def test_crop_box_equals_cutting_and_resizing_on_whole_pixels():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    box = [20, 10, 100, 90]  # 80 x 80 pixels, whole-pixel edges
    # pixel-centre coordinates: pixels 20..99 span [19.5, 99.5]
    ours = crops.crop_box(img, [box[0] - 0.5, box[1] - 0.5, box[2] - 0.5, box[3] - 0.5], 40)
    ref = cv2.resize(img[10:90, 20:100], (40, 40), interpolation=cv2.INTER_LINEAR)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_crop_outside_the_image_is_black_and_points_map_back():
    img = np.full((50, 50, 3), 200, np.uint8)
    out = crops.crop_box(img, [-50, -50, 50, 50], 100)
    assert out[:40, :40].max() == 0 and out[60:90, 60:90].min() == 200
    # image pixel (10, 20) lies at crop pixel (60, 70) for this 1:1 crop
    np.testing.assert_allclose(crops.crop_to_image([[60.0, 70.0]], [-50.5, -50.5, 49.5, 49.5], 100), [[10, 20]])


def test_centre_square():
    np.testing.assert_allclose(crops.centre_square([0, 0, 100, 60]), [20, 0, 80, 60])


def test_tight_face_box_prefers_the_68_landmarks():
    class Face:
        box = (0.0, 0.0, 100.0, 100.0)
        landmarks68 = np.array([[10, 20, 0], [50, 80, 1], [30, 40, 2]], float)

    np.testing.assert_allclose(crops.tight_face_box(Face()), [10, 20, 50, 80])
    Face.landmarks68 = None
    np.testing.assert_allclose(crops.tight_face_box(Face()), [0, 0, 100, 100])


@pytest.mark.parametrize("box", [[0, 0, 0, 10], [5, 5, 1, 9], [0, 0, np.nan, 1], [1, 2, 3]])
def test_bad_boxes_raise_a_clear_error(box):
    with pytest.raises(crops.CropError):
        crops.box_square_3ddfa(box)


def test_bad_landmarks_raise():
    with pytest.raises(crops.CropError):
        crops.landmark_square_3ddfa(np.zeros((5, 2)))
    with pytest.raises(crops.CropError):
        crops.landmark_square_3ddfa(np.zeros(5))
