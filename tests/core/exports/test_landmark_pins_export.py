"""Landmark pins (workers/core/landmark_pins.py) in the `json` export, and the
rules every stored pin list obeys."""

import io
import json

import pytest

from workers.core.exports import write_export
from workers.core.label_rows import ExportError
from workers.core.landmark_pins import LandmarkPinsError, check_landmark_pins

from .factories import META, random_rows


def test_pins_are_exported_with_their_face_and_empty_elsewhere():
    rows = random_rows(4, seed=3)
    rows[1].landmark_pins = [{"index": 45, "x": 101.25, "y": 80.5}, {"index": 8, "x": 99.0, "y": 150.75}]
    out = io.BytesIO()
    write_export("json", rows, out, META)
    faces = json.loads(out.getvalue())["faces"]
    assert faces[1]["landmark_pins"] == [{"index": 8, "x": 99.0, "y": 150.75}, {"index": 45, "x": 101.25, "y": 80.5}]
    assert all(f["landmark_pins"] == [] for i, f in enumerate(faces) if i != 1)


def test_a_row_with_bad_pins_is_refused_naming_the_face():
    rows = random_rows(2, seed=4)
    rows[0].landmark_pins = [{"index": 99, "x": 1.0, "y": 2.0}]
    with pytest.raises(ExportError, match=rows[0].image):
        write_export("json", rows, io.BytesIO(), META)


@pytest.mark.parametrize(
    "pins, says",
    [
        ("abc", "list"),
        ([{"index": 68, "x": 1, "y": 1}], "0..67"),
        ([{"index": -1, "x": 1, "y": 1}], "0..67"),
        ([{"index": True, "x": 1, "y": 1}], "0..67"),
        ([{"index": 2.0, "x": 1, "y": 1}], "0..67"),
        ([{"index": 2, "x": "1", "y": 1}], "a number"),
        ([{"index": 2, "x": float("nan"), "y": 1}], "finite"),
        ([{"index": 2, "x": 1}], "exactly"),
        ([{"index": 2, "x": 1, "y": 1, "z": 0}], "exactly"),
        ([{"index": 2, "x": 1, "y": 1}, {"index": 2, "x": 3, "y": 1}], "twice"),
        ([{"index": 2, "x": 319.6, "y": 1}], "outside"),
        ([{"index": 2, "x": 1, "y": -0.6}], "outside"),
        ([{"index": i % 68, "x": 1, "y": 1} for i in range(69)], "at most 68"),
    ],
)
def test_bad_pins_are_refused_with_a_reason(pins, says):
    with pytest.raises(LandmarkPinsError, match=says):
        check_landmark_pins(pins, 320, 240)


def test_good_pins_come_back_sorted_and_the_image_edges_are_inside():
    pins = [{"index": 30, "x": 319.5, "y": -0.5}, {"index": 0, "x": 0, "y": 239.5}]
    assert check_landmark_pins(pins, 320, 240) == [
        {"index": 0, "x": 0.0, "y": 239.5},
        {"index": 30, "x": 319.5, "y": -0.5},
    ]
    assert check_landmark_pins(None) == []
