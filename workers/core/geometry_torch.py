"""Batched torch twin of geometry.py: same names, conventions and semantics.

Everything runs on the device and dtype of the first tensor argument (a CUDA
tensor stays on CUDA) and keeps autograd. Plain lists / numpy arrays become
float64 tensors; later arguments follow the first one's dtype.

Differences from the numpy version, on purpose:
- Degenerate values (a zero quaternion, parallel 6D columns) are not checked,
  because checking a value forces a device sync inside training loops; they give
  finite but meaningless rotations. Wrong shapes still raise GeometryInputError.
- geodesic_distance uses atan2(|axial(R1^T R2)| / 2, (trace - 1) / 2): exact for
  rotations (equal to the numpy quaternion route), accurate near 0 and 180
  degrees, and differentiable without the usual arccos clamp.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import torch
from numpy.typing import ArrayLike

from .geometry import GeometryInputError

TensorLike: TypeAlias = "torch.Tensor | ArrayLike"
"""A tensor, or anything torch.as_tensor takes (lists, numpy arrays)."""

__all__ = [
    "GeometryInputError",
    "axis_angle_to_matrix",
    "euler_to_matrix",
    "geodesic_distance",
    "matrix_to_axis_angle",
    "matrix_to_euler",
    "matrix_to_quaternion",
    "matrix_to_sixd",
    "nearest_rotation",
    "project",
    "project_points",
    "quaternion_to_matrix",
    "rotation_mean",
    "sixd_to_matrix",
    "transform",
]


def _tensor(x: TensorLike, name: str, tail: tuple[int, ...], like: torch.Tensor | None = None) -> torch.Tensor:
    """Floating tensor whose trailing dimensions must be `tail`."""
    if isinstance(x, torch.Tensor):
        t = x
        if like is not None and t.dtype != like.dtype:
            t = t.to(like.dtype)
        elif not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        dtype = torch.float64 if like is None else like.dtype
        device = None if like is None else like.device
        try:
            t = torch.as_tensor(x, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise GeometryInputError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if t.dim() < len(tail) or tuple(t.shape[t.dim() - len(tail) :]) != tail:
        want = "(..., " + ", ".join(map(str, tail)) + ")"
        raise GeometryInputError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    return t


def _safe_normalize(v: torch.Tensor) -> torch.Tensor:
    # clamp instead of raising: see the module docstring
    eps = torch.finfo(v.dtype).tiny ** 0.5
    out: torch.Tensor = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True).clamp_min(eps)
    return out


def _elementary(a: torch.Tensor, axis: int) -> torch.Tensor:
    c, s = torch.cos(a), torch.sin(a)
    o, z = torch.ones_like(a), torch.zeros_like(a)
    if axis == 0:
        m = [o, z, z, z, c, -s, z, s, c]
    elif axis == 1:
        m = [c, z, s, z, o, z, -s, z, c]
    else:
        m = [c, -s, z, s, c, z, z, z, o]
    return torch.stack(m, -1).reshape(a.shape + (3, 3))


def euler_to_matrix(euler: TensorLike, degrees: bool = True) -> torch.Tensor:
    """(..., 3) [yaw, pitch, roll] -> (..., 3, 3): R = Rx(-pitch) Ry(yaw) Rz(roll)."""
    e = _tensor(euler, "euler", (3,))
    if degrees:
        e = torch.deg2rad(e)
    yaw, pitch, roll = e[..., 0], e[..., 1], e[..., 2]
    return _elementary(-pitch, 0) @ _elementary(yaw, 1) @ _elementary(roll, 2)


def matrix_to_euler(R: TensorLike, degrees: bool = True) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) [yaw, pitch, roll]; yaw in [-90, 90]."""
    R = _tensor(R, "R", (3, 3))
    yaw = torch.asin(R[..., 0, 2].clamp(-1.0, 1.0))
    pitch = torch.atan2(R[..., 1, 2], R[..., 2, 2])
    roll = torch.atan2(-R[..., 0, 1], R[..., 0, 0])
    e = torch.stack([yaw, pitch, roll], -1)
    return torch.rad2deg(e) if degrees else e


def quaternion_to_matrix(q: TensorLike) -> torch.Tensor:
    """(..., 4) (w, x, y, z), any norm -> (..., 3, 3)."""
    q = _safe_normalize(_tensor(q, "quaternion", (4,)))
    w, x, y, z = q.unbind(-1)
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
    return torch.stack(m, -1).reshape(q.shape[:-1] + (3, 3))


def matrix_to_quaternion(R: TensorLike) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) unit (w, x, y, z) with w >= 0 (Shepperd's method)."""
    R = _tensor(R, "R", (3, 3))
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    cand = torch.stack(
        [
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ],
        -1,
    )
    k = cand.argmax(-1, keepdim=True)
    s = 2 * torch.sqrt(torch.gather(cand, -1, k).clamp_min(torch.finfo(R.dtype).tiny))[..., 0]
    d21, d02, d10 = R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]
    s01, s02, s12 = R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1]
    options = torch.stack(
        [
            torch.stack([s / 4, d21 / s, d02 / s, d10 / s], -1),
            torch.stack([d21 / s, s / 4, s01 / s, s02 / s], -1),
            torch.stack([d02 / s, s01 / s, s / 4, s12 / s], -1),
            torch.stack([d10 / s, s02 / s, s12 / s, s / 4], -1),
        ],
        -2,
    )
    index = k[..., None].expand(k.shape[:-1] + (1, 4))
    q = _safe_normalize(torch.gather(options, -2, index)[..., 0, :])
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(v: TensorLike) -> torch.Tensor:
    """(..., 3) rotation vector (axis * angle, radians) -> (..., 3, 3)."""
    v = _tensor(v, "axis-angle vector", (3,))
    theta = torch.linalg.vector_norm(v, dim=-1)
    small = theta < 1e-4
    safe = torch.where(small, torch.ones_like(theta), theta)
    # sin(theta/2)/theta; the series keeps value and gradient finite at zero
    k = torch.where(small, 0.5 - theta**2 / 48, torch.sin(safe / 2) / safe)
    q = torch.cat([torch.cos(theta / 2)[..., None], v * k[..., None]], -1)
    return quaternion_to_matrix(q)


