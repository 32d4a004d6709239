"""Validation of poses crossing into the database: the one place every writer
(API and labeling saves and drafts, imports, proposals, evaluation) goes
through. The rules themselves are workers/core/pose_rules.py (shared with the
exports); the depth limit comes from settings (HEADPOSE_MAX_DEPTH_MM). A writer
checks R and t together (clean_pose): whether the whole head is in front of the
camera depends on both (pose_rules.check_pose)."""

import numpy as np
from django.conf import settings

from workers.core import geometry
from workers.core.landmark_pins import LandmarkPinsError, check_landmark_pins, check_pins_match_pose
from workers.core.pose_rules import PoseLimits, PoseRuleError, check_pose, check_rotation, check_translation
from workers.core.proposers.reference_face import load_reference_face


class PoseError(ValueError):
    """A pose that cannot be stored; the message says why, `field` (when set)
    which input to change (the API's error names it)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


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


def clean_pose(R, t, allow_none: bool = True, tol: float = 1e-3) -> tuple[list[float], list[float] | None]:
    """(9 floats, 3 floats or None) of a pose every writer may store: R and t
    each sane (clean_rotation, clean_translation) and the whole head in front
    of the camera at that rotation. A head too near the camera is t's error:
    moving it back is what fixes it."""
    R9 = clean_rotation(R, tol)
    t3 = clean_translation(t, allow_none)
    if t3 is None:
        return R9, None
    try:
        check_pose(R9, t3, limits())
    except PoseRuleError as exc:
        raise PoseError(str(exc), field="t") from None
    return R9, t3


def flat(M) -> list[float]:
    return [float(v) for v in np.asarray(M, dtype=np.float64).reshape(-1)]


def clean_landmark_pins(pins, width: int, height: int) -> list[dict]:
    """Pins inside the image, one per iBUG-68 landmark (workers/core/landmark_pins.py)."""
    try:
        return check_landmark_pins(pins, width, height)
    except LandmarkPinsError as exc:
        raise PoseError(str(exc)) from None


def image_intrinsics(image) -> np.ndarray:
    """(3, 3) K of an Image row: its own, else the default for its size (geometry.default_intrinsics)."""
    return geometry.default_intrinsics(image.width, image.height) if not image.K else image.K_matrix


def clean_pins_for_pose(pins: list[dict], R, t, image) -> None:
    """Pins saved with a pose must match it (workers/core/landmark_pins.check_pins_match_pose):
    their reprojection RMSE at (R, t) under the image's K, with the reference face's
    landmarks the labeling page solves with, within the limit; else a PoseError naming both."""
    if not pins:
        return
    if t is None:
        raise PoseError("landmark_pins need a pose with a position t to be checked against.", field="landmark_pins")
    try:
        check_pins_match_pose(pins, R, t, image_intrinsics(image), load_reference_face().points68)
    except LandmarkPinsError as exc:
        raise PoseError(str(exc), field="landmark_pins") from None


def reference_face_state() -> dict:
    """The reference face's iBUG-68 points (head frame, mm) that the pages' landmark
    tool draws and solves with, and that clean_pins_for_pose checks pins against."""
    reference = load_reference_face()
    return {
        "scheme": "ibug68",
        "version": reference.version,
        "landmarks_3d": [[float(v) for v in p] for p in reference.points68],
    }
