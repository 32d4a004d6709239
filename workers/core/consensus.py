"""Robust consensus of several labels of the same face, batched over faces.

Each face has up to K members (annotators' labels): rotations R (F, K, 3, 3),
translations t (F, K, 3) in mm, and a mask (F, K) of which slots hold a member.
`consensus` returns per face:

- inlier: which members were kept. A member is rejected as an outlier when its
  geodesic distance to the medoid (the member with the smallest summed
  distance to the others: a minority cannot move it) exceeds both
  `outlier_deg` and `outlier_factor` x the median member distance to it;
- R: the chordal L2 mean of the inliers (the rotation nearest the sum of their
  matrices: the top eigenvector of sum w q q^T), or with
  method="geodesic_median" their geodesic median (Weiszfeld iterations through
  the log/exp maps, Vardi and Zhang's rule when an estimate lands on a member);
  optional per-member weights (reliabilities) in both;
- t: the coordinate-wise median of the inliers' translations;
- distance_deg: each member's geodesic distance to the consensus;
- dispersion_deg: the median of those distances over all members (robust: a
  rejected member moves it little, but a face where members disagree widely
  shows it).

The chordal mean is the default: it is closed form (one batched 4x4
eigendecomposition), the maximum-likelihood mean for small isotropic noise,
and the outlier rejection before it gives the robustness; Weiszfeld converges
only linearly, which is slow at 100,000 faces.

Quaternions are the working form: q and -q are the same rotation, so every
relative rotation is taken in the hemisphere w >= 0 before its log, which makes
the result independent of the signs the members came with. Plain numpy, no
Django; everything is vectorised over faces (loops run only over iterations and
the few member slots).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry

ITERATIONS = 300  # Weiszfeld (method="geodesic_median") converges linearly
TOL_RAD = 1e-9
EPS_RAD = 1e-12  # closer than this, the estimate sits on a member
OUTLIER_DEG = 15.0
OUTLIER_FACTOR = 3.0


@dataclass
class Consensus:
    R: NDArray[np.float64]  # (F, 3, 3); NaN where the face has no member
    t: NDArray[np.float64]  # (F, 3) mm; NaN where no inlier has a translation
    inlier: NDArray[np.bool_]  # (F, K)
    distance_deg: NDArray[np.float64]  # (F, K) each member's geodesic distance to R; NaN for empty slots
    dispersion_deg: NDArray[np.float64]  # (F,) median member distance; NaN for faces without members
    member_count: NDArray[np.int_]  # (F,)
    quaternion: NDArray[np.float64]  # (F, 4) R as (w, x, y, z)


# --- quaternion algebra, (..., 4) as (w, x, y, z) ------------------------------------


def qmul(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def qconj(q: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = q * np.array([1.0, -1.0, -1.0, -1.0])
    return out


def qlog(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation vector (axis * angle, radians, angle in [0, pi]) of unit quaternions of either sign."""
    q = np.where(q[..., :1] < 0, -q, q)
    n = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2 * np.arctan2(n, q[..., 0])
    scale = np.where(n > 1e-15, angle / np.maximum(n, 1e-15), 2.0)
    out: NDArray[np.float64] = q[..., 1:] * scale[..., None]
    return out


