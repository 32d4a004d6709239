"""Pose geometry, numpy, per ../shared/docs/POSE_CONVENTIONS.md.

Frames: camera = OpenCV (x right, y down, z forward), millimetres.
Head frame at identity faces the camera upright: x to image-right, y to the chin,
z to the back of the head (the nose points to -z). The head origin is the
centroid of the project's 68-point reference face (see workers/core/reference_face).
A pose maps head to camera: X_cam = R @ X_head + t.

Euler angles are the AFLW2000 (yaw, pitch, roll) convention, always in that order:
    R = Rx(-pitch) @ Ry(yaw) @ Rz(roll)
+yaw turns the face to image-left, +pitch lifts the chin, +roll tilts the top of
the head to image-right (clockwise on screen).

Every function takes batches: leading dimensions are carried through.
Quaternions are (w, x, y, z) with w >= 0. 6D is the first two columns of R
(Zhou et al. 2019), flattened column after column: (r00, r10, r20, r01, r11, r21).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F = np.diag([1.0, -1.0, -1.0])  # OpenCV camera <-> three.js / y-up camera


class GeometryInputError(ValueError):
    """An array handed to a geometry function has the wrong shape or is degenerate."""


def _as_array(x: ArrayLike, name: str, tail: tuple[int, ...]) -> NDArray[np.float64]:
    """float64 array whose trailing dimensions must be `tail`."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GeometryInputError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if a.shape[a.ndim - len(tail) :] != tail or a.ndim < len(tail):
        want = "(..., " + ", ".join(map(str, tail)) + ")"
        raise GeometryInputError(f"{name} must have shape {want}, got {a.shape}")
    return a


