"""The real-data convention check of POSE_CONVENTIONS.md on the AFLW2000 samples.

Each sample's 68 3D landmarks, un-rotated with the transpose of the rotation
built from its own Pose_Para, must give the same (frontal) face for every sample.
Only the right convention achieves that; a transposed matrix or a flipped sign
leaves tens of degrees between samples. Independently of any rotation code,
the landmarks also show which way each angle turns the face.
"""

import itertools

import numpy as np
import pytest
import scipy.io

from tests.conftest import require_shared
from workers.core import geometry as g

NOSE_TIP, CHIN = 30, 8
EYE_IMAGE_LEFT, EYE_IMAGE_RIGHT = list(range(36, 42)), list(range(42, 48))


@pytest.fixture(scope="module")
def samples():
    folder = require_shared("data", "aflw2000", "samples")
    files = sorted(folder.glob("*.mat"))
    assert len(files) == 10, f"expected the 10 AFLW2000 samples in {folder}, found {len(files)}"
    out = []
    for f in files:
        mat = scipy.io.loadmat(f)
        pitch, yaw, roll = mat["Pose_Para"][0, :3]  # radians
        pts = np.asarray(mat["pt3d_68"], dtype=np.float64)
        assert pts.shape == (3, 68)
        out.append({"name": f.stem, "ypr": np.rad2deg([yaw, pitch, roll]), "pt3d": pts})
    return out


def camera_like(pt3d, depth_sign=-1.0):
    """(68, 3) centred: x right, y down (as stored), z = -depth (away from viewer)."""
    X = np.stack([pt3d[0], pt3d[1], depth_sign * pt3d[2]], 1)
    return X - X.mean(0)


def kabsch_angle(A, B):
    """Degrees of the best rotation (not reflection) taking A onto B (both centred)."""
    U, _, Vt = np.linalg.svd(A.T @ B)
    d = np.sign(np.linalg.det(U @ Vt))
    R = U @ np.diag([1.0, 1.0, d]) @ Vt
    return np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1)))


def residuals(samples, rotation_of, depth_sign=-1.0):
    """Pairwise residual rotation (deg) between the un-rotated, scale-normalised faces."""
    faces = []
    for s in samples:
        X = camera_like(s["pt3d"], depth_sign)
        R = rotation_of(s["ypr"])
        Y = X @ R  # rows: R^T x
        faces.append(Y / np.linalg.norm(Y))
    return np.array([kabsch_angle(a, b) for a, b in itertools.combinations(faces, 2)])


def test_depth_points_toward_viewer(samples):
    # the nose tip sticks out toward the camera, so pt3d's z grows toward the viewer
    for s in samples:
        z = s["pt3d"][2]
        assert z[NOSE_TIP] > z.mean(), s["name"]


def test_right_convention_makes_all_samples_agree(samples):
    res = residuals(samples, g.euler_to_matrix)
    # doc: median 1.4, max 3 on 16 samples
    assert np.median(res) < 2.5, res
    assert res.max() < 5.0, res


@pytest.mark.parametrize("wrong", ["transposed", "yaw flipped", "pitch flipped", "z toward viewer"])
def test_wrong_conventions_leave_large_residuals(samples, wrong):
    right = residuals(samples, g.euler_to_matrix)
    if wrong == "transposed":
        res = residuals(samples, lambda e: g.euler_to_matrix(e).T)
    elif wrong == "yaw flipped":
        res = residuals(samples, lambda e: g.euler_to_matrix(e * [-1, 1, 1]))
    elif wrong == "pitch flipped":
        res = residuals(samples, lambda e: g.euler_to_matrix(e * [1, -1, 1]))
    else:
        res = residuals(samples, g.euler_to_matrix, depth_sign=+1.0)
    assert np.median(res) > 10 * np.median(right), (wrong, np.median(res))
    assert res.max() > 90, (wrong, res.max())