def qexp(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit quaternion of a rotation vector (radians)."""
    angle = np.linalg.norm(v, axis=-1)
    half = angle / 2
    k = np.where(angle > 1e-12, np.sin(half) / np.maximum(angle, 1e-12), 0.5 - angle**2 / 48)
    return np.concatenate([np.cos(half)[..., None], v * k[..., None]], -1)


def quaternion_distance_rad(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Geodesic angle between unit quaternions (any signs), radians: 2 acos|<a, b>|.
    Near 0 acos loses digits only below ~1e-7 rad (2e-5 degrees), far under any
    label's noise; one product and one acos is what 100,000 faces can afford."""
    out: NDArray[np.float64] = 2 * np.arccos(np.minimum(np.abs(np.sum(a * b, -1)), 1.0))
    return out


def _medoid(q: NDArray[np.float64], mask: NDArray[np.bool_], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """(F, 4): per face the member with the smallest weighted sum of geodesic distances to the others."""
    d = quaternion_distance_rad(q[:, :, None, :], q[:, None, :, :])  # (F, K, K)
    cost = np.where(mask[:, None, :], d * weights[:, None, :], 0.0).sum(-1)
    cost = np.where(mask, cost, np.inf)
    best = np.argmin(cost, axis=1)
    return np.take_along_axis(q, best[:, None, None], 1)[:, 0]


def _weiszfeld_so3(
    q: NDArray[np.float64],
    mask: NDArray[np.bool_],
    weights: NDArray[np.float64],
    start: NDArray[np.float64],
    iterations: int = ITERATIONS,
) -> NDArray[np.float64]:
    """Geodesic median of each face's masked quaternions, from `start` (F, 4).
    Faces leave the iteration as they converge: most faces need a few steps."""
    center = start.copy()
    active = np.arange(len(q))
    w_all = np.where(mask, weights, 0.0)
    for _ in range(iterations):
        if not len(active):
            break
        c, qa, w_mask = center[active], q[active], w_all[active]
        v = qlog(qmul(qconj(c)[:, None, :], qa))  # (F, K, 3) tangent vectors at the centre
        d = np.linalg.norm(v, axis=-1)
        # Vardi-Zhang: a member the estimate sits on (the medoid start) is left out of the
        # Weiszfeld step, and its weight eta shortens the step instead of freezing it
        on = d < EPS_RAD
        w = np.where(on, 0.0, w_mask / np.maximum(d, EPS_RAD))
        pull = (w[..., None] * v).sum(1)
        step = pull / np.maximum(w.sum(1), 1e-300)[:, None]
        eta = np.where(on, w_mask, 0.0).sum(1)
        r = np.linalg.norm(pull, axis=-1)
        step *= np.clip(1 - eta / np.maximum(r, 1e-300), 0.0, 1.0)[:, None]
        c = qmul(c, qexp(step))
        center[active] = c / np.linalg.norm(c, axis=-1, keepdims=True)
        active = active[np.linalg.norm(step, axis=-1) > TOL_RAD]
    return center


def chordal_mean(
    q: NDArray[np.float64],
    mask: NDArray[np.bool_],
    weights: NDArray[np.float64],
    start: NDArray[np.float64],
    iterations: int = 30,
) -> NDArray[np.float64]:
    """(F, 4): per face the rotation nearest (Frobenius) the weighted sum of the masked
    members' matrices: the top eigenvector of M = sum w q q^T, sign-blind by
    construction. Power iteration from `start` (the medoid), M never formed: members
    within a few degrees make it converge to machine precision in a handful of
    steps; the few faces still moving after `iterations` get an exact eigh."""
    w = np.where(mask, weights, 0.0)
    v = start.copy()
    active = np.arange(len(q))
    for _ in range(iterations):
        if not len(active):
            break
        qa = q[active]
        new = np.einsum("fk,fki->fi", w[active] * np.einsum("fki,fi->fk", qa, v[active]), qa)
        new /= np.maximum(np.linalg.norm(new, axis=-1, keepdims=True), 1e-300)
        moved = np.abs(np.abs(np.sum(new * v[active], -1)) - 1.0)
        v[active] = new
        active = active[moved > 1e-15]
    if len(active):
        M = np.einsum("fk,fki,fkj->fij", w[active], q[active], q[active])
        v[active] = np.linalg.eigh(M)[1][..., -1]
    return np.where(v[:, :1] < 0, -v, v)


METHODS = ("chordal", "geodesic_median")


def consensus(
    R: ArrayLike,
    t: ArrayLike | None = None,
    mask: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    *,
    method: str = "chordal",
    outlier_deg: float = OUTLIER_DEG,
    outlier_factor: float = OUTLIER_FACTOR,
) -> Consensus:
    """Robust consensus of (F, K) members; see the module docstring.

    R: (F, K, 3, 3) or (F, K, 4) unit quaternions (either sign). t: (F, K, 3)
    mm with NaN rows where a member has no translation, or None. mask: (F, K)
    bool, default all. weights: (F, K) positive reliabilities, default 1.
    method: "chordal" (L2 mean of the inliers, closed form) or
    "geodesic_median" (Weiszfeld on SO(3) over the inliers)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    R = np.asarray(R, dtype=np.float64)
    q = (
        R
        if R.shape[-1] == 4 and R.ndim == 3
        else geometry.matrix_to_quaternion(np.where(np.isfinite(R), R, 0.0) + np.where(np.isfinite(R), 0.0, np.eye(3)))
    )
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    F, K = q.shape[:2]
    mask = np.ones((F, K), bool) if mask is None else np.asarray(mask, bool)
    weights = np.ones((F, K)) if weights is None else np.asarray(weights, dtype=np.float64)
    count = mask.sum(1)
    if F == 0 or K == 0:
        nan = np.full(F, np.nan)
        return Consensus(
            R=np.full((F, 3, 3), np.nan),
            t=np.full((F, 3), np.nan),
            inlier=mask.copy(),
            distance_deg=np.full((F, K), np.nan),
            dispersion_deg=nan,
            member_count=count.astype(int),
            quaternion=np.full((F, 4), np.nan),
        )

    # outliers are judged against the medoid, which a minority of far-off members cannot move
    medoid = _medoid(q, mask, weights)
    to_medoid = np.where(mask, quaternion_distance_rad(medoid[:, None, :], q), np.nan)
    limit = np.maximum(np.deg2rad(outlier_deg), outlier_factor * np.nan_to_num(nanmedian_rows(to_medoid)))
    inlier = mask & ~(to_medoid > limit[:, None])

    center = chordal_mean(q, inlier, weights, medoid)
    if method == "geodesic_median":
        center = _weiszfeld_so3(q, inlier, weights, center)
    dist_deg = np.rad2deg(np.where(mask, quaternion_distance_rad(center[:, None, :], q), np.nan))

    if t is None:
        t_out = np.full((F, 3), np.nan)
    else:
        t = np.asarray(t, dtype=np.float64)
        has_t = inlier & np.isfinite(t).all(-1)
        t_out = np.stack([nanmedian_rows(np.where(has_t, t[..., i], np.nan)) for i in range(3)], -1)

    R_out = geometry.quaternion_to_matrix(center)
    R_out[count == 0] = np.nan
    return Consensus(
        R=R_out,
        t=t_out,
        inlier=inlier,
        distance_deg=dist_deg,
        dispersion_deg=nanmedian_rows(dist_deg),
        member_count=count.astype(int),
        quaternion=center,
    )


def nanmedian_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median of each row's non-NaN values; NaN for a row without any. (np.nanmedian
    sorts masked arrays: ten times slower on 100,000 short rows.)"""
    if x.size == 0:
        return np.full(len(x), np.nan)
    s = np.sort(x, axis=1)  # NaN sort last
    n = (~np.isnan(x)).sum(1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[:, None], 1)[:, 0]
    hi = np.take_along_axis(s, np.minimum(n // 2, x.shape[1] - 1)[:, None], 1)[:, 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


# --- grouping flat label lists into faces --------------------------------------------------


def group_by_face(face_keys: ArrayLike) -> tuple[NDArray[Any], NDArray[np.intp], NDArray[np.intp], int]:
    """Flat labels -> padded member slots. Returns (faces, row, slot, width):
    the distinct face keys (sorted), each label's place (row, slot) in the
    padded (len(faces), width) arrays, width = the most members of any face."""
    face_keys = np.asarray(face_keys)
    faces, row = np.unique(face_keys, return_inverse=True)
    order = np.argsort(row, kind="stable")
    sorted_rows = row[order]
    starts = np.searchsorted(sorted_rows, sorted_rows, side="left")
    slot = np.empty(len(row), int)
    slot[order] = np.arange(len(row)) - starts
    width = int(slot.max()) + 1 if len(slot) else 0
    return faces, row, slot, width


def pad(
    values: ArrayLike, row: NDArray[np.intp], slot: NDArray[np.intp], n_faces: int, width: int, fill: float = np.nan
) -> NDArray[Any]:
    """(N, ...) flat values -> (n_faces, width, ...) with `fill` in empty slots."""
    values = np.asarray(values)
    out = np.full((n_faces, width) + values.shape[1:], fill, dtype=np.result_type(values, type(fill)))
    out[row, slot] = values
    return out
