"""Landmark pins: the image points an annotator dragged reference-face
landmarks to on the labeling page (static/js/editor/pins.js), saved with the
annotation as evidence a reviewer can check and exported in JSON.

A pin is {"index": iBUG-68 index 0..67, "x": px, "y": px} in OpenCV pixels
(0,0 = the centre of the top-left pixel, so an image W px wide spans
[-0.5, W - 0.5]). At most one pin per landmark, hence at most 68."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.core import bounded_numbers, geometry

LANDMARK_COUNT = 68  # iBUG-68


class LandmarkPinsError(ValueError):
    pass


def check_landmark_pins(value: object, width: float | None = None, height: float | None = None) -> list[dict[str, Any]]:
    """The pins as plain {index, x, y} dicts sorted by index, or LandmarkPinsError
    saying what is wrong. Without width/height the image bounds are not checked."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise LandmarkPinsError("landmark_pins must be a list of {index, x, y}.")
    if len(value) > LANDMARK_COUNT:
        raise LandmarkPinsError(f"landmark_pins holds {len(value)} pins; at most {LANDMARK_COUNT} (one per landmark).")
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for k, pin in enumerate(value):
        if not isinstance(pin, dict) or set(pin) != {"index", "x", "y"}:
            raise LandmarkPinsError(f"landmark_pins[{k}] must be an object with exactly index, x and y.")
        index = pin["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < LANDMARK_COUNT:
            raise LandmarkPinsError(f"landmark_pins[{k}].index must be an integer 0..{LANDMARK_COUNT - 1} (iBUG-68).")
        if index in seen:
            raise LandmarkPinsError(f"landmark_pins pins landmark {index} twice.")
        seen.add(index)
        xy: list[float] = []
        for name, size in (("x", width), ("y", height)):
            try:  # an integer of 400 digits is too large for a float (not a 500)
                v = bounded_numbers.real(pin[name], f"landmark_pins[{k}].{name}")
            except bounded_numbers.NumberError as exc:
                raise LandmarkPinsError(f"{exc} (a pin is in pixels).") from None
            if size is not None and not -0.5 <= v <= size - 0.5:
                raise LandmarkPinsError(
                    f"landmark_pins[{k}].{name} = {v:g} lies outside the image (-0.5 .. {size - 0.5:g} px)."
                )
            xy.append(v)
        out.append({"index": index, "x": xy[0], "y": xy[1]})
    return sorted(out, key=lambda p: p["index"])


# --- pins against the pose they are saved with -------------------------------------------
#
# A label's pins are evidence for its pose, so a save whose pins do not match its
# pose is refused (annotator/labeling/services.save_annotation; the labeling page
# checks the same before it sends them: static/js/editor/pin_guard.js). "Match" is
# the pins' reprojection RMSE at the saved pose: the reference face's landmarks
# (the points the page's PnP solves with) projected with the image's K. The limit
# is in millimetres on the head at its depth (px x t_z / f), so that it means the
# same for a small face and a large one, with a floor in pixels for faces so small
# that a pin's own placement (a pixel or two) dominates. Both were chosen on
# solves of human-placed landmarks (AFLW2000-3D's re-annotated 68 points, 1 to 68
# pins, starts off in rotation, position and depth) so that no correct solve
# exceeds them, and checked on held-out faces: bench/bench_pin_limit.py,
# docs/LABELING.md.
PINS_MATCH_LIMIT_MM = 15.0
PINS_MATCH_FLOOR_PX = 3.0


@dataclass(frozen=True)
class PinsFit:
    """How far pins are from where a pose puts their landmarks."""

    count: int
    rmse_px: float
    limit_px: float
    rmse_mm: float  # rmse_px on the head at its depth

    @property
    def matches(self) -> bool:
        return self.rmse_px <= self.limit_px


def pins_fit(pins: list[dict[str, Any]], R: Any, t: Any, K: Any, points3d: Any) -> PinsFit:
    """The pins' ({index, x, y}, as check_landmark_pins gives them) reprojection
    RMSE at pose (R, t) under K, with `points3d` the (68, 3) reference landmarks
    (head frame, mm), and the limit it is held to (PINS_MATCH_LIMIT_MM at the
    head's depth, at least PINS_MATCH_FLOOR_PX)."""
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    R = np.asarray(R, dtype=np.float64).reshape(3, 3)
    t = np.asarray(t, dtype=np.float64).reshape(3)
    px_per_mm = float((K[0, 0] + K[1, 1]) / 2 / t[2])
    limit = max(PINS_MATCH_FLOOR_PX, PINS_MATCH_LIMIT_MM * px_per_mm)
    if not pins:
        return PinsFit(0, 0.0, limit, 0.0)
    P = np.asarray(points3d, dtype=np.float64)[[p["index"] for p in pins]]
    uv = np.array([[p["x"], p["y"]] for p in pins], dtype=np.float64)
    shown = geometry.project(P, R, t, K)
    rmse = float(np.sqrt(np.mean(np.sum((shown - uv) ** 2, axis=1))))
    return PinsFit(len(pins), rmse, limit, rmse / px_per_mm)


def check_pins_match_pose(pins: list[dict[str, Any]], R: Any, t: Any, K: Any, points3d: Any) -> PinsFit:
    """pins_fit, or LandmarkPinsError naming the RMSE and the limit when the pins do not match the pose."""
    fit = pins_fit(pins, R, t, K, points3d)
    if not fit.matches:
        raise LandmarkPinsError(
            f"landmark_pins do not match the pose: their reprojection RMSE at this pose is {fit.rmse_px:.1f} px "
            f"({fit.rmse_mm:.1f} mm on the head), over the limit of {fit.limit_px:.1f} px "
            f"({PINS_MATCH_LIMIT_MM:g} mm at the head's depth, at least {PINS_MATCH_FLOOR_PX:g} px). "
            "Solve the pose from the pins again, or save without them."
        )
    return fit
