"""The project's own 3D reference face, head frame, millimetres.

Head frame (POSE_CONVENTIONS.md): x to image-right, y to the chin, z to the back
of the head (the nose tip has negative z). Origin: the centroid of the 68
iBUG-order points, so `points68.mean(0) == 0`.

How it was made (tools/build_reference_face.py, rerunnable; the result is the
small file assets/reference_face.npz, so nothing in ../shared is read at run time):

- 68 points: generalized Procrustes (rotation + scale) mean of the 3D landmarks of
  all AFLW2000-3D faces with |angles| <= 99 deg (gt_arrays/AFLW2000-3D.pts68.npy,
  image pixels with depth; depth sign flipped into the camera frame). Its
  orientation and size come from the real samples' `Pose_Para`: each sample's
  centred landmarks un-rotated by its ground-truth rotation and divided by
  s * 1000 (Pose_Para s is pixels per BFM unit, and BFM units are micrometres:
  this gives outer eye corners ~86 mm and inner ~37 mm apart, adult values); the
  mean is rotated and scaled onto their average, then made left-right symmetric.
- 468 points (FaceMesh topology): FaceMesh's own 3D output on real faces (the
  AFLW samples, scikit-image's astronaut, cameraman and LFW crops, matplotlib's
  Grace Hopper), each similarity-aligned to the 68-point face through the
  iBUG-68 subset of the mesh (jaw excluded: it slides), averaged with
  Procrustes iterations, and made left-right symmetric.
- ibug68_from_mesh468: which FaceMesh vertex stands for each iBUG point (the
  vertex nearest on average to the ground-truth landmarks on the AFLW samples).
- weights68 / weights468: per-point weights for the landmark fit (the jaw and
  the face outline slide along the silhouette at profile, so they weigh less).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

# the asset stays with the package it describes: workers/core/proposers/assets/
ASSET_PATH = Path(__file__).resolve().parents[1] / "assets" / "reference_face.npz"


class ReferenceFaceError(ValueError):
    pass


@dataclass(frozen=True)
class ReferenceFace:
    points68: NDArray[np.float64]  # (68, 3) mm, iBUG order
    points468: NDArray[np.float64]  # (468, 3) mm, FaceMesh order
    ibug68_from_mesh468: NDArray[np.int64]  # (68,) int
    weights68: NDArray[np.float64]
    weights468: NDArray[np.float64]
    mesh_mirror: NDArray[np.int64]  # (468,) int: FaceMesh vertex -> its left-right mirror vertex
    meta: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def points(self, scheme: str) -> NDArray[np.float64]:
        if scheme == "ibug68":
            return self.points68
        if scheme == "mediapipe468":
            return self.points468
        raise ReferenceFaceError(f"unknown landmark scheme {scheme!r} (ibug68 or mediapipe468)")

    def weights(self, scheme: str) -> NDArray[np.float64]:
        if scheme == "ibug68":
            return self.weights68
        if scheme == "mediapipe468":
            return self.weights468
        raise ReferenceFaceError(f"unknown landmark scheme {scheme!r} (ibug68 or mediapipe468)")


def read_reference_face(path: str | os.PathLike[str]) -> ReferenceFace:
    path = Path(path)
    if not path.is_file():
        raise ReferenceFaceError(
            f"reference face file {path} is missing; rebuild it with tools/build_reference_face.py"
        )
    with np.load(path, allow_pickle=False) as z:
        return reference_face_from_arrays(z, str(path))


def reference_face_from_arrays(arrays: Mapping[str, Any], source: str = "arrays") -> ReferenceFace:
    """A ReferenceFace from the arrays tools/build_reference_face.py writes (a
    mapping; the bench builds leave-one-out faces in memory this way)."""
    try:
        face = ReferenceFace(
            points68=np.asarray(arrays["points68"], dtype=np.float64),
            points468=np.asarray(arrays["points468"], dtype=np.float64),
            ibug68_from_mesh468=np.asarray(arrays["ibug68_from_mesh468"], dtype=np.int64),
            weights68=np.asarray(arrays["weights68"], dtype=np.float64),
            weights468=np.asarray(arrays["weights468"], dtype=np.float64),
            mesh_mirror=np.asarray(arrays["mesh_mirror"], dtype=np.int64),
            meta=json.loads(str(arrays["meta"])),
        )
    except KeyError as exc:
        raise ReferenceFaceError(f"{source} lacks {exc}; rebuild it with tools/build_reference_face.py") from None
    if (
        face.points68.shape != (68, 3)
        or face.points468.shape != (468, 3)
        or face.ibug68_from_mesh468.shape != (68,)
        or face.mesh_mirror.shape != (468,)
    ):
        raise ReferenceFaceError(f"{source} has wrong array shapes")
    return face


@functools.lru_cache(maxsize=1)
def load_reference_face() -> ReferenceFace:
    """The bundled reference face (cached)."""
    return read_reference_face(ASSET_PATH)
