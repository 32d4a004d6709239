"""A per-face triangle mesh from 2D landmarks and their 3D camera-frame positions.

The triangulation is a 2D Delaunay of the landmarks in the image, cleaned up:
- holes (eyes, inner mouth; see schemes.py): a triangle goes when its three
  corners all lie on one hole loop, or its centroid lies inside a hole loop;
- outside the face: a triangle goes when its centroid lies outside both the
  outline loop (even-odd rule) and the convex hull of the inner features (brows,
  eyes, nose, mouth; see schemes.py for why a turned face needs the latter);
- degenerate: a triangle goes when its image or 3D area is (nearly) zero.

Winding: every triangle is counter-clockwise on screen as the camera sees the
image (x right, y down: the 2D cross product (p1-p0) x (p2-p0) is negative).
In the right-handed OpenCV camera frame that is the same as the right-hand-rule
normal pointing toward the camera, which is also glTF's front face, so the mesh
renders front-facing without culling tricks. When the 3D vertices project onto
the 2D landmarks (as they should), the 2D and 3D statements are equivalent.

Vertex i is landmark i, always: landmarks that end up in no triangle are kept as
unreferenced vertices so that indices stay meaningful to callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import ConvexHull, Delaunay, QhullError

from workers.core.meshing.schemes import LandmarkScheme, MeshingError, get_scheme


class FaceMeshGeometry(NamedTuple):
    vertices: NDArray[np.float64]  # (N, 3) float64, camera frame, mm; row i = landmark i
    faces: NDArray[np.int32]  # (M, 3) counter-clockwise on screen


def points_in_polygon(points: NDArray[np.float64], polygon: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Even-odd test of (M, 2) points against a closed (K, 2) loop -> (M,) bool."""
    p = np.asarray(points, dtype=np.float64)
    a = np.asarray(polygon, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    px, py = p[:, None, 0], p[:, None, 1]
    straddles = (a[None, :, 1] > py) != (b[None, :, 1] > py)
    dy = b[:, 1] - a[:, 1]
    safe_dy = np.where(dy == 0, 1.0, dy)  # edges with dy == 0 never straddle
    x_cross = a[None, :, 0] + (py - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / safe_dy[None, :]
    crossings = straddles & (px < x_cross)
    out: NDArray[np.bool_] = (np.count_nonzero(crossings, axis=1) % 2) == 1
    return out


def signed_area_2d(points_2d: NDArray[np.float64], faces: NDArray[np.integer[Any]]) -> NDArray[np.float64]:
    """Half the 2D cross product per triangle; negative = counter-clockwise on screen."""
    p0, p1, p2 = (points_2d[faces[:, k]] for k in range(3))
    e1, e2 = p1 - p0, p2 - p0
    out: NDArray[np.float64] = 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    return out


def triangle_areas_3d(vertices: NDArray[np.float64], faces: NDArray[np.integer[Any]]) -> NDArray[np.float64]:
    v0, v1, v2 = (vertices[faces[:, k]] for k in range(3))
    out: NDArray[np.float64] = 0.5 * np.linalg.norm(np.cross(v1 - v0, v2 - v0), axis=1)
    return out


def _validate(
    landmarks_2d: ArrayLike | None,
    landmarks_3d: ArrayLike | None,
    scheme: LandmarkScheme,
    image_size: Sequence[float] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if landmarks_2d is None or landmarks_3d is None:
        raise MeshingError("no landmarks were given")
    p2 = np.asarray(landmarks_2d, dtype=np.float64)
    p3 = np.asarray(landmarks_3d, dtype=np.float64)
    if p2.ndim != 2 or p2.shape[1] != 2:
        raise MeshingError(f"landmarks_2d must be (N, 2) pixels, got shape {p2.shape}")
    if p3.ndim != 2 or p3.shape[1] != 3:
        raise MeshingError(f"landmarks_3d must be (N, 3) camera-frame mm, got shape {p3.shape}")
    if len(p2) != len(p3):
        raise MeshingError(f"{len(p2)} 2D landmarks but {len(p3)} 3D landmarks")
    n = scheme.n_points
    # FaceMesh with refine_landmarks appends 10 iris points after the 468; they sit
    # inside the eye holes, so they are dropped rather than refused.
    if scheme.name == "mediapipe468" and len(p2) == 478:
        p2, p3 = p2[:468], p3[:468]
    if len(p2) != n:
        raise MeshingError(f"scheme {scheme.name} has {n} landmarks, got {len(p2)}")
    if not (np.all(np.isfinite(p2)) and np.all(np.isfinite(p3))):
        raise MeshingError("landmarks contain NaN or infinite values")
    if np.any(p3[:, 2] <= 0):
        raise MeshingError("3D landmarks must lie in front of the camera (z > 0 mm)")
    if image_size is not None:
        width, height = image_size
        lo, hi = p2.min(axis=0), p2.max(axis=0)
        if hi[0] < -0.5 or hi[1] < -0.5 or lo[0] > width - 0.5 or lo[1] > height - 0.5:
            raise MeshingError("the landmarks lie entirely outside the image")
    return p2, p3


def build_face_mesh(
    landmarks_2d: ArrayLike | None,
    landmarks_3d: ArrayLike | None,
    scheme: str = "ibug68",
    image_size: Sequence[int] | None = None,
) -> FaceMeshGeometry:
    """Triangulate one face; see the module docstring for the rules.

    landmarks_2d: (N, 2) pixels, (0, 0) = centre of the top-left pixel.
    landmarks_3d: (N, 3) the same landmarks in the camera frame, mm.
    image_size: (width, height), only used to refuse faces wholly outside the image.
    """
    sch = get_scheme(scheme)
    p2, p3 = _validate(landmarks_2d, landmarks_3d, sch, image_size)
    try:
        tri = Delaunay(p2)
    except QhullError as exc:
        raise MeshingError(f"the landmarks cannot be triangulated (collinear?): {exc}") from None
    faces = tri.simplices.astype(np.int64)
    centroids = p2[faces].mean(axis=1)

    keep = np.ones(len(faces), dtype=bool)
    for loop in sch.holes.values():
        loop_idx = np.asarray(loop)
        on_loop = np.isin(faces, loop_idx).all(axis=1)
        keep &= ~on_loop & ~points_in_polygon(centroids, p2[loop_idx])
    inner = p2[np.asarray(sch.inner)]
    try:
        inner_hull = inner[ConvexHull(inner).vertices]
    except QhullError:
        raise MeshingError("the inner landmarks (eyes, nose, mouth) are collinear or coincide") from None
    keep &= points_in_polygon(centroids, p2[np.asarray(sch.outline)]) | points_in_polygon(centroids, inner_hull)

    # scale-relative thresholds: "zero" area means zero compared to the face size
    size_2d = float(np.ptp(p2, axis=0).max()) or 1.0
    size_3d = float(np.ptp(p3, axis=0).max()) or 1.0
    area2 = signed_area_2d(p2, faces)
    keep &= np.abs(area2) > 1e-7 * size_2d**2
    keep &= triangle_areas_3d(p3, faces) > 1e-7 * size_3d**2

    faces, area2 = faces[keep], area2[keep]
    clockwise = area2 > 0
    faces[clockwise] = faces[clockwise][:, [0, 2, 1]]
    if len(faces) == 0:
        raise MeshingError("no triangle is left after removing holes and degenerate triangles")
    return FaceMeshGeometry(vertices=p3, faces=faces.astype(np.int32))


def backproject(landmarks_2d: ArrayLike, depths_mm: ArrayLike, K: ArrayLike) -> NDArray[np.float64]:
    """(N, 2) pixels + (N,) depths (camera z, mm) -> (N, 3) camera-frame points that
    project exactly onto the pixels with K."""
    p2 = np.asarray(landmarks_2d, dtype=np.float64)
    z = np.asarray(depths_mm, dtype=np.float64).reshape(-1)
    K = np.asarray(K, dtype=np.float64)
    if p2.ndim != 2 or p2.shape[1] != 2 or len(z) != len(p2):
        raise MeshingError(f"need (N, 2) pixels and N depths, got {p2.shape} and {z.shape}")
    x = (p2[:, 0] - K[0, 2]) / K[0, 0]
    y = (p2[:, 1] - K[1, 2]) / K[1, 1]
    return np.stack([x * z, y * z, z], axis=1)


def lift_relative_depth(
    landmarks_2d: ArrayLike, relative_depth_px: ArrayLike, K: ArrayLike, centroid_depth_mm: float
) -> NDArray[np.float64]:
    """Camera-frame mm for landmarks whose depth is only known relative to the face,
    in pixel units (FaceMesh's z: same scale as x, smaller = nearer the camera).

    The face centroid is put at `centroid_depth_mm`; at that depth one pixel is
    centroid_depth_mm / fx mm, which converts the relative depths. The result
    projects exactly onto landmarks_2d. Typical use: centroid_depth_mm = t_z of a
    pose fitted to the same landmarks.
    """
    rel = np.asarray(relative_depth_px, dtype=np.float64).reshape(-1)
    if not np.isfinite(centroid_depth_mm) or centroid_depth_mm <= 0:
        raise MeshingError("centroid_depth_mm must be a positive distance in mm")
    mm_per_px = centroid_depth_mm / float(np.asarray(K)[0, 0])
    depths = centroid_depth_mm + (rel - rel.mean()) * mm_per_px
    return backproject(landmarks_2d, depths, K)
