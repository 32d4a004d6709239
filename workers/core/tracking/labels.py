"""The pose of every frame of a sequence, and what it is.

- keyframe: an annotator saved a pose on this frame;
- interpolated: strictly between two keyframes: SLERP for R, lerp for t;
- smoothed_proposal: before the first or after the last keyframe (or with no
  keyframe at all), the smoothed proposal track, carried by the nearest
  keyframe's correction: R = (R_key R_track(key)^T) R_track(f) and
  t = t_track(f) + (t_key - t_track(key)), so the label joins the keyframe
  without a jump and follows the track's motion. With no track, the nearest
  keyframe is held (kind `interpolated`, the constant extrapolation); with
  neither, the frame has no label.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .interpolation import interpolate_between

KEYFRAME = "keyframe"
INTERPOLATED = "interpolated"
SMOOTHED_PROPOSAL = "smoothed_proposal"
KINDS = (KEYFRAME, INTERPOLATED, SMOOTHED_PROPOSAL)


@dataclass
class FrameLabel:
    frame: int
    R: np.ndarray
    t: np.ndarray | None
    kind: str


def _carried(track, f: int, key: int, pose) -> tuple[np.ndarray, np.ndarray | None]:
    correction = np.asarray(pose[0]) @ track.R[key].T
    R = correction @ track.R[f]
    t = None
    if track.t is not None:
        t = track.t[f] + ((np.asarray(pose[1]) - track.t[key]) if pose[1] is not None else 0.0)
    elif pose[1] is not None:
        t = np.asarray(pose[1], dtype=np.float64)
    return R, t


def frame_labels(n_frames: int, keyframes: dict, track=None) -> list[FrameLabel | None]:
    """`keyframes`: frame -> (R, t or None); `track`: a SmoothedTrack of n_frames or None."""
    out: list[FrameLabel | None] = [None] * n_frames
    keys = sorted(f for f in keyframes if 0 <= f < n_frames)
    for f in keys:
        R, t = keyframes[f]
        out[f] = FrameLabel(f, np.asarray(R, dtype=np.float64).reshape(3, 3),
                            None if t is None else np.asarray(t, dtype=np.float64), KEYFRAME)
    for k0, k1 in zip(keys, keys[1:]):
        inner = range(k0 + 1, k1)
        for f, (R, t) in zip(inner, interpolate_between(k0, keyframes[k0], k1, keyframes[k1], inner)):
            out[f] = FrameLabel(f, R, t, INTERPOLATED)
    outside = [f for f in range(n_frames) if not keys or f < keys[0] or f > keys[-1]]
    for f in outside:
        if not keys:
            if track is not None:
                out[f] = FrameLabel(f, track.R[f], None if track.t is None else track.t[f], SMOOTHED_PROPOSAL)
            continue
        key = keys[0] if f < keys[0] else keys[-1]
        pose = (out[key].R, out[key].t)
        if track is not None:
            R, t = _carried(track, f, key, pose)
            out[f] = FrameLabel(f, R, t, SMOOTHED_PROPOSAL)
        else:
            out[f] = FrameLabel(f, pose[0], pose[1], INTERPOLATED)
    return out
