"""Robust per-face fusion of several models' rotations (the maths of 'fused').

Per face:
  1. Robust centre: the medoid of the members' rotations (the member with the
     smallest sum of geodesic distances to the others). A member farther than
     DROP_DEG from it is dropped for this face; the medoid itself stays only if
     at least one other member is within DROP_DEG of it (with two or more
     members, a pose nobody agrees with is no pose). Nothing kept -> no fused
     pose (None): the caller stores no proposal rather than a wrong one.
  2. The kept members are averaged per angle with weights 1 / MAE^2 (each
     member's MAE per angle, yaw / pitch / roll): R0 = the chordal mean on SO(3)
     with one weight per member (1 / mean MAE^2); then the members' Euler angles
     relative to R0 (wrapped to [-180, 180)) are averaged with the per-angle
     weights and added back. Near Euler's singularity (|yaw of R0| >
     EULER_LIMIT_DEG) the answer is R0 alone.

DROP_DEG is set a priori, not fitted: the members' per-face errors on the real
samples stay below about 10 deg, so two members more than 15 deg apart are not
both right; the bench also reports the leave-one-out figures at other
thresholds, so the choice can be checked without being tuned on them.

The MAE table is an argument: the 'fused' proposer passes its shipped table, the
bench passes one fitted on the other faces only (leave-one-out).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from workers.core import geometry

DROP_DEG = 15.0
EULER_LIMIT_DEG = 75.0


@dataclass
class Fusion:
    R: Optional[np.ndarray]  # None: the members agree on nothing
    kept: list[str]
    dropped: list[str] = field(default_factory=list)
    spread_deg: float = 0.0  # RMS geodesic distance of the kept members to R


def angle_weights(maes: np.ndarray) -> np.ndarray:
    """(M, 3) MAEs -> per-angle weights 1 / MAE^2, each column summing to 1."""
    w = 1.0 / np.asarray(maes, dtype=np.float64) ** 2
    return w / w.sum(0)


def member_weights(maes: np.ndarray) -> np.ndarray:
    """(M, 3) MAEs -> one weight per member, 1 / mean(MAE)^2, summing to 1."""
    w = 1.0 / np.asarray(maes, dtype=np.float64).mean(1) ** 2
    return w / w.sum()


def weighted_rotation(Rs: np.ndarray, maes: np.ndarray) -> np.ndarray:
    """Step 2: the per-angle weighted mean of rotations Rs (M, 3, 3)."""
    Rs = np.asarray(Rs, dtype=np.float64)
    if len(Rs) == 1:
        return Rs[0].copy()
    R0 = geometry.rotation_mean(Rs, member_weights(maes))
    e0 = geometry.matrix_to_euler(R0)
    if abs(e0[0]) > EULER_LIMIT_DEG:
        return R0
    d = geometry.matrix_to_euler(Rs) - e0
    d = (d + 180.0) % 360.0 - 180.0
    return geometry.euler_to_matrix(e0 + (angle_weights(maes) * d).sum(0))


def agreeing(Rs: np.ndarray, drop_deg: float = DROP_DEG) -> np.ndarray:
    """Step 1: (M,) bool, the members kept for this face."""
    Rs = np.asarray(Rs, dtype=np.float64)
    M = len(Rs)
    if M == 1:
        return np.ones(1, dtype=bool)
    D = np.array([[float(geometry.geodesic_distance(a, b)) for b in Rs] for a in Rs])
    centre = int(np.argmin(D.sum(1)))
    keep = D[centre] <= drop_deg
    if keep.sum() < 2:  # only the medoid itself: nobody agrees with it
        keep[:] = False
    return keep


def fuse(Rs: Sequence, names: Sequence[str], mae: Mapping[str, Sequence[float]],
         drop_deg: float = DROP_DEG) -> Fusion:
    """Rs (M, 3, 3) of the named members; mae: name -> (yaw, pitch, roll) MAE deg."""
    Rs = np.asarray(Rs, dtype=np.float64)
    names = list(names)
    keep = agreeing(Rs, drop_deg)
    kept = [n for n, k in zip(names, keep) if k]
    dropped = [n for n, k in zip(names, keep) if not k]
    if not kept:
        return Fusion(R=None, kept=[], dropped=dropped)
    R = weighted_rotation(Rs[keep], np.array([mae[n] for n in kept]))
    d = geometry.geodesic_distance(Rs[keep], R[None])
    return Fusion(R=R, kept=kept, dropped=dropped, spread_deg=float(np.sqrt(np.mean(np.square(d)))))
