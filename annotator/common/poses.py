"""Validation of poses crossing into the database: the one place every writer
(API and labeling saves and drafts, imports, proposals, evaluation) goes
through. The rules themselves are workers/core/pose_rules.py (shared with the
exports); the depth limit comes from settings (HEADPOSE_MAX_DEPTH_MM), the
minimum depth from the head's size (pose_rules.MIN_DEPTH_MM, 200 mm)."""

import numpy as np
from django.conf import settings

from workers.core.landmark_pins import LandmarkPinsError, check_landmark_pins
from workers.core.pose_rules import PoseLimits, PoseRuleError, check_rotation, check_translation


class PoseError(ValueError):
    """A pose that cannot be stored; the message says why."""


def limits() -> PoseLimits:
    return PoseLimits(max_depth_mm=float(settings.HEADPOSE_MAX_DEPTH_MM))


def clean_rotation(R, tol: float = 1e-3) -> list[float]:
    """9 floats of a rotation. Input rounded by JSON or float32 (the browser)
    is snapped to the nearest rotation; anything farther is refused."""
    try:
        M = check_rotation(R, PoseLimits(max_depth_mm=limits().max_depth_mm, rotation_tol=tol))
    except PoseRuleError as exc:
        raise PoseError(str(exc)) from None
    return flat(M)


def clean_translation(t, allow_none: bool = True) -> list[float] | None:
    """3 floats (mm) of a head position in front of the camera, or None when allowed."""
    if t is None:
        if allow_none:
            return None
        raise PoseError("t is required.")
    try:
        return flat(check_translation(t, limits()))
    except PoseRuleError as exc:
        raise PoseError(str(exc)) from None


def flat(M) -> list[float]:
    return [float(v) for v in np.asarray(M, dtype=np.float64).reshape(-1)]


def clean_landmark_pins(pins, width: int, height: int) -> list[dict]:
    """Pins inside the image, one per iBUG-68 landmark (workers/core/landmark_pins.py)."""
    try:
        return check_landmark_pins(pins, width, height)
    except LandmarkPinsError as exc:
        raise PoseError(str(exc)) from None
