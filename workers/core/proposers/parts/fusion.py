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

  Off-frontal the landmark fit weighs less: each face's regime (`regime`: the
  medoid's |yaw| and |pitch|: frontal, pitched, turned, profile) scales
  landmarks-fit's MAE per angle by LANDMARK_FIT_DEGRADATION, measured on the
  1,990 AFLW2000-3D faces without images (bench/landmarks_fit_by_yaw.py: the
  fitting stage alone, people's 2D landmarks; the 10 real images left out). At
  profile a landmark fit's pitch and roll are 3x and 8x worse than frontal even
  with perfect 2D landmarks, while the 10 real images (none past 60 deg) cannot
  show it. The networks (trained on 300W-LP, which spans +-90 deg of yaw) keep
  their table: there is no per-regime figure for them here.

DROP_DEG is set a priori, not fitted: the members' per-face errors on the real
samples stay below about 10 deg, so two members more than 15 deg apart are not
both right; the bench also reports the leave-one-out figures at other
thresholds, so the choice can be checked without being tuned on them.

The MAE table is an argument: the 'fused' proposer passes its shipped table, the
bench passes one fitted on the other faces only (leave-one-out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry

DROP_DEG = 15.0
EULER_LIMIT_DEG = 75.0
TURNED_DEG = 30.0  # |yaw| from here: turned; from PROFILE_DEG: profile
PROFILE_DEG = 60.0
PITCHED_DEG = 20.0  # |pitch| from here (|yaw| < TURNED_DEG): pitched
# landmarks-fit's MAE (yaw, pitch, roll) per regime over its frontal MAE, from
# `bench/landmarks_fit_by_yaw.py` key "degradation" (tests/core/proposers/test_fusion_regimes.py
# recomputes it); members not named here keep their table in every regime
LANDMARK_FIT_DEGRADATION = {
    "frontal": (1.0, 1.0, 1.0),
    "pitched": (1.22, 1.46, 1.06),
    "turned": (1.68, 1.17, 2.28),
    "profile": (1.35, 3.15, 8.03),
}
DEGRADATION = {"landmarks-fit": LANDMARK_FIT_DEGRADATION}


def regime(R: ArrayLike) -> str:
    """frontal / pitched / turned / profile, from a rotation's wide yaw and pitch
    (the back of the head, |yaw| > 90, is profile too)."""
    yaw, pitch, _ = geometry.matrix_to_euler_wide(np.asarray(R, dtype=np.float64))
    if abs(yaw) >= PROFILE_DEG:
        return "profile"
    if abs(yaw) >= TURNED_DEG:
        return "turned"
    return "pitched" if abs(pitch) >= PITCHED_DEG else "frontal"


def member_mae(
    name: str,
    mae: Mapping[str, Sequence[float]],
    face_regime: str,
    degradation: Mapping[str, Mapping[str, Sequence[float]]] = DEGRADATION,
) -> NDArray[np.float64]:
    """A member's (yaw, pitch, roll) MAE for a face in `face_regime`."""
    factor = degradation.get(name, {}).get(face_regime, (1.0, 1.0, 1.0))
    out: NDArray[np.float64] = np.asarray(mae[name], dtype=np.float64) * np.asarray(factor)
    return out


@dataclass
class Fusion:
    R: NDArray[np.float64] | None  # None: the members agree on nothing
    kept: list[str]
    dropped: list[str] = field(default_factory=list)
    spread_deg: float = 0.0  # RMS geodesic distance of the kept members to R
    regime: str = "frontal"  # of the members' medoid (see `regime`)
    expected_deg: float = 0.0  # the kept members' combined mean MAE in this regime


def angle_weights(maes: ArrayLike) -> NDArray[np.float64]:
    """(M, 3) MAEs -> per-angle weights 1 / MAE^2, each column summing to 1."""
    w = 1.0 / np.asarray(maes, dtype=np.float64) ** 2
    out: NDArray[np.float64] = w / w.sum(0)
    return out


def member_weights(maes: ArrayLike) -> NDArray[np.float64]:
    """(M, 3) MAEs -> one weight per member, 1 / mean(MAE)^2, summing to 1."""
    w = 1.0 / np.asarray(maes, dtype=np.float64).mean(1) ** 2
    out: NDArray[np.float64] = w / w.sum()
    return out


def weighted_rotation(Rs: ArrayLike, maes: ArrayLike) -> NDArray[np.float64]:
    """Step 2: the per-angle weighted mean of rotations Rs (M, 3, 3)."""
    Rs = np.asarray(Rs, dtype=np.float64)
    if len(Rs) == 1:
        out: NDArray[np.float64] = Rs[0].copy()
        return out
    R0 = geometry.rotation_mean(Rs, member_weights(maes))
    e0 = geometry.matrix_to_euler(R0)
    if abs(e0[0]) > EULER_LIMIT_DEG:
        return R0
    d = geometry.matrix_to_euler(Rs) - e0
    d = (d + 180.0) % 360.0 - 180.0
    return geometry.euler_to_matrix(e0 + (angle_weights(maes) * d).sum(0))


def medoid(Rs: ArrayLike) -> int:
    """Index of the rotation with the smallest sum of geodesic distances to the others."""
    Rs = np.asarray(Rs, dtype=np.float64)
    D = np.array([[float(geometry.geodesic_distance(a, b)) for b in Rs] for a in Rs])
    return int(np.argmin(D.sum(1)))


def agreeing(Rs: ArrayLike, drop_deg: float = DROP_DEG, centre: int | None = None) -> NDArray[np.bool_]:
    """Step 1: (M,) bool, the members kept for this face. centre: the medoid's
    index when the caller has it already."""
    Rs = np.asarray(Rs, dtype=np.float64)
    M = len(Rs)
    if M == 1:
        return np.ones(1, dtype=bool)
    keep = geometry.geodesic_distance(Rs, Rs[medoid(Rs) if centre is None else centre][None]) <= drop_deg
    if keep.sum() < 2:  # only the medoid itself: nobody agrees with it
        keep[:] = False
    return keep


def combined_mae(maes: ArrayLike) -> float:
    """The mean MAE expected of an inverse-variance mean of members with these
    (M, 3) MAEs: per angle 1 / sqrt(sum 1 / MAE^2), averaged over the angles."""
    return float(np.mean(1.0 / np.sqrt((1.0 / np.asarray(maes, dtype=np.float64) ** 2).sum(0))))


def fuse(
    Rs: Sequence[ArrayLike],
    names: Sequence[str],
    mae: Mapping[str, Sequence[float]],
    drop_deg: float = DROP_DEG,
    degradation: Mapping[str, Mapping[str, Sequence[float]]] = DEGRADATION,
) -> Fusion:
    """Rs (M, 3, 3) of the named members; mae: name -> (yaw, pitch, roll) MAE deg."""
    rotations = np.asarray(Rs, dtype=np.float64)
    names = list(names)
    centre = medoid(rotations)
    face_regime = regime(rotations[centre])
    keep = agreeing(rotations, drop_deg, centre)
    kept = [n for n, k in zip(names, keep) if k]
    dropped = [n for n, k in zip(names, keep) if not k]
    if not kept:
        return Fusion(R=None, kept=[], dropped=dropped, regime=face_regime)
    maes = np.array([member_mae(n, mae, face_regime, degradation) for n in kept])
    R = weighted_rotation(rotations[keep], maes)
    d = geometry.geodesic_distance(rotations[keep], R[None])
    return Fusion(
        R=R,
        kept=kept,
        dropped=dropped,
        spread_deg=float(np.sqrt(np.mean(np.square(d)))),
        regime=face_regime,
        expected_deg=combined_mae(maes),
    )
