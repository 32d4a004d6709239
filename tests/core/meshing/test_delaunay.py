"""Face triangulation: checked with independent geometry (3D normals, matplotlib's
point-in-polygon) on the real AFLW2000 samples, on FaceMesh output for them, and
on the reference face under known poses.

Expected triangle counts. A Delaunay triangulation of n points with h of them on
the convex hull has 2n - 2 - h triangles (Euler). ibug68: n = 68, h ~ 20 (jaw +
brow tops) -> ~114; the eyes lose 4 each (a hexagon is 4 triangles), the inner
mouth up to 6, the temples and the gaps under the brow ends a few more: 80-120.
mediapipe468: n = 468, h ~ 30-40 (the face oval) -> ~890; the eyes lose 14 each
(16-gons) and the inner mouth 18 (20-gon): ~845, so 800-900.
"""

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from tests.conftest import require_shared
from tests.core.meshing.aflw_helpers import load_sample, sample_paths
from workers.core import geometry
from workers.core.meshing import IBUG68, MEDIAPIPE468, MeshingError, build_face_mesh, lift_relative_depth
from workers.core.proposers.parts.reference_face import load_reference_face


def _check_mesh(p2, p3, faces, scheme):
    v0, v1, v2 = (p3[faces[:, k]] for k in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    centroids3 = (v0 + v1 + v2) / 3
    # the camera sits at the origin: a front face's normal points back toward it
    assert np.all(np.einsum("ij,ij->i", normals, -centroids3) > 0), "a triangle faces away from the camera"
    assert np.linalg.norm(normals, axis=1).min() > 1e-9, "degenerate 3D triangle"
    e1, e2 = p2[faces[:, 1]] - p2[faces[:, 0]], p2[faces[:, 2]] - p2[faces[:, 0]]
    cross = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    assert np.all(cross < 0), "not counter-clockwise on screen (y down)"
    assert len(np.unique(np.sort(faces, axis=1), axis=0)) == len(faces), "duplicate triangle"

    centroids2 = p2[faces].mean(axis=1)
    for name, loop in scheme.holes.items():
        loop = np.asarray(loop)
        assert not np.isin(faces, loop).all(axis=1).any(), f"a triangle spans the {name}"
        assert not MplPath(p2[loop]).contains_points(centroids2).any(), f"a triangle lies in the {name}"
    inner = p2[np.asarray(scheme.inner)]
    from scipy.spatial import ConvexHull

    in_face = MplPath(p2[np.asarray(scheme.outline)]).contains_points(centroids2)
    in_face |= MplPath(inner[ConvexHull(inner).vertices]).contains_points(centroids2)
    assert in_face.all(), "a triangle lies outside the face"


def _coverage(p2, faces, scheme, rng):
    """Fraction of random points inside the outline (not in a hole) that some
    triangle covers: triangles must not be dropped where the face is."""
    lo, hi = p2.min(0), p2.max(0)
    pts = rng.uniform(lo, hi, size=(4000, 2))
    pts = pts[MplPath(p2[np.asarray(scheme.outline)]).contains_points(pts)]
    for loop in scheme.holes.values():
        pts = pts[~MplPath(p2[np.asarray(loop)]).contains_points(pts)]
    covered = np.zeros(len(pts), bool)
    for tri in p2[faces]:
        covered |= MplPath(tri).contains_points(pts, radius=1e-9)
    return covered.mean()


def test_real_aflw_samples_ibug68(aflw_samples_dir):
    rng = np.random.default_rng(0)
    for path in sample_paths(aflw_samples_dir):
        image, p2, p3, K = load_sample(path)
        mesh = build_face_mesh(p2, p3, "ibug68", image.shape[1::-1])
        assert mesh.vertices.shape == (68, 3) and mesh.faces.dtype == np.int32
        assert np.abs(geometry.project_points(mesh.vertices, K) - p2).max() < 1.0, path.name
        assert 80 <= len(mesh.faces) <= 120, (path.name, len(mesh.faces))
        _check_mesh(p2, mesh.vertices, mesh.faces, IBUG68)
        # on every sample, most of the jaw/brow polygon is meshed (turned faces too)
        assert _coverage(p2, mesh.faces, IBUG68, rng) > 0.9, path.name


@pytest.fixture(scope="module")
def facemesh_samples():
    """FaceMesh's 468 landmarks on the real samples from the project's detector,
    lifted to camera mm at the AFLW face depth."""
    from workers.core.proposers.parts.detection import detect_faces

    aflw_samples_dir = require_shared("data", "aflw2000", "samples")
    out = []
    for path in sample_paths(aflw_samples_dir):
        image, _p2_68, p3_68, K = load_sample(path)
        faces = [f for f in detect_faces(image) if f.landmarks is not None]
        lm = None if not faces else max(faces, key=lambda f: f.score).landmarks[:, :3]
        if lm is not None:
            out.append((path.name, image, lm, K, float(p3_68[:, 2].mean())))
    assert len(out) >= 8, "FaceMesh found too few of the 10 sample faces"
    return out


def test_real_facemesh_468(facemesh_samples):
    rng = np.random.default_rng(1)
    for name, image, lm, K, depth in facemesh_samples:
        p3 = lift_relative_depth(lm[:, :2], lm[:, 2], K, depth)
        mesh = build_face_mesh(lm[:, :2], p3, "mediapipe468", image.shape[1::-1])
        assert np.abs(geometry.project_points(mesh.vertices, K) - lm[:, :2]).max() < 1.0
        assert 800 <= len(mesh.faces) <= 900, (name, len(mesh.faces))
        _check_mesh(lm[:, :2], mesh.vertices, mesh.faces, MEDIAPIPE468)
        assert _coverage(lm[:, :2], mesh.faces, MEDIAPIPE468, rng) > 0.97, name


@pytest.mark.parametrize("scheme", ["ibug68", "mediapipe468"])
def test_reference_face_under_known_poses(scheme):
    points = load_reference_face().points(scheme)
    K = geometry.default_intrinsics(640, 480)
    rng = np.random.default_rng(7)
    for _ in range(12):
        euler = rng.uniform([-60, -35, -40], [60, 35, 40])
        R = geometry.euler_to_matrix(euler)
        t = np.array([rng.uniform(-80, 80), rng.uniform(-50, 50), rng.uniform(450, 1200)])
        p3 = geometry.transform(points, R, t)
        p2 = geometry.project_points(p3, K)
        mesh = build_face_mesh(p2, p3, scheme, (640, 480))
        _check_mesh(p2, mesh.vertices, mesh.faces, IBUG68 if scheme == "ibug68" else MEDIAPIPE468)


def _synthetic_68():
    points = load_reference_face().points68
    K = geometry.default_intrinsics(400, 400)
    p3 = geometry.transform(points, np.eye(3), [0, 0, 600])
    return geometry.project_points(p3, K), p3


def test_closed_mouth_duplicates_are_not_degenerate():
    p2, p3 = _synthetic_68()
    for a, b in ((61, 67), (62, 66), (63, 65)):  # lips pressed together: coincident points
        p2[b], p3[b] = p2[a], p3[a]
    mesh = build_face_mesh(p2, p3, "ibug68", (400, 400))
    _check_mesh(p2, p3, mesh.faces, IBUG68)


def test_mirrored_face_keeps_the_winding():
    p2, p3 = _synthetic_68()
    p2m = p2.copy()
    p2m[:, 0] = 399 - p2m[:, 0]
    p3m = p3 * [-1, 1, 1]
    p3m[:, 0] += 399 * p3[:, 2] / 400  # keep the 3D points on the mirrored rays
    mesh = build_face_mesh(p2m, p3m, "ibug68", (400, 400))
    _check_mesh(p2m, p3m, mesh.faces, IBUG68)


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda p2, p3: (p2[:60], p3[:60]), "68 landmarks"),
        (lambda p2, p3: (p2, p3[:, :2]), "(N, 3)"),
        (lambda p2, p3: (np.where(np.arange(68)[:, None] == 5, np.nan, p2), p3), "NaN"),
        (lambda p2, p3: (p2, p3 * [1, 1, -1]), "in front of the camera"),
        (lambda p2, p3: (p2 + 5000, p3), "outside the image"),
        (lambda p2, p3: (np.zeros_like(p2), p3), "collinear"),
    ],
)
def test_bad_input_raises_meshing_error(bad, message):
    p2, p3 = _synthetic_68()
    p2b, p3b = bad(p2, p3)
    with pytest.raises(MeshingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_face_mesh(p2b, p3b, "ibug68", (400, 400))
    assert issubclass(MeshingError, ValueError)


def test_unknown_scheme():
    with pytest.raises(MeshingError, match="unknown landmark scheme"):
        build_face_mesh(np.zeros((5, 2)), np.ones((5, 3)), "dlib5")
