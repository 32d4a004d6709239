"""What a storable pose is, in plain Python (annotator/poses.py applies it to
every write; the exports apply it to every stored row before writing).

R: 9 numbers (a flat list, 3 rows of 3, or an array of 9 values), a rotation within `tol`.
t: 3 finite numbers in millimetres, with MIN_DEPTH_MM <= z <= max_depth_mm and
|x|, |y| <= max_depth_mm (a head further to the side than the depth limit is a
unit or sign error, never a photo). Booleans, strings, None inside, and nested
lists are refused: `[True, 0, ...]` or `["1", ...]` is a client bug, not a pose.

The minimum depth is the whole head in front of the camera, whatever R: t is
the head origin (the centroid of the 68 iBUG landmarks of the reference face),
and the farthest point of the project's generic head (the mesh the labeling
page draws, workers/core/meshing/head_mesh.py: reference face plus skull,
built from the same reference face) lies HEAD_RADIUS_MM from it (193.8 mm, the
top of the back of the skull; tests/core/test_pose_rules.py measures it). So
at z >= HEAD_RADIUS_MM + DEPTH_MARGIN_MM every head point has Z > 0 for every
rotation, and every export format can hold every stored pose (the AFLW2000
.mat needs every landmark in front of the camera; a perspective projection
needs Z > 0). A pose at t_z = 40 mm, or a few micrometres, is a unit slip or a
broken client, not a head: a face 150 mm wide fills a 90 degree lens at 75 mm.
The rule is one number, not a per-rotation one, so that a reader can check it
without the head model and so that every writer and exporter says the same."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry

MAX_DEPTH_MM = 10_000.0  # 10 m: far beyond any head photo, near enough to catch metres-as-mm slips
HEAD_RADIUS_MM = 194.0  # the generic head's farthest point from its origin (193.8 mm; see the docstring)
DEPTH_MARGIN_MM = 6.0  # a round number, and room for a larger head than the generic one
MIN_DEPTH_MM = HEAD_RADIUS_MM + DEPTH_MARGIN_MM  # 200 mm: the whole head in front of the camera
ROTATION_TOL = 1e-3


class PoseRuleError(ValueError):
    """A pose that breaks the rules; the message says which."""


@dataclass(frozen=True)
class PoseLimits:
    max_depth_mm: float = MAX_DEPTH_MM
    rotation_tol: float = ROTATION_TOL
    min_depth_mm: float = MIN_DEPTH_MM

    def __post_init__(self) -> None:
        if not 0 < self.min_depth_mm <= self.max_depth_mm:
            raise ValueError(
                f"the depth limit ({self.max_depth_mm:g} mm) must be at least the minimum depth "
                f"({self.min_depth_mm:g} mm): no pose could be stored"
            )


def numbers(value: object, size: int, what: str) -> NDArray[np.float64]:
    """`value` as `size` float64s; only real numbers (no bool, str, None, nesting)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf" or value.size != size:
            raise PoseRuleError(f"{what} must be {size} numbers.")
        return value.astype(np.float64).reshape(size)
    if (
        size == 9
        and isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(row, (list, tuple)) and len(row) == 3 for row in value)
    ):
        value = [v for row in value for v in row]  # 3 rows of 3
    if not isinstance(value, (list, tuple)) or len(value) != size:
        raise PoseRuleError(f"{what} must be a list of {size} numbers.")
    bad = [v for v in value if isinstance(v, (bool, np.bool_)) or not isinstance(v, (Real, np.integer, np.floating))]
    if bad:
        raise PoseRuleError(f"{what} must contain numbers only, got {type(bad[0]).__name__} {bad[0]!r:.40}.")
    try:
        return np.array([float(v) for v in value], dtype=np.float64)
    except OverflowError:  # an int too large for a float
        raise PoseRuleError(f"{what} contains a number too large.") from None


