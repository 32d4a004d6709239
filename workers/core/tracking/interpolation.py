"""Exact interpolation between two poses: SLERP for R, linear for t.

SLERP is done on unit quaternions along the shorter arc (a pair given as q and
-q is the same rotation and interpolates as the identity path), so the result
equals scipy's `Slerp` to rounding. Euler angles are never interpolated: they
are wrong near +-180 degrees and at gimbal lock."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import geometry

Pose: TypeAlias = "tuple[ArrayLike, ArrayLike | None]"
"""(R (3, 3), t (3,) mm or None)."""


def _shorter_arc_pair(
    q0: NDArray[np.float64], q1: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """q1 flipped where needed so that the two quaternions are <= 90 degrees apart
    on S^3 (<= 180 degrees of rotation): the shorter of the two SLERP paths."""
    dot = np.sum(q0 * q1, -1, keepdims=True)
    return q0, np.where(dot < 0, -q1, q1)


def slerp_quaternions(q0: ArrayLike, q1: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
    """(..., 4) unit quaternions, u in [0, 1] (broadcast) -> (..., 4)."""
    q0, q1 = _shorter_arc_pair(np.asarray(q0, dtype=np.float64), np.asarray(q1, dtype=np.float64))
    u = np.asarray(u, dtype=np.float64)[..., None]
    dot = np.clip(np.sum(q0 * q1, -1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(dot)
    sin_omega = np.sin(omega)
    # nearly equal rotations: the sine ratio tends to the linear weights
    near = sin_omega < 1e-9
    safe = np.where(near, 1.0, sin_omega)
    w0 = np.where(near, 1 - u, np.sin((1 - u) * omega) / safe)
    w1 = np.where(near, u, np.sin(u * omega) / safe)
    q = w0 * q0 + w1 * q1
    out: NDArray[np.float64] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return out


def slerp(R0: ArrayLike, R1: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrices R0, R1 (3, 3) and u (scalar or (N,)) -> (3, 3) or (N, 3, 3)."""
    q = slerp_quaternions(geometry.matrix_to_quaternion(R0), geometry.matrix_to_quaternion(R1), u)
    return geometry.quaternion_to_matrix(q)


def lerp(t0: ArrayLike, t1: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
    t0, t1 = np.asarray(t0, dtype=np.float64), np.asarray(t1, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)[..., None]
    out: NDArray[np.float64] = (1 - u) * t0 + u * t1
    return out


def interpolate_between(
    frame0: int, pose0: Pose, frame1: int, pose1: Pose, frames: ArrayLike
) -> list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
    """Poses (R, t) at `frames` (frame0 <= f <= frame1) between two keyframe poses
    (R, t); t is None when either keyframe has no translation."""
    frames = np.asarray(frames, dtype=np.float64)
    u = (frames - frame0) / float(frame1 - frame0)
    Rs = slerp(pose0[0], pose1[0], u)
    ts = lerp(pose0[1], pose1[1], u) if pose0[1] is not None and pose1[1] is not None else [None] * len(frames)
    return [(Rs[i], None if ts[i] is None else np.asarray(ts[i])) for i in range(len(frames))]
