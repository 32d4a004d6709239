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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .interpolation import Pose, interpolate_between
from .smoothing import SmoothedTrack

KEYFRAME = "keyframe"
INTERPOLATED = "interpolated"
SMOOTHED_PROPOSAL = "smoothed_proposal"
KINDS = (KEYFRAME, INTERPOLATED, SMOOTHED_PROPOSAL)


@dataclass
class FrameLabel:
    frame: int
    R: NDArray[np.float64]
    t: NDArray[np.float64] | None
    kind: str


def _carried(
    track: SmoothedTrack, i: int, key: int, pose: Pose
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Position i's track pose moved by the correction that takes the track onto
    the keyframe at position `key`."""
    correction = np.asarray(pose[0]) @ track.R[key].T
    R = correction @ track.R[i]
    t: NDArray[np.float64] | None = None
    if track.t is not None:
        t = track.t[i] + ((np.asarray(pose[1]) - track.t[key]) if pose[1] is not None else 0.0)
    elif pose[1] is not None:
        t = np.asarray(pose[1], dtype=np.float64)
    return R, t


def frame_labels(
    frames: int | Iterable[int], keyframes: Mapping[int, Pose], track: SmoothedTrack | None = None
) -> list[FrameLabel | None]:
    """`frames`: the frame numbers in order (or their count, for 0..n-1);
    `keyframes`: frame number -> (R, t or None); `track`: a SmoothedTrack with
    one entry per frame, or None. Interpolation runs on the frame numbers, so a
    missing frame number (BIWI skips a few) keeps the motion's timing."""
    numbers = list(range(frames)) if isinstance(frames, int) else [int(f) for f in frames]
    n = len(numbers)
    out: list[FrameLabel | None] = [None] * n
    keys = [i for i, f in enumerate(numbers) if f in keyframes]
    for i in keys:
        R, t = keyframes[numbers[i]]
        out[i] = FrameLabel(
            numbers[i],
            np.asarray(R, dtype=np.float64).reshape(3, 3),
            None if t is None else np.asarray(t, dtype=np.float64),
            KEYFRAME,
        )
    for k0, k1 in zip(keys, keys[1:]):
        inner = range(k0 + 1, k1)
        first, last = out[k0], out[k1]
        assert first is not None and last is not None  # every keyframe was set above
        p0, p1 = (first.R, first.t), (last.R, last.t)
        poses = interpolate_between(numbers[k0], p0, numbers[k1], p1, [numbers[i] for i in inner])
        for i, (R, t) in zip(inner, poses):
            out[i] = FrameLabel(numbers[i], R, t, INTERPOLATED)
    for i in range(n):
        if keys and keys[0] <= i <= keys[-1]:
            continue
        if not keys:
            if track is not None:
                out[i] = FrameLabel(numbers[i], track.R[i], None if track.t is None else track.t[i], SMOOTHED_PROPOSAL)
            continue
        key = keys[0] if i < keys[0] else keys[-1]
        nearest = out[key]
        assert nearest is not None  # a keyframe
        pose = (nearest.R, nearest.t)
        if track is not None:
            R, t = _carried(track, i, key, pose)
            out[i] = FrameLabel(numbers[i], R, t, SMOOTHED_PROPOSAL)
        else:
            out[i] = FrameLabel(numbers[i], pose[0], pose[1], INTERPOLATED)
    return out
