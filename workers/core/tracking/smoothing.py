"""A robust smoother for raw per-frame pose proposals on SO(3) x R^3.

Three steps, each on rotations themselves (never on Euler angles):
1. blunders out: a proposal farther than `blunder_deg` from the medoid of its
   neighbours (the neighbour rotation with the least summed geodesic distance to
   the others, which a minority of blunders cannot drag) is dropped;
2. gaps filled: frames with no (kept) proposal get the SLERP / lerp of the
   nearest kept frames on either side, held at the ends, and are marked filled;
3. forward-backward: a first-order exponential filter run forward and then
   backward over the result (zero phase: no lag), stepping in the tangent space
   (S <- S exp(alpha log(S^T R))), so quaternion signs never matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from .. import geometry
from .interpolation import Pose, interpolate_between

BLUNDER_DEG = 25.0
NEIGHBOURS = 3  # kept proposals on each side that vote on a blunder
ALPHA = 0.5  # weight of the new frame in each pass
PAD = 12  # frames mirrored at each end; ALPHA's weight has decayed to 0.5**12 there


@dataclass
class SmoothedTrack:
    R: NDArray[np.float64]  # (N, 3, 3)
    t: NDArray[np.float64] | None  # (N, 3) mm, None when no proposal had a translation
    filled: NDArray[np.bool_]  # (N,): no kept proposal on this frame, filled by interpolation
    rejected: NDArray[np.bool_]  # (N,): a proposal was dropped as a blunder


def _medoid(Rs: NDArray[np.float64]) -> NDArray[np.float64]:
    d = geometry.geodesic_distance(Rs[:, None], Rs[None, :])
    out: NDArray[np.float64] = Rs[int(np.argmin(d.sum(1)))]
    return out


def reject_blunders(
    Rs: NDArray[np.float64], blunder_deg: float = BLUNDER_DEG, neighbours: int = NEIGHBOURS
) -> NDArray[np.bool_]:
    """(M, 3, 3) observed rotations in frame order -> (M,) bool, True = blunder."""
    m = len(Rs)
    out = np.zeros(m, dtype=bool)
    if m < 3:
        return out
    for i in range(m):
        idx = [j for j in range(max(0, i - neighbours), min(m, i + neighbours + 1)) if j != i]
        out[i] = geometry.geodesic_distance(Rs[i], _medoid(Rs[idx])) > blunder_deg
    return out


def _fill(
    n: int, frames: list[int], poses: list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]
) -> tuple[NDArray[np.float64], list[NDArray[np.float64] | None]]:
    """Poses at every frame 0..n-1 from poses at `frames` (sorted): interpolated
    between, held before the first and after the last."""
    Rs = np.empty((n, 3, 3))
    ts: list[NDArray[np.float64] | None] = [None] * n
    for f, (R, t) in zip(frames, poses):
        Rs[f], ts[f] = R, t
    Rs[: frames[0]], Rs[frames[-1] + 1 :] = poses[0][0], poses[-1][0]
    for f in range(frames[0]):
        ts[f] = poses[0][1]
    for f in range(frames[-1] + 1, n):
        ts[f] = poses[-1][1]
    for (f0, p0), (f1, p1) in zip(zip(frames, poses), zip(frames[1:], poses[1:])):
        if f1 - f0 > 1:
            for f, (R, t) in zip(range(f0 + 1, f1), interpolate_between(f0, p0, f1, p1, range(f0 + 1, f1))):
                Rs[f], ts[f] = R, t
    return Rs, ts


def _filter_pass(Rs: NDArray[np.float64], ts: NDArray[np.float64] | None, alpha: float, order: Iterable[int]) -> None:
    prev: int | None = None
    for i in order:
        if prev is not None:
            step = geometry.matrix_to_axis_angle(Rs[prev].T @ Rs[i]) * alpha
            Rs[i] = Rs[prev] @ geometry.axis_angle_to_matrix(step)
            if ts is not None:
                ts[i] = ts[prev] + alpha * (ts[i] - ts[prev])
        prev = i


def _odd_padded(
    Rs: NDArray[np.float64], ts: NDArray[np.float64] | None, pad: int
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Each end extended by its point reflection (R_0 R_k^T R_0, 2 t_0 - t_k), as
    scipy's filtfilt does on a line: a steady turn then leaves the ends unbiased."""
    if len(Rs) < 2:
        return np.repeat(Rs, 2 * pad + 1, 0), (None if ts is None else np.repeat(ts, 2 * pad + 1, 0))
    k = np.arange(1, min(pad, len(Rs) - 1) + 1)
    head = Rs[0] @ np.swapaxes(Rs[k[::-1]], -1, -2) @ Rs[0]
    tail = Rs[-1] @ np.swapaxes(Rs[-1 - k], -1, -2) @ Rs[-1]
    Rs = np.concatenate([np.repeat(head[:1], pad - len(k), 0), head, Rs, tail, np.repeat(tail[-1:], pad - len(k), 0)])
    if ts is not None:
        th, tt = 2 * ts[0] - ts[k[::-1]], 2 * ts[-1] - ts[-1 - k]
        ts = np.concatenate([np.repeat(th[:1], pad - len(k), 0), th, ts, tt, np.repeat(tt[-1:], pad - len(k), 0)])
    return Rs, ts


def smooth_track(
    observations: Sequence[Pose | None], alpha: float = ALPHA, blunder_deg: float = BLUNDER_DEG
) -> SmoothedTrack | None:
    """`observations[i]` is (R, t) or None for frame i (t may be None). Returns
    None when no frame has a proposal."""
    n = len(observations)
    present = {i: o for i, o in enumerate(observations) if o is not None}
    frames = list(present)
    if not frames:
        return None
    observed = np.stack([np.asarray(present[f][0], dtype=np.float64).reshape(3, 3) for f in frames])
    blunder = reject_blunders(observed, blunder_deg)
    rejected = np.zeros(n, dtype=bool)
    rejected[np.asarray(frames)[blunder]] = True
    kept = [f for f, b in zip(frames, blunder) if not b]
    with_t = all(present[f][1] is not None for f in kept)
    poses = [
        (
            np.asarray(present[f][0], dtype=np.float64).reshape(3, 3),
            np.asarray(present[f][1], dtype=np.float64) if with_t else None,
        )
        for f in kept
    ]
    Rs, ts_list = _fill(n, kept, poses)
    # with_t: every kept pose has a t, so every filled frame has one
    ts = np.stack(cast("list[NDArray[np.float64]]", ts_list)) if with_t else None
    Rs, ts = _odd_padded(Rs, ts, PAD)
    _filter_pass(Rs, ts, alpha, range(len(Rs)))
    _filter_pass(Rs, ts, alpha, range(len(Rs) - 1, -1, -1))
    Rs, ts = Rs[PAD : PAD + n], (ts[PAD : PAD + n] if ts is not None else None)
    filled = np.ones(n, dtype=bool)
    filled[kept] = False
    return SmoothedTrack(R=geometry.nearest_rotation(Rs), t=ts, filled=filled, rejected=rejected)
