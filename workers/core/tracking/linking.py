"""Detections linked into one track per face across frames.

Each frame's detections join the live tracks greedily, best pair first. A pair
must overlap (box IoU >= min_iou); among overlapping pairs, pose continuity
decides (score = IoU - rotation gap / 180 deg), so two crossing faces keep
their tracks. A track survives `max_gap` frames without a detection; a
detection that joins no track starts a new one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .. import geometry
from ..matching import MIN_IOU, box_iou


@dataclass
class Detection:
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) pixels
    R: NDArray[np.float64] | None = None  # (3, 3), when the detector gave a pose


@dataclass
class Track:
    members: dict[int, int] = field(default_factory=dict)  # frame -> index of the detection in that frame

    def last(self) -> int:
        # frames join in increasing order, so the last one added is the latest
        out: int = next(reversed(self.members))
        return out


def link_detections(frames: list[list[Detection]], min_iou: float = MIN_IOU, max_gap: int = 10) -> list[Track]:
    tracks: list[Track] = []
    for f, detections in enumerate(frames):
        live = [k for k, tr in enumerate(tracks) if f - tr.last() <= max_gap + 1]
        pairs: list[tuple[float, int, int]] = []
        for k in live:
            tr = tracks[k]
            last = frames[tr.last()][tr.members[tr.last()]]
            if not detections:
                break
            ious = box_iou([last.box], [d.box for d in detections])[0]
            for d, det in enumerate(detections):
                if ious[d] < min_iou:
                    continue
                gap = 0.0
                if last.R is not None and det.R is not None:
                    gap = float(geometry.geodesic_distance(np.asarray(last.R), np.asarray(det.R)))
                pairs.append((ious[d] - gap / 180.0, k, d))
        taken_tracks: set[int] = set()
        taken_dets: set[int] = set()
        for _, k, d in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
            if k not in taken_tracks and d not in taken_dets:
                tracks[k].members[f] = d
                taken_tracks.add(k)
                taken_dets.add(d)
        for d in range(len(detections)):
            if d not in taken_dets:
                tracks.append(Track(members={f: d}))
    return tracks
