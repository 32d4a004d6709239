"""Angular velocity along a track, and the frames where it jumps (a likely
detector failure the annotator should look at)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import geometry

# A head turns at up to a few hundred degrees per second; a proposal that jumps
# faster than this between two frames is far more likely a detector blunder.
SPIKE_DEG_PER_S = 300.0


def angular_velocity(Rs: ArrayLike, fps: float) -> NDArray[np.float64]:
    """(N, 3, 3) -> (N,) degrees per second of the step into each frame (0 for the first)."""
    Rs = np.asarray(Rs, dtype=np.float64)
    out = np.zeros(len(Rs))
    if len(Rs) > 1:
        out[1:] = geometry.geodesic_distance(Rs[:-1], Rs[1:]) * float(fps)
    return out


def spike_frames(Rs: ArrayLike, fps: float, threshold_deg_per_s: float = SPIKE_DEG_PER_S) -> list[int]:
    """Frames whose step in angular velocity exceeds the threshold."""
    return [int(i) for i in np.nonzero(angular_velocity(Rs, fps) > threshold_deg_per_s)[0]]


def next_spike(spikes: Iterable[int], frame: int) -> int | None:
    """The first spike after `frame`, or None."""
    return next((s for s in sorted(spikes) if s > frame), None)
