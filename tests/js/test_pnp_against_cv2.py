"""The editor's JS PnP solver (static/js/editor/pnp.js, run in node through
bench/pnp_stdio.mjs) against cv2.solvePnP(SOLVEPNP_ITERATIVE, useExtrinsicGuess)
from the same start, on the real AFLW2000 samples and on random poses; and what
pinning a few true landmark positions gives on the real samples."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io as sio

from bench.pnp_node import NodeSolver, pose
from tests.conftest import require_shared
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics, parse_labels
from workers.core.proposers.parts.reference_face import load_reference_face

ANGLE_TOL_DEG = 0.05
TRANSLATION_TOL_MM = 0.5
# Eye corners, nose tip, mouth corners, chin: points an annotator places well.
WELL_PLACED = [36, 39, 42, 45, 30, 48, 54, 8]


@pytest.fixture(scope="module")
def solver():
    if shutil.which("node") is None:
        pytest.fail("node is needed: the editor's solver is JavaScript")
    with NodeSolver() as s:
        yield s


@pytest.fixture(scope="module")
def samples():
    folder = require_shared("data", "aflw2000", "samples")
    out = []
    for mat_path in sorted(Path(folder).glob("*.mat")):
        label = parse_labels(sio.loadmat(mat_path), 450, 450, mat_path.name)
        out.append((mat_path.stem, label))
    assert len(out) >= 10
    return out


def model():
    return load_reference_face().points68


def cv2_pnp(P, uv, K, start_R, start_t):
    rvec, _ = cv2.Rodrigues(np.asarray(start_R, dtype=np.float64))
    ok, rvec, tvec = cv2.solvePnP(
        P.astype(np.float64),
        uv.astype(np.float64),
        K,
        None,
        rvec.copy(),
        np.asarray(start_t, dtype=np.float64).reshape(3, 1).copy(),
        True,
        cv2.SOLVEPNP_ITERATIVE,
    )
    assert ok
    return cv2.Rodrigues(rvec)[0], tvec.ravel()


def js_pnp(solver, P, uv, K, start_R, start_t):
    out = solver.call("solvePnP", K=K.reshape(9), points3d=P, points2d=uv, start=pose(start_R, start_t))
    return np.array(out["R"]).reshape(3, 3), np.array(out["t"])


def assert_agree(js, cv, what):
    angle = float(geometry.geodesic_distance(js[0], cv[0]))
    shift = float(np.linalg.norm(js[1] - cv[1]))
    assert angle <= ANGLE_TOL_DEG and shift <= TRANSLATION_TOL_MM, f"{what}: {angle:.4f} deg, {shift:.4f} mm apart"


def perturbed(R, t, rng, degrees, mm):
    axis = rng.normal(size=3)
    return geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.deg2rad(degrees)) @ R, t + rng.normal(
        0, mm, 3
    )


def test_agrees_with_cv2_on_real_samples(solver, samples):
    rng = np.random.default_rng(13)
    K = model_intrinsics(450, 450)
    P = model()
    for name, label in samples:
        uv = np.asarray(label.landmarks_2d)
        subsets = [np.arange(68)] + [np.sort(rng.choice(68, n, replace=False)) for n in (6, 8, 12, 30)]
        for idx in subsets:
            start = perturbed(label.R, label.t, rng, 10, 20)
            assert_agree(
                js_pnp(solver, P[idx], uv[idx], K, *start),
                cv2_pnp(P[idx], uv[idx], K, *start),
                f"{name}, {len(idx)} points",
            )


def test_agrees_with_cv2_on_random_poses(solver):
    rng = np.random.default_rng(7)
    P = model()
    for case in range(60):
        f = rng.uniform(400, 5000)
        W, H = 640, 480
        K = np.array([[f, 0, (W - 1) / 2], [0, f * rng.uniform(0.95, 1.05), (H - 1) / 2], [0, 0, 1]])
        R = geometry.euler_to_matrix(rng.uniform([-75, -45, -40], [75, 45, 40]))
        z = f * 150 / rng.uniform(80, 300)  # the face spans 80-300 px
        t = np.array([rng.uniform(-0.2, 0.2) * z, rng.uniform(-0.2, 0.2) * z, z])
        uv = geometry.project(P, R, t, K) + rng.normal(0, 1.5, (68, 2))
        idx = np.sort(rng.choice(68, rng.integers(6, 69), replace=False))
        start = perturbed(R, t, rng, rng.uniform(2, 15), 0.03 * z)
        assert_agree(
            js_pnp(solver, P[idx], uv[idx], K, *start),
            cv2_pnp(P[idx], uv[idx], K, *start),
            f"random case {case}, {len(idx)} points",
        )


@pytest.mark.parametrize("count", [6, 8])
def test_pinning_true_landmarks_gives_the_pose_within_3_degrees(solver, samples, count):
    """From a frontal start (what the page shows with no proposal), pinning the
    dataset's image positions of `count` well-placed landmarks. The 3D points are
    the reference face (a mean face), not the subject's own: on image02283 even
    all 68 true points give 3.3 deg, so the median is held to 3 deg and every
    sample to 7 deg."""
    K = model_intrinsics(450, 450)
    P = model()
    errors = {}
    for name, label in samples:
        uv = np.asarray(label.landmarks_2d)
        start_t = geometry.translation_from_box(label.box, K, 150.0)
        pins = [{"index": i, "x": float(uv[i, 0]), "y": float(uv[i, 1])} for i in WELL_PLACED[:count]]
        out = solver.call("solvePins", K=K.reshape(9), points3d=P, pins=pins, pose=pose(np.eye(3), start_t))
        assert out["mode"] == "full"
        errors[name] = float(geometry.geodesic_distance(np.array(out["R"]).reshape(3, 3), label.R))
    assert np.median(list(errors.values())) <= 3.0, errors
    assert max(errors.values()) <= 7.0, errors
    # the start was far from most of them: the pins did the work
    assert sum(float(geometry.geodesic_distance(np.eye(3), label.R)) > 10 for _, label in samples) >= 5