def check_rotation(R: object, limits: PoseLimits = PoseLimits()) -> NDArray[np.float64]:
    """The nearest exact rotation to `R` (9 numbers, row-major), as (3, 3)."""
    M = numbers(R, 9, "R").reshape(3, 3)
    if not np.all(np.isfinite(M)):
        raise PoseRuleError("R contains non-finite values (NaN or infinity).")
    if not geometry.is_rotation(M, tol=limits.rotation_tol):
        raise PoseRuleError("R is not a rotation matrix (it must be orthonormal with determinant +1).")
    return geometry.nearest_rotation(M)


def check_translation(t: object, limits: PoseLimits = PoseLimits()) -> NDArray[np.float64]:
    v = numbers(t, 3, "t")
    problem = translation_problem(v, limits)
    if problem:
        raise PoseRuleError(problem + ".")
    return v


def translation_problem(t: NDArray[np.float64], limits: PoseLimits = PoseLimits()) -> str:
    """Why the translation (3 floats) cannot be a head's position, '' when it can."""
    if not np.all(np.isfinite(t)):
        return "t contains non-finite values (NaN or infinity)"
    if not t[2] > 0:
        return f"t is behind the camera (z = {t[2]:g} mm; a head must be in front of the camera, z > 0)"
    if t[2] < limits.min_depth_mm:
        return (
            f"t is too close to the camera (z = {t[2]:g} mm; the whole head must be in front of the camera, "
            f"z >= {limits.min_depth_mm:g} mm)"
        )
    if t[2] > limits.max_depth_mm:
        return f"t is too far (z = {t[2]:g} mm; the limit is {limits.max_depth_mm:g} mm)"
    if max(abs(t[0]), abs(t[1])) > limits.max_depth_mm:
        return f"t is too far to the side (|x| or |y| over {limits.max_depth_mm:g} mm)"
    return ""


def within_depth_limits(t: NDArray[np.float64], limits: PoseLimits = PoseLimits()) -> NDArray[np.float64]:
    """A guessed head position (3,) moved along its ray from the camera centre
    until min_depth_mm <= z <= max_depth_mm: its image position stays, the head
    only looks smaller (or larger). For a position placed by guess (a face box
    under an unknown camera), so that it can be saved; never applied to a pose
    someone stored."""
    z = float(t[2])
    if not (np.all(np.isfinite(t)) and z > 0):
        return t
    return t * (min(max(z, limits.min_depth_mm), limits.max_depth_mm) / z)


def pose_problems(
    R: NDArray[np.float64], t: NDArray[np.float64], has_t: NDArray[np.bool_], limits: PoseLimits = PoseLimits()
) -> list[str]:
    """Per row of R (n, 3, 3) and t (n, 3) (rows without t: has_t False), why
    the pose breaks the rules; '' for good rows. Vectorised for exports."""
    n = len(R)
    out = [""] * n
    with np.errstate(over="ignore", invalid="ignore"):
        finite_R = np.isfinite(R).reshape(n, 9).all(1)
        Rs = np.where(finite_R[:, None, None], R, np.eye(3))
        orth = np.abs(Rs @ np.swapaxes(Rs, -1, -2) - np.eye(3)).max(axis=(1, 2))
        det = np.linalg.det(Rs)
        not_rot = ~(orth < limits.rotation_tol) | ~(np.abs(det - 1) < limits.rotation_tol)
        z, xy = t[:, 2], np.abs(t[:, :2]).max(1)
        bad_t = has_t & ~(
            np.isfinite(t).all(1)
            & (z >= limits.min_depth_mm)
            & (z <= limits.max_depth_mm)
            & (xy <= limits.max_depth_mm)
        )
    for i in np.flatnonzero(~finite_R | not_rot | bad_t):
        if not finite_R[i]:
            out[i] = "R contains non-finite values (NaN or infinity)"
        elif not_rot[i]:
            out[i] = f"R is not a rotation matrix (orthonormality error {orth[i]:.3g}, determinant {det[i]:.4g})"
        else:
            out[i] = translation_problem(t[i], limits)
    return out
