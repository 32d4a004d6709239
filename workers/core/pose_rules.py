"""What a storable pose is, in plain Python (annotator/common/poses.py applies it
to every write; the exports apply it to every stored row before writing).

R: 9 numbers (a flat list, 3 rows of 3, or an array of 9 values), a rotation within `tol`.
t: 3 finite numbers in millimetres, 0 < z <= max_depth_mm and |x|, |y| <=
max_depth_mm (a head further to the side than the depth limit is a unit or sign
error, never a photo). Booleans, strings, None inside, and nested lists are
refused: `[True, 0, ...]` or `["1", ...]` is a client bug, not a pose.

R and t together: the whole head in front of the camera, for this rotation.
The head is the project's generic head (the mesh the labeling page draws,
static/meshes/head.glb, built by workers/core/meshing/head_mesh.py: reference
face plus skull) together with the reference face's 68 landmarks (what the
AFLW2000 .mat export places at the pose); HEAD_HULL_PATH holds the vertices of
its convex hull in the head frame (tools/build_head_mesh.py writes it with the
mesh; tests/core/test_pose_rules.py checks it against the mesh). A linear
function's minimum over a solid is reached at a vertex of its hull, so the
head's nearest point to the camera plane is
    nearest_head_z(R, t) = t_z + min over hull vertices v of (R v)_z
and a pose is legal when nearest_head_z >= MIN_CLEARANCE_MM. A frontal face
(its nose tip 43 mm in front of the head origin) may come to t_z = 53 mm; a
head turned away (the back of the skull, 182 mm behind the origin, toward the
camera) only to t_z = 192 mm. 40 mm from the camera a frontal head's nose is
behind it; a t_z of a few micrometres is a unit slip or a broken client.

MIN_CLEARANCE_MM (10 mm) is room for a real head larger than the generic one (a
longer nose or a fuller forehead than the mean face by a few millimetres) and
for rounding (the browser sends float32); it keeps every point that an export
projects well in front of the camera (the .mat and a perspective projection
need Z > 0). SAFE_DEPTH_MM = HEAD_RADIUS_MM + MIN_CLEARANCE_MM (204 mm) is the
conservative rule for places that know only t: from there every rotation is
legal (HEAD_RADIUS_MM: the hull's farthest point from the head origin, the top
of the back of the skull, 193.8 mm). The editor's zoom stops there, and the
depth limit may not be set under it (some rotations could never be stored)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry

MAX_DEPTH_MM = 10_000.0  # 10 m: far beyond any head photo, near enough to catch metres-as-mm slips
MIN_CLEARANCE_MM = 10.0  # the head's nearest point at least this far in front of the camera (see the docstring)
HEAD_RADIUS_MM = 194.0  # the head hull's farthest point from the head origin (193.8 mm), rounded up
SAFE_DEPTH_MM = HEAD_RADIUS_MM + MIN_CLEARANCE_MM  # 204 mm: every rotation is legal from this t_z on
ROTATION_TOL = 1e-3
HEAD_HULL_PATH = Path(__file__).resolve().parent / "assets" / "head_hull.json"
CHUNK = 4096  # poses per vectorised step of nearest_head_z: (CHUNK, hull vertices) floats at a time


class PoseRuleError(ValueError):
    """A pose that breaks the rules; the message says which."""


@dataclass(frozen=True)
class PoseLimits:
    max_depth_mm: float = MAX_DEPTH_MM
    rotation_tol: float = ROTATION_TOL
    min_clearance_mm: float = MIN_CLEARANCE_MM

    @property
    def safe_depth_mm(self) -> float:
        """The t_z from which every rotation is legal."""
        return HEAD_RADIUS_MM + self.min_clearance_mm

    def __post_init__(self) -> None:
        if not (self.min_clearance_mm >= 0 and self.safe_depth_mm <= self.max_depth_mm):
            raise ValueError(
                f"the depth limit ({self.max_depth_mm:g} mm) must be at least {self.safe_depth_mm:g} mm "
                f"(the head's radius, {HEAD_RADIUS_MM:g} mm, plus the clearance, {self.min_clearance_mm:g} mm): "
                "under it a head turned away from the camera could never be stored"
            )


@functools.cache
def head_hull() -> NDArray[np.float64]:
    """(H, 3) vertices of the head's convex hull, head frame, mm (HEAD_HULL_PATH)."""
    points = np.array(json.loads(HEAD_HULL_PATH.read_text())["vertices"], dtype=np.float64)
    points.setflags(write=False)
    return points