@pytest.mark.parametrize("wrong", ["transposed", "yaw flipped"])
def test_documented_over_100_degrees(samples, wrong):
    flip = (
        (lambda e: g.euler_to_matrix(e).T) if wrong == "transposed" else (lambda e: g.euler_to_matrix(e * [-1, 1, 1]))
    )
    assert residuals(samples, flip).max() > 100


def test_roll_flip_is_detected(samples):
    # the samples' rolls are small, so a roll flip hurts less but must still show
    right = residuals(samples, g.euler_to_matrix)
    res = residuals(samples, lambda e: g.euler_to_matrix(e * [1, 1, -1]))
    assert np.median(res) > 4 * np.median(right)
    assert res.max() > 20


# ------------------------------------------------ sign meanings, landmarks only
def test_positive_yaw_turns_nose_to_image_left(samples):
    checked = 0
    for s in samples:
        yaw = s["ypr"][0]
        if abs(yaw) < 10:
            continue  # small yaws: the face's own asymmetry can dominate
        x = s["pt3d"][0]
        offset = x[NOSE_TIP] - x.mean()
        assert np.sign(offset) == -np.sign(yaw), (s["name"], yaw, offset)
        checked += 1
    assert checked >= 5
    assert {np.sign(s["ypr"][0]) for s in samples if abs(s["ypr"][0]) >= 10} == {-1.0, 1.0}


def test_positive_pitch_lifts_chin(samples):
    checked = 0
    for s in samples:
        pitch = s["ypr"][1]
        if abs(pitch) < 10:
            continue
        z = s["pt3d"][2]  # toward the viewer
        assert np.sign(z[CHIN] - z.mean()) == np.sign(pitch), (s["name"], pitch)
        checked += 1
    assert checked >= 5
    assert {np.sign(s["ypr"][1]) for s in samples if abs(s["ypr"][1]) >= 10} == {-1.0, 1.0}


def test_pitch_orders_nose_height_between_eyes_and_chin(samples):
    # in the image, the nose tip climbs toward the eye line as the chin goes up
    pitch, frac = [], []
    for s in samples:
        y = s["pt3d"][1]
        eyes = (y[EYE_IMAGE_LEFT].mean() + y[EYE_IMAGE_RIGHT].mean()) / 2
        pitch.append(s["ypr"][1])
        frac.append((y[NOSE_TIP] - eyes) / (y[CHIN] - eyes))

    def rank(v):
        return np.argsort(np.argsort(v))

    spearman = np.corrcoef(rank(pitch), rank(frac))[0, 1]
    assert spearman < -0.8, spearman


def test_positive_roll_tilts_head_top_to_image_right(samples):
    checked = 0
    for s in samples:
        yaw, _, roll = s["ypr"]
        if abs(roll) < 5 or abs(yaw) > 40:
            continue  # strong yaw bends the eye line on its own
        p = s["pt3d"]
        left, right = p[:2, EYE_IMAGE_LEFT].mean(1), p[:2, EYE_IMAGE_RIGHT].mean(1)
        # top of head to the right = clockwise on screen = the image-right eye drops (y down)
        assert np.sign(right[1] - left[1]) == np.sign(roll), (s["name"], roll)
        checked += 1
    assert checked >= 4
    assert {np.sign(s["ypr"][2]) for s in samples if abs(s["ypr"][2]) >= 5} == {-1.0, 1.0}


def test_rotation_predicts_landmark_directions(samples):
    # the rotated head axes point where the landmarks say: nose along -z_head,
    # chin along +y_head (in the camera-like frame built from pt3d)
    for s in samples:
        R = g.euler_to_matrix(s["ypr"])
        X = camera_like(s["pt3d"])
        nose_dir = X[NOSE_TIP] / np.linalg.norm(X[NOSE_TIP])
        chin_dir = X[CHIN] / np.linalg.norm(X[CHIN])
        assert nose_dir @ -R[:, 2] > 0.95, s["name"]
        assert chin_dir @ R[:, 1] > 0.95, s["name"]
