import numpy as np
import pytest

from workers.core import geometry
from workers.core.proposers.parts.reference_face import (
    ASSET_PATH,
    ReferenceFaceError,
    load_reference_face,
    read_reference_face,
)

# iBUG 68 indices (0-based)
CHIN, NOSE_TIP = 8, 30
EYE_OUTER_L, EYE_INNER_L, EYE_INNER_R, EYE_OUTER_R = 36, 39, 42, 45  # L = image-left


@pytest.fixture(scope="module")
def face():
    return load_reference_face()


def test_the_asset_is_small_and_complete(face):
    assert ASSET_PATH.stat().st_size < 64 * 1024
    assert face.points68.shape == (68, 3) and face.points468.shape == (468, 3)
    assert np.all(np.isfinite(face.points68)) and np.all(np.isfinite(face.points468))
    assert face.version
    assert face.weights68.shape == (68,) and face.weights468.shape == (468,)
    assert np.all(face.weights68 > 0) and np.all(face.weights468 > 0)


def test_the_origin_is_the_centroid_of_the_68_points(face):
    assert np.abs(face.points68.mean(0)).max() < 1e-3


def test_the_axes_follow_the_head_frame(face):
    p = face.points68
    assert p[EYE_OUTER_L, 0] < p[EYE_INNER_L, 0] < 0 < p[EYE_INNER_R, 0] < p[EYE_OUTER_R, 0]  # x to image-right
    assert p[CHIN, 1] > p[NOSE_TIP, 1] > p[EYE_OUTER_L, 1]  # y to the chin
    assert p[NOSE_TIP, 2] < p[EYE_OUTER_L, 2] - 20  # nose points to -z
    assert p[0, 2] > p[EYE_OUTER_L, 2] + 30  # the jaw's ends lie toward the back of the head


def test_the_size_is_that_of_an_adult_face_in_mm(face):
    # anthropometric adult means: outer canthi (ex-ex) ~ 85-92 mm, inner (en-en) ~ 30-36 mm,
    # nasion to chin (n-gn) ~ 110-125 mm
    p = face.points68
    assert 80 < np.linalg.norm(p[EYE_OUTER_L] - p[EYE_OUTER_R]) < 95
    assert 27 < np.linalg.norm(p[EYE_INNER_L] - p[EYE_INNER_R]) < 42
    assert 100 < np.linalg.norm(p[27] - p[CHIN]) < 130


def test_it_is_left_right_symmetric(face):
    p = face.points68
    mirror = np.r_[
        16:-1:-1,
        26:16:-1,
        27:31,
        35:30:-1,
        [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40],
        [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55],
        [64, 63, 62, 61, 60, 67, 66, 65],
    ]
    assert np.abs(p - p[mirror] * [-1, 1, 1]).max() < 1e-3


def test_the_468_face_agrees_with_the_68_face_through_the_subset(face):
    sub = face.points468[face.ibug68_from_mesh468]
    no_jaw = np.arange(17, 68)
    rms = np.sqrt(((sub[no_jaw] - face.points68[no_jaw]) ** 2).sum(1).mean())
    assert rms < 4.0  # mm; FaceMesh vertices are not exactly the iBUG definitions
    assert np.abs(face.points468[:, 0].mean()) < 1.0 and face.points468[1, 2] < -30  # vertex 1 = nose tip


def test_it_matches_the_real_samples_unrotated_by_their_ground_truth(face, aflw_samples_dir):
    # independent of the build: each sample's 3D landmarks, un-rotated with its
    # Pose_Para rotation (AFLW convention) and scaled to mm, is close to the reference
    import scipy.io as sio

    for mat in sorted(aflw_samples_dir.glob("*.mat")):
        m = sio.loadmat(mat)
        pitch, yaw, roll, _, _, _, s = m["Pose_Para"][0].astype(float)
        R = geometry.euler_to_matrix(np.rad2deg([yaw, pitch, roll]))
        pts = m["pt3d_68"].T.astype(float) * [1, 1, -1]
        head = (pts - pts.mean(0)) @ R / (s * 1000)
        err = np.linalg.norm(head - face.points68, axis=1)
        assert np.median(err) < 6.0, mat.name
        resid = geometry.geodesic_distance(np.eye(3), _rotation_between(face.points68, head))
        assert resid < 4.0, mat.name


def _rotation_between(A, B):
    U, _, Vt = np.linalg.svd(A.T @ B)
    return geometry.nearest_rotation(U @ Vt).T


def test_a_missing_or_broken_asset_raises_a_clear_error(tmp_path):
    with pytest.raises(ReferenceFaceError, match="missing"):
        read_reference_face(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, points68=np.zeros((68, 3)))
    with pytest.raises(ReferenceFaceError, match="lacks"):
        read_reference_face(bad)
    with pytest.raises(ReferenceFaceError, match="scheme"):
        load_reference_face().points("dlib5")