def matrix_to_axis_angle(R: TensorLike) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) rotation vector with angle in [0, pi]."""
    q = matrix_to_quaternion(R)
    w, xyz = q[..., 0], q[..., 1:]
    n = torch.linalg.vector_norm(xyz, dim=-1)
    theta = 2 * torch.atan2(n, w)
    small = n < 1e-8
    safe = torch.where(small, torch.ones_like(n), n)
    scale = torch.where(small, 2 + n**2 / 3, theta / safe)
    return xyz * scale[..., None]


def matrix_to_sixd(R: TensorLike) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): first column then second column."""
    R = _tensor(R, "R", (3, 3))
    return torch.cat([R[..., :, 0], R[..., :, 1]], -1)


def sixd_to_matrix(d6: TensorLike) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (differentiable)."""
    d6 = _tensor(d6, "6D rotation", (6,))
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = _safe_normalize(a1)
    b2 = _safe_normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], -1)


def geodesic_distance(R1: TensorLike, R2: TensorLike, degrees: bool = True) -> torch.Tensor:
    """Angle of R1^T R2, shape (...,)."""
    R1 = _tensor(R1, "R1", (3, 3))
    R2 = _tensor(R2, "R2", (3, 3), like=R1)
    rel = R1.transpose(-1, -2) @ R2
    axial = torch.stack(
        [
            rel[..., 2, 1] - rel[..., 1, 2],
            rel[..., 0, 2] - rel[..., 2, 0],
            rel[..., 1, 0] - rel[..., 0, 1],
        ],
        -1,
    )
    sin = torch.linalg.vector_norm(axial, dim=-1) / 2
    cos = (rel[..., 0, 0] + rel[..., 1, 1] + rel[..., 2, 2] - 1) / 2
    ang = torch.atan2(sin, cos)
    return ang * (180.0 / math.pi) if degrees else ang


def nearest_rotation(M: TensorLike) -> torch.Tensor:
    """Project any (..., 3, 3) onto SO(3) (SVD, determinant fixed to +1)."""
    M = _tensor(M, "M", (3, 3))
    U, _, Vh = torch.linalg.svd(M)
    d = torch.where(torch.linalg.det(U @ Vh) < 0, -1.0, 1.0).to(M.dtype)
    D = torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1)
    out: torch.Tensor = U @ (D[..., :, None] * Vh)
    return out


def rotation_mean(Rs: TensorLike, weights: TensorLike | None = None) -> torch.Tensor:
    """Weighted chordal L2 mean over the first axis of (N, ..., 3, 3)."""
    Rs = _tensor(Rs, "Rs", (3, 3))
    if Rs.dim() < 3 or Rs.shape[0] == 0:
        raise GeometryInputError(f"Rs must be a non-empty stack (N, ..., 3, 3), got shape {tuple(Rs.shape)}")
    if weights is None:
        w = torch.ones(Rs.shape[0], dtype=Rs.dtype, device=Rs.device)
    else:
        w = _tensor(weights, "weights", (), like=Rs)
    if tuple(w.shape) != (Rs.shape[0],):
        raise GeometryInputError(f"weights must have shape ({Rs.shape[0]},), got {tuple(w.shape)}")
    return nearest_rotation(torch.tensordot(w.to(Rs.device), Rs, dims=1))


def project_points(X_cam: TensorLike, K: TensorLike) -> torch.Tensor:
    """(..., N, 3) camera-frame points -> (..., N, 2) pixels; K (3, 3) or (..., 3, 3)."""
    X = _tensor(X_cam, "X_cam", (3,))
    K = _tensor(K, "K", (3, 3), like=X)
    uvw = X @ K.transpose(-1, -2)
    out: torch.Tensor = uvw[..., :2] / uvw[..., 2:3]
    return out


def transform(X_head: TensorLike, R: TensorLike, t: TensorLike) -> torch.Tensor:
    """(..., N, 3) head-frame points -> camera frame: X_cam = R X_head + t."""
    X = _tensor(X_head, "X_head", (3,))
    R = _tensor(R, "R", (3, 3), like=X)
    t = _tensor(t, "t", (3,), like=X)
    if X.dim() == 1:
        out: torch.Tensor = (R @ X[..., None])[..., 0] + t
        return out
    out = X @ R.transpose(-1, -2) + t[..., None, :]
    return out


def project(X_head: TensorLike, R: TensorLike, t: TensorLike, K: TensorLike) -> torch.Tensor:
    return project_points(transform(X_head, R, t), K)