def _normalize(v: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(~(n > 1e-12)):
        raise GeometryInputError(f"{name} has a zero-length (or non-finite) vector; it cannot be normalised")
    out: NDArray[np.float64] = v / n
    return out


def _rx(a: NDArray[np.float64]) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    out: NDArray[np.float64] = np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(a.shape + (3, 3))
    return out


def _ry(a: NDArray[np.float64]) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    out: NDArray[np.float64] = np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(a.shape + (3, 3))
    return out


def _rz(a: NDArray[np.float64]) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    out: NDArray[np.float64] = np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(a.shape + (3, 3))
    return out


def euler_to_matrix(euler: ArrayLike, degrees: bool = True) -> NDArray[np.float64]:
    """(..., 3) [yaw, pitch, roll] -> (..., 3, 3) camera-frame rotation."""
    e = _as_array(euler, "euler", (3,))
    if degrees:
        e = np.deg2rad(e)
    yaw, pitch, roll = e[..., 0], e[..., 1], e[..., 2]
    return _rx(-pitch) @ _ry(yaw) @ _rz(roll)


def matrix_to_euler(R: ArrayLike, degrees: bool = True) -> NDArray[np.float64]:
    """(..., 3, 3) -> (..., 3) [yaw, pitch, roll]; yaw in [-90, 90]."""
    R = _as_array(R, "R", (3, 3))
    yaw = np.arcsin(np.clip(R[..., 0, 2], -1.0, 1.0))
    pitch = np.arctan2(R[..., 1, 2], R[..., 2, 2])
    roll = np.arctan2(-R[..., 0, 1], R[..., 0, 0])
    e = np.stack([yaw, pitch, roll], -1)
    out: NDArray[np.float64] = np.rad2deg(e) if degrees else e
    return out


def matrix_to_euler_wide(R: ArrayLike, degrees: bool = True) -> NDArray[np.float64]:
    """(..., 3, 3) -> (..., 3) [yaw, pitch, roll] with yaw in (-180, 180] and
    pitch in [-90, 90] (WHENet's wide range: a head turned past profile keeps
    its yaw). The same rotation as matrix_to_euler's triple; the two differ
    only where that one's |pitch| exceeds 90 (the back of the head, or a head
    upside down), where this one takes the other solution
    (180 - yaw, pitch - 180, roll - 180, each wrapped)."""
    e = matrix_to_euler(R, degrees=True)
    flip = np.abs(e[..., 1]) > 90.0
    other = np.stack([180.0 - e[..., 0], e[..., 1] - 180.0, e[..., 2] - 180.0], -1)
    other = -((-other + 180.0) % 360.0 - 180.0)  # wrap to (-180, 180]
    out = np.where(flip[..., None], other, e)
    return np.deg2rad(out) if not degrees else out


def quaternion_to_matrix(q: ArrayLike) -> NDArray[np.float64]:
    """(..., 4) (w, x, y, z), any norm -> (..., 3, 3)."""
    q = _normalize(_as_array(q, "quaternion", (4,)), "quaternion")
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = [
        1 - 2 * (y * y + z * z),
        2 * (x * y - w * z),
        2 * (x * z + w * y),
        2 * (x * y + w * z),
        1 - 2 * (x * x + z * z),
        2 * (y * z - w * x),
        2 * (x * z - w * y),
        2 * (y * z + w * x),
        1 - 2 * (x * x + y * y),
    ]
    out: NDArray[np.float64] = np.stack(m, -1).reshape(q.shape[:-1] + (3, 3))
    return out


def matrix_to_quaternion(R: ArrayLike) -> NDArray[np.float64]:
    """(..., 3, 3) -> (..., 4) unit (w, x, y, z) with w >= 0.

    Picks the largest of the four diagonal combinations for each matrix so the
    square root never sees a value near zero (Shepperd's method); each case is
    computed only for the matrices that take it (most rotations take the first)."""
    R = _as_array(R, "R", (3, 3))
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    cand = np.stack(
        [
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ],
        -1,
    )
    k = np.argmax(cand, -1)
    q = np.empty(R.shape[:-2] + (4,))
    for case in range(4):
        sel = k == case
        if not np.any(sel):
            continue
        M = R[sel]
        s = np.sqrt(np.maximum(cand[sel][:, case], 1e-300)) * 2
        d21, d02, d10 = M[:, 2, 1] - M[:, 1, 2], M[:, 0, 2] - M[:, 2, 0], M[:, 1, 0] - M[:, 0, 1]
        if case == 0:
            parts = (s / 4, d21 / s, d02 / s, d10 / s)
        else:
            s01, s02, s12 = M[:, 0, 1] + M[:, 1, 0], M[:, 0, 2] + M[:, 2, 0], M[:, 1, 2] + M[:, 2, 1]
            parts = (
                (d21 / s, s / 4, s01 / s, s02 / s),
                (d02 / s, s01 / s, s / 4, s12 / s),
                (d10 / s, s02 / s, s12 / s, s / 4),
            )[case - 1]
        q[sel] = np.stack(parts, -1)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(v: ArrayLike) -> NDArray[np.float64]:
    """(..., 3) rotation vector (axis * angle, radians) -> (..., 3, 3) (Rodrigues)."""
    v = _as_array(v, "axis-angle vector", (3,))
    theta = np.linalg.norm(v, axis=-1)
    half = theta / 2
    # sinc form stays exact near zero angle
    k = np.where(theta > 1e-12, np.sin(half) / np.where(theta > 1e-12, theta, 1.0), 0.5 - theta**2 / 48)
    q = np.concatenate([np.cos(half)[..., None], v * k[..., None]], -1)
    return quaternion_to_matrix(q)


def matrix_to_axis_angle(R: ArrayLike) -> NDArray[np.float64]:
    """(..., 3, 3) -> (..., 3) rotation vector with angle in [0, pi]."""
    q = matrix_to_quaternion(R)
    w = np.clip(q[..., 0], -1.0, 1.0)
    xyz = q[..., 1:]
    n = np.linalg.norm(xyz, axis=-1)
    theta = 2 * np.arctan2(n, w)
    scale = np.where(n > 1e-12, theta / np.where(n > 1e-12, n, 1.0), 2.0)
    out: NDArray[np.float64] = xyz * scale[..., None]
    return out


def matrix_to_sixd(R: ArrayLike) -> NDArray[np.float64]:
    """(..., 3, 3) -> (..., 6): first column then second column."""
    R = _as_array(R, "R", (3, 3))
    return np.concatenate([R[..., :, 0], R[..., :, 1]], -1)


def sixd_to_matrix(d6: ArrayLike) -> NDArray[np.float64]:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt; any two independent vectors work."""
    d6 = _as_array(d6, "6D rotation", (6,))
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = _normalize(a1, "6D rotation (first column)")
    b2 = a2 - np.sum(b1 * a2, -1, keepdims=True) * b1
    b2 = _normalize(b2, "6D rotation (second column parallel to the first)")
    b3 = np.cross(b1, b2)
    return np.stack([b1, b2, b3], -1)


def geodesic_distance(R1: ArrayLike, R2: ArrayLike, degrees: bool = True) -> NDArray[np.float64]:
    """Angle of R1^T R2, (...,). Computed from the quaternion of the relative
    rotation: arccos of the trace loses precision near 0 and 180 degrees."""
    rel = np.swapaxes(_as_array(R1, "R1", (3, 3)), -1, -2) @ _as_array(R2, "R2", (3, 3))
    q = matrix_to_quaternion(rel)
    ang = 2 * np.arctan2(np.linalg.norm(q[..., 1:], axis=-1), np.abs(q[..., 0]))
    out: NDArray[np.float64] = np.rad2deg(ang) if degrees else ang
    return out


def pose_moved(
    R: ArrayLike, t: ArrayLike | None, R_from: ArrayLike, t_from: ArrayLike | None
) -> tuple[float, float | None]:
    """How far the pose (R, t) is from (R_from, t_from), e.g. a label from the
    proposal it started from: the geodesic angle between the rotations (degrees)
    and |t - t_from| (mm; None when either has no t). One pose, not a batch."""
    deg = float(
        geodesic_distance(
            np.asarray(R, dtype=np.float64).reshape(3, 3), np.asarray(R_from, dtype=np.float64).reshape(3, 3)
        )
    )
    if t is None or t_from is None:
        return deg, None
    return deg, float(np.linalg.norm(np.asarray(t, dtype=np.float64) - np.asarray(t_from, dtype=np.float64)))


def nearest_rotation(M: ArrayLike) -> NDArray[np.float64]:
    """Project any (..., 3, 3) onto SO(3) (SVD, determinant fixed to +1)."""
    U, _, Vt = np.linalg.svd(_as_array(M, "M", (3, 3)))
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.zeros(U.shape[:-2] + (3,))
    D[..., 0] = 1
    D[..., 1] = 1
    D[..., 2] = d
    out: NDArray[np.float64] = U @ (D[..., :, None] * Vt)
    return out


def is_rotation(R: ArrayLike, tol: float = 1e-3) -> bool:
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        return False
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 entries: not a rotation, and no warning
        return bool(np.abs(R @ R.T - np.eye(3)).max() < tol and abs(np.linalg.det(R) - 1) < tol)


def rotation_mean(Rs: ArrayLike, weights: ArrayLike | None = None) -> NDArray[np.float64]:
    """Weighted chordal L2 mean on SO(3): the rotation nearest the weighted sum."""
    Rs = _as_array(Rs, "Rs", (3, 3))
    if Rs.ndim < 3 or len(Rs) == 0:
        raise GeometryInputError(f"Rs must be a non-empty stack (N, ..., 3, 3), got shape {Rs.shape}")
    w = np.ones(len(Rs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(Rs),):
        raise GeometryInputError(f"weights must have shape ({len(Rs)},), got {w.shape}")
    return nearest_rotation(np.tensordot(w, Rs, axes=1))


def default_intrinsics(width: int, height: int) -> NDArray[np.float64]:
    """K for an unknown camera: fx = fy = image width, principal point at the
    image centre. Pixel coordinates follow OpenCV: (0, 0) is the centre of the
    top-left pixel, so the image centre is ((w - 1) / 2, (h - 1) / 2)."""
    if not (width > 0 and height > 0):
        raise GeometryInputError(f"image size must be positive, got {width} x {height}")
    return np.array([[width, 0, (width - 1) / 2], [0, width, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)


def project_points(X_cam: ArrayLike, K: ArrayLike) -> NDArray[np.float64]:
    """(..., N, 3) camera-frame points -> (..., N, 2) pixels (no distortion).
    K is (3, 3) or batched (..., 3, 3) matching the points' leading dimensions."""
    X = _as_array(X_cam, "X_cam", (3,))
    uvw = X @ np.swapaxes(_as_array(K, "K", (3, 3)), -1, -2)
    return uvw[..., :2] / uvw[..., 2:3]


def transform(X_head: ArrayLike, R: ArrayLike, t: ArrayLike) -> NDArray[np.float64]:
    """(..., N, 3) head-frame points -> camera frame: X_cam = R X_head + t.
    R (..., 3, 3) and t (..., 3) may carry the same leading dimensions; a single
    point (3,) is also accepted."""
    X = _as_array(X_head, "X_head", (3,))
    R = _as_array(R, "R", (3, 3))
    t = _as_array(t, "t", (3,))
    if X.ndim == 1:
        return (R @ X[..., None])[..., 0] + t
    # swapaxes, not .T: .T would reverse the batch axes of a stacked R
    return X @ np.swapaxes(R, -1, -2) + t[..., None, :]


def project(X_head: ArrayLike, R: ArrayLike, t: ArrayLike, K: ArrayLike) -> NDArray[np.float64]:
    return project_points(transform(X_head, R, t), K)


def to_threejs(R: ArrayLike, t: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Camera-frame pose (OpenCV) -> three.js camera frame (y up, looking down -z)."""
    R = _as_array(R, "R", (3, 3))
    t = _as_array(t, "t", (3,))
    return F @ R @ F, t @ F  # t @ F (F symmetric) keeps a batch of t working


def translation_from_box(box: ArrayLike, K: ArrayLike, face_width_mm: float = 150.0) -> NDArray[np.float64]:
    """(3,) mm: a head origin for a face whose distance is unknown. It sits on
    the ray through the centre of the box (x0, y0, x1, y1) pixels, at the depth
    where a face `face_width_mm` wide (ear to ear, as a detector box sees it)
    spans the box width under K. Box widths under one pixel count as one."""
    K = _as_array(K, "K", (3, 3))
    if K.shape != (3, 3):
        raise GeometryInputError(f"K must be a single (3, 3) matrix, got {K.shape}")
    b = _as_array(box, "box", (4,))
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise GeometryInputError(f"box must be 4 finite numbers (x0, y0, x1, y1), got {np.asarray(box).tolist()}")
    if not (K[0, 0] > 0 and K[1, 1] > 0 and face_width_mm > 0):
        raise GeometryInputError("focal lengths and the face width must be positive")
    x0, y0, x1, y1 = b
    z = K[0, 0] * face_width_mm / max(x1 - x0, 1.0)
    u, v = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])
