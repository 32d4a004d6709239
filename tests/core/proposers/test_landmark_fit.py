import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.core import geometry
from workers.core.proposers.parts.landmark_fit import FitError, fit_pose
from workers.core.proposers.parts.reference_face import load_reference_face


def aflw_K(w=450, h=450):
    f = 10.0 * max(w, h)
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])


@pytest.fixture(scope="module")
def ref():
    return load_reference_face()


@pytest.mark.parametrize("scheme", ["ibug68", "mediapipe468"])
@pytest.mark.parametrize(
    "euler, t, K",
    [
        ([0, 0, 0], [0, 0, 600], geometry.default_intrinsics(640, 480)),
        ([35, -20, 10], [40, -25, 700], geometry.default_intrinsics(640, 480)),
        ([-70, 15, -25], [-60, 30, 900], geometry.default_intrinsics(1280, 720)),
        ([12, 40, 5], [10, 5, 3200], aflw_K()),
        ([85, -5, 0], [0, 0, 500], np.array([[700.0, 0, 300], [0, 690, 250], [0, 0, 1]])),
    ],
)
def test_it_recovers_a_known_pose_exactly(ref, scheme, euler, t, K):
    X = ref.points(scheme)
    R = geometry.euler_to_matrix(euler)
    u = geometry.project(X, R, np.array(t, float), K)
    fit = fit_pose(u, X, K, ref.weights(scheme))
    assert geometry.geodesic_distance(R, fit.R) < 1e-6
    assert np.abs(fit.t - t).max() < 1e-6
    assert fit.rms_px < 1e-6 and fit.converged


@settings(max_examples=30, deadline=None)
@given(
    yaw=st.floats(-80, 80),
    pitch=st.floats(-60, 60),
    roll=st.floats(-60, 60),
    tx=st.floats(-100, 100),
    ty=st.floats(-100, 100),
    tz=st.floats(300, 3000),
)
def test_it_recovers_random_poses_from_a_bad_start(yaw, pitch, roll, tx, ty, tz):
    X = load_reference_face().points68
    K = geometry.default_intrinsics(640, 480)
    R = geometry.euler_to_matrix([yaw, pitch, roll])
    t = np.array([tx, ty, tz])
    u = geometry.project(X, R, t, K)
    start = (geometry.euler_to_matrix([yaw + 15, pitch - 12, roll + 10]), t * [1, 1, 1.2] + [20, -20, 0])
    fit = fit_pose(u, X, K, init=start)
    assert geometry.geodesic_distance(R, fit.R) < 1e-6
    assert np.abs(fit.t - t).max() < 1e-6


def test_it_agrees_with_opencv_on_noisy_points_without_weights(ref):
    rng = np.random.default_rng(7)
    X = ref.points68
    K = geometry.default_intrinsics(640, 480)
    R = geometry.euler_to_matrix([25, 10, -8])
    u = geometry.project(X, R, np.array([15.0, -5, 650]), K) + rng.normal(0, 1.5, (68, 2))
    fit = fit_pose(u, X, K)
    ok, rvec, tvec = cv2.solvePnP(X, u, K, None, flags=cv2.SOLVEPNP_ITERATIVE)
    assert ok
    assert geometry.geodesic_distance(geometry.axis_angle_to_matrix(rvec[:, 0]), fit.R) < 1e-3
    assert np.abs(tvec[:, 0] - fit.t).max() < 1e-2
    # and its cost is no worse than OpenCV's optimum
    ocv = geometry.project(X, geometry.axis_angle_to_matrix(rvec[:, 0]), tvec[:, 0], K)
    assert fit.rms_px <= np.sqrt(((ocv - u) ** 2).sum(1).mean()) + 1e-9


def test_zero_weights_ignore_corrupted_points(ref):
    X = ref.points468
    K = geometry.default_intrinsics(640, 480)
    R = geometry.euler_to_matrix([-30, 5, 12])
    t = np.array([0.0, 20, 800])
    u = geometry.project(X, R, t, K)
    u[:100] += 40  # a badly wrong region
    w = np.ones(468)
    w[:100] = 0
    fit = fit_pose(u, X, K, w)
    assert geometry.geodesic_distance(R, fit.R) < 1e-6
    unweighted = fit_pose(u, X, K)
    assert geometry.geodesic_distance(R, unweighted.R) > 0.1


def test_a_larger_face_model_puts_the_face_farther_away(ref):
    # the scale ambiguity: same image, face model 10 % larger -> t 10 % larger, same R
    X = ref.points68
    K = geometry.default_intrinsics(640, 480)
    u = geometry.project(X, geometry.euler_to_matrix([10, 5, 0]), np.array([5.0, 5, 700]), K)
    a = fit_pose(u, X, K)
    b = fit_pose(u, X * 1.1, K)
    assert geometry.geodesic_distance(a.R, b.R) < 1e-6
    assert np.allclose(b.t, a.t * 1.1)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((5, 2)), np.zeros((5, 3))), "at least 6"),
        ((np.zeros((10, 2)), np.zeros((9, 3))), r"\(N, 2\)"),
        ((np.zeros((10, 3)), np.zeros((10, 3))), r"\(N, 2\)"),
    ],
)
def test_it_rejects_bad_input_with_a_message(args, match):
    with pytest.raises(FitError, match=match):
        fit_pose(*args, geometry.default_intrinsics(640, 480))


def test_it_rejects_bad_weights_and_K(ref):
    X = ref.points68
    u = geometry.project(X, np.eye(3), np.array([0, 0, 600.0]), geometry.default_intrinsics(640, 480))
    with pytest.raises(FitError, match="weights"):
        fit_pose(u, X, geometry.default_intrinsics(640, 480), -np.ones(68))
    with pytest.raises(FitError, match="focal"):
        fit_pose(u, X, np.zeros((3, 3)))
    assert issubclass(FitError, ValueError)
