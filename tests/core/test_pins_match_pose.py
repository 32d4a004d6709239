"""A label's landmark pins against its pose (workers/core/landmark_pins.py): the
reprojection RMSE at the pose, the limit in mm on the head at its depth with a
floor in pixels, and the refusal naming both."""

import re
from pathlib import Path

import numpy as np
import pytest

from workers.core import geometry
from workers.core.landmark_pins import (
    PINS_MATCH_FLOOR_PX,
    PINS_MATCH_LIMIT_MM,
    LandmarkPinsError,
    check_pins_match_pose,
    pins_fit,
)
from workers.core.proposers.parts.reference_face import load_reference_face

MODEL = load_reference_face().points68
K = geometry.default_intrinsics(640, 480)
R = geometry.euler_to_matrix([20.0, -10.0, 5.0])
T = np.array([10.0, -5.0, 600.0])
WELL_PLACED = [36, 39, 42, 45, 30, 48, 54, 8]


def pins_at(R, t, indexes=WELL_PLACED, off=(0.0, 0.0)):
    uv = geometry.project(MODEL[indexes], R, t, K)
    return [{"index": i, "x": float(x + off[0]), "y": float(y + off[1])} for i, (x, y) in zip(indexes, uv)]


def test_pins_where_the_pose_puts_them_match_and_no_pins_always_do():
    fit = check_pins_match_pose(pins_at(R, T), R, T, K, MODEL)
    assert fit.matches and fit.count == 8 and fit.rmse_px < 1e-9
    assert pins_fit([], R, T, K, MODEL).matches


def test_the_rmse_is_in_pixels_and_in_mm_on_the_head_and_the_limit_follows_the_depth():
    fit = pins_fit(pins_at(R, T, off=(3.0, 4.0)), R, T, K, MODEL)
    assert fit.rmse_px == pytest.approx(5.0)
    assert fit.rmse_mm == pytest.approx(5.0 * T[2] / K[0, 0])
    assert fit.limit_px == pytest.approx(max(PINS_MATCH_FLOOR_PX, PINS_MATCH_LIMIT_MM * K[0, 0] / T[2]))
    far = T * [1, 1, 20]  # a face so small that a pin's own placement dominates: the floor
    assert pins_fit(pins_at(R, far), R, far, K, MODEL).limit_px == PINS_MATCH_FLOOR_PX


def test_a_pose_turned_after_pinning_is_refused_naming_the_rmse_and_the_limit():
    pins = pins_at(R, T)
    turned = geometry.euler_to_matrix([20.0, -10.0, 35.0])  # rolled 30 degrees
    with pytest.raises(LandmarkPinsError) as err:
        check_pins_match_pose(pins, turned, T, K, MODEL)
    fit = pins_fit(pins, turned, T, K, MODEL)
    assert not fit.matches and fit.rmse_px > fit.limit_px
    assert f"{fit.rmse_px:.1f} px" in str(err.value) and f"limit of {fit.limit_px:.1f} px" in str(err.value)


def test_the_labeling_page_holds_its_saves_to_the_same_limit():
    """static/js/editor/pin_guard.js refuses before the server would (a save is never refused after the fact)."""
    js = (Path(__file__).resolve().parents[2] / "static" / "js" / "editor" / "pin_guard.js").read_text()
    assert float(re.search(r"SERVER_LIMIT_MM = ([0-9.]+)", js).group(1)) == PINS_MATCH_LIMIT_MM
    assert float(re.search(r"SERVER_FLOOR_PX = ([0-9.]+)", js).group(1)) == PINS_MATCH_FLOOR_PX