def nearest_head_z(R: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """The camera z (mm) of the head's nearest point, per pose: R (..., 3, 3), t (..., 3)."""
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    rows = R[..., 2, :].reshape(-1, 3)  # (R v)_z = R's last row . v
    hull_T = head_hull().T
    out = np.empty(len(rows))
    for i in range(0, len(rows), CHUNK):
        out[i : i + CHUNK] = (rows[i : i + CHUNK] @ hull_T).min(axis=1)
    return out.reshape(R.shape[:-2]) + t[..., 2]


def clearance_problem(nearest_z: float, limits: PoseLimits = PoseLimits()) -> str:
    """Why a head whose nearest point is at `nearest_z` cannot be stored, '' when it can."""
    if nearest_z >= limits.min_clearance_mm:
        return ""
    what = "would cross the camera plane" if nearest_z <= 0 else "would be too close to the camera"
    return (
        f"the head {what} (its nearest point is at z = {nearest_z:.1f} mm; the whole head must be "
        f"at least {limits.min_clearance_mm:g} mm in front of the camera)"
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
    """Why the translation (3 floats) cannot be a head's position whatever the
    rotation, '' when it can (check_pose then asks whether it can with R)."""
    if not np.all(np.isfinite(t)):
        return "t contains non-finite values (NaN or infinity)"
    if not t[2] > 0:
        return f"t is behind the camera (z = {t[2]:g} mm; a head must be in front of the camera, z > 0)"
    if t[2] > limits.max_depth_mm:
        return f"t is too far (z = {t[2]:g} mm; the limit is {limits.max_depth_mm:g} mm)"
    if max(abs(t[0]), abs(t[1])) > limits.max_depth_mm:
        return f"t is too far to the side (|x| or |y| over {limits.max_depth_mm:g} mm)"
    return ""


def check_pose(
    R: object, t: object, limits: PoseLimits = PoseLimits()
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """(R as the nearest exact rotation (3, 3), t as 3 floats or None): the
    rules for R, for t, and for both (the whole head in front of the camera)."""
    M = check_rotation(R, limits)
    if t is None:
        return M, None
    v = check_translation(t, limits)
    problem = clearance_problem(float(nearest_head_z(M, v)), limits)
    if problem:
        raise PoseRuleError(problem[0].upper() + problem[1:] + ".")
    return M, v


def within_pose_limits(
    R: NDArray[np.float64], t: NDArray[np.float64], limits: PoseLimits = PoseLimits(), slack_mm: float = 1.0
) -> NDArray[np.float64]:
    """A guessed head position (3,) for rotation R, moved along its ray from the
    camera centre just as far as needed for the head's nearest point to be
    min_clearance_mm + slack_mm in front of the camera, and no farther than
    max_depth_mm: its image position stays, the head only looks smaller (or
    larger). The slack keeps it legal after the browser's float32 round trip.
    For a position placed by guess (a face box under an unknown camera), so
    that it can be saved; never applied to a pose someone stored."""
    z = float(t[2])
    if not (np.all(np.isfinite(t)) and z > 0):
        return t
    behind = z - float(nearest_head_z(R, t))  # how far the head reaches toward the camera from its origin
    needed = min(behind + limits.min_clearance_mm + slack_mm, limits.max_depth_mm)
    return t * (min(max(z, needed), limits.max_depth_mm) / z)


def pose_problems(
    R: NDArray[np.float64], t: NDArray[np.float64], has_t: NDArray[np.bool_], limits: PoseLimits = PoseLimits()
) -> list[str]:
    """Per row of R (n, 3, 3) and t (n, 3) (rows without t: has_t False), why
    the pose breaks the rules; '' for good rows. Vectorised for exports: the
    head's clearance (check_pose's rule for R and t together) for every row in
    a few matrix products."""
    n = len(R)
    out = [""] * n
    with np.errstate(over="ignore", invalid="ignore"):
        finite_R = np.isfinite(R).reshape(n, 9).all(1)
        Rs = np.where(finite_R[:, None, None], R, np.eye(3))
        orth = np.abs(Rs @ np.swapaxes(Rs, -1, -2) - np.eye(3)).max(axis=(1, 2))
        det = np.linalg.det(Rs)
        not_rot = ~(orth < limits.rotation_tol) | ~(np.abs(det - 1) < limits.rotation_tol)
        z, xy = t[:, 2], np.abs(t[:, :2]).max(1)
        bad_t = has_t & ~(np.isfinite(t).all(1) & (z > 0) & (z <= limits.max_depth_mm) & (xy <= limits.max_depth_mm))
        # R and t each fine, and near enough for some rotation to matter: is the head in front?
        judged = has_t & ~bad_t & finite_R & ~not_rot & (z < limits.safe_depth_mm)
        nearest = np.full(n, np.inf)
        nearest[judged] = nearest_head_z(Rs[judged], t[judged])
        too_near = nearest < limits.min_clearance_mm
    for i in np.flatnonzero(~finite_R | not_rot | bad_t | too_near):
        if not finite_R[i]:
            out[i] = "R contains non-finite values (NaN or infinity)"
        elif not_rot[i]:
            out[i] = f"R is not a rotation matrix (orthonormality error {orth[i]:.3g}, determinant {det[i]:.4g})"
        elif bad_t[i]:
            out[i] = translation_problem(t[i], limits)
        else:
            out[i] = clearance_problem(float(nearest[i]), limits)
    return out
