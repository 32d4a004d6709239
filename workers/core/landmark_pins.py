"""Landmark pins: the image points an annotator dragged reference-face
landmarks to on the labeling page (static/js/editor/pins.js), saved with the
annotation as evidence a reviewer can check and exported in JSON.

A pin is {"index": iBUG-68 index 0..67, "x": px, "y": px} in OpenCV pixels
(0,0 = the centre of the top-left pixel, so an image W px wide spans
[-0.5, W - 0.5]). At most one pin per landmark, hence at most 68."""

from __future__ import annotations

from typing import Any

from workers.core import bounded_numbers

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
