"""Property tests for workers/core/geometry.py against independent math
(scipy, OpenCV, the elementary matrices written out here) and the sign meanings
of POSE_CONVENTIONS.md."""

import math

import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.linalg import polar
from scipy.spatial.transform import Rotation

from workers.core import geometry as g

PROP = settings(max_examples=200, deadline=None)

TOL = 1e-9


# ---------------------------------------------------------------- strategies
def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


quats = hnp.arrays(np.float64, 4, elements=floats(-1, 1)).filter(lambda q: np.linalg.norm(q) > 0.1)
unit_vectors = (
    hnp.arrays(np.float64, 3, elements=floats(-1, 1))
    .filter(lambda v: np.linalg.norm(v) > 0.1)
    .map(lambda v: v / np.linalg.norm(v))
)
rotations = quats.map(lambda q: Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix())
eulers = st.tuples(floats(-89, 89), floats(-179, 179), floats(-179, 179)).map(np.array)


def wrap(deg):
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def assert_rotation(R, tol=TOL):
    R = np.asarray(R)
    eye = np.broadcast_to(np.eye(3), R.shape)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), eye, atol=tol)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=tol)


# -------------------------------------------------- independent references
def rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def angle2matrix_3ddfa(p, y, r):
    """face3d's matrices, written out: transposed elementary rotations."""
    cx, sx, cy, sy, cz, sz = math.cos(p), math.sin(p), math.cos(y), math.sin(y), math.cos(r), math.sin(r)
    Rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    Ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    Rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return Rx @ Ry @ Rz


def get_R_6drepnet(p, y, r):
    return rz(r) @ ry(y) @ rx(p)


def geodesic_arccos_deg(R1, R2):
    c = (np.trace(R1.T @ R2) - 1) / 2
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


# ------------------------------------------------------------- Euler angles
@PROP
@given(eulers)
def test_euler_matches_written_out_convention_and_scipy(e):
    yaw, pitch, roll = np.deg2rad(e)
    expected = rx(-pitch) @ ry(yaw) @ rz(roll)
    np.testing.assert_allclose(g.euler_to_matrix(e), expected, atol=TOL)
    # scipy intrinsic 'XYZ' is Rx(a) Ry(b) Rz(c)
    sp = Rotation.from_euler("XYZ", [-e[1], e[0], e[2]], degrees=True).as_matrix()
    np.testing.assert_allclose(g.euler_to_matrix(e), sp, atol=TOL)


@PROP
@given(eulers)
def test_euler_round_trip(e):
    back = g.matrix_to_euler(g.euler_to_matrix(e))
    np.testing.assert_allclose(wrap(back - e), 0, atol=1e-7)


@PROP
@given(rotations)
def test_matrix_euler_matrix_round_trip(R):
    assume(abs(R[0, 2]) < 0.999)  # away from gimbal lock at |yaw| = 90
    e = g.matrix_to_euler(R)
    assert abs(e[0]) <= 90
    np.testing.assert_allclose(g.euler_to_matrix(e), R, atol=1e-9)


@PROP
@given(eulers)
def test_euler_radians_flag(e):
    np.testing.assert_allclose(g.euler_to_matrix(np.deg2rad(e), degrees=False), g.euler_to_matrix(e), atol=TOL)
    np.testing.assert_allclose(
        g.matrix_to_euler(g.euler_to_matrix(e), degrees=False),
        np.deg2rad(g.matrix_to_euler(g.euler_to_matrix(e))),
        atol=TOL,
    )


@PROP
@given(eulers)
def test_published_code_identities(e):
    yaw, pitch, roll = np.deg2rad(e)
    a3 = angle2matrix_3ddfa(pitch, yaw, roll)
    np.testing.assert_allclose(a3, get_R_6drepnet(pitch, yaw, roll).T, atol=TOL)
    F = np.diag([1.0, -1.0, -1.0])
    np.testing.assert_allclose(F @ a3 @ F, g.euler_to_matrix(e), atol=TOL)


# ------------------------------------------------------------- sign meanings
HEAD_POINTS = {
    "nose": np.array([0.0, 0.0, -100.0]),
    "chin": np.array([0.0, 100.0, 0.0]),
    "top": np.array([0.0, -100.0, 0.0]),
}
T_FRONT = np.array([0.0, 0.0, 600.0])
K_TEST = g.default_intrinsics(640, 480)


def pixel(name, e):
    return g.project(HEAD_POINTS[name][None], g.euler_to_matrix(e), T_FRONT, K_TEST)[0]


def test_identity_pose_faces_camera_upright():
    centre = K_TEST[:2, 2]
    np.testing.assert_allclose(pixel("nose", [0, 0, 0]), centre, atol=TOL)
    assert pixel("chin", [0, 0, 0])[1] > centre[1]  # chin below centre (y down)
    assert pixel("top", [0, 0, 0])[1] < centre[1]
    nose_cam = g.transform(HEAD_POINTS["nose"], np.eye(3), T_FRONT)
    assert nose_cam[2] < T_FRONT[2]  # nose points at the camera


@PROP
@given(floats(0.5, 89), floats(-89, 89), floats(-179, 179))
def test_positive_yaw_moves_nose_to_image_left(mag, pitch, roll):
    cx = K_TEST[0, 2]
    assert pixel("nose", [mag, pitch, roll])[0] < cx
    assert pixel("nose", [-mag, pitch, roll])[0] > cx


@PROP
@given(floats(0.5, 89), floats(-89, 89), floats(-179, 179))
def test_positive_pitch_moves_nose_up(mag, yaw, roll):
    cy = K_TEST[1, 2]
    assert pixel("nose", [yaw, mag, roll])[1] < cy
    assert pixel("nose", [yaw, -mag, roll])[1] > cy


@PROP
@given(floats(0.5, 89))
def test_positive_pitch_lifts_chin_forward(mag):
    # chin up = the chin swings toward the camera (its image row is not a clean
    # signal: coming closer, perspective pushes it down for small angles)
    chin_up = g.transform(HEAD_POINTS["chin"], g.euler_to_matrix([0, mag, 0]), T_FRONT)
    chin_down = g.transform(HEAD_POINTS["chin"], g.euler_to_matrix([0, -mag, 0]), T_FRONT)
    assert chin_up[2] < T_FRONT[2] < chin_down[2]


@PROP
@given(floats(0.5, 179), floats(-89, 89), floats(-89, 89))
def test_positive_roll_moves_top_of_head_to_image_right(mag, yaw, pitch):
    cx = K_TEST[0, 2]
    assert pixel("top", [yaw, pitch, mag])[0] > cx
    assert pixel("top", [yaw, pitch, -mag])[0] < cx


# ---------------------------------------------------------------- quaternions
@PROP
@given(quats)
def test_quaternion_to_matrix_matches_scipy(q):
    sp = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()
    np.testing.assert_allclose(g.quaternion_to_matrix(q), sp, atol=TOL)
    np.testing.assert_allclose(g.quaternion_to_matrix(-q), sp, atol=TOL)  # q and -q: same rotation


@PROP
@given(quats)
def test_quaternion_round_trip(q):
    unit = q / np.linalg.norm(q)
    back = g.matrix_to_quaternion(g.quaternion_to_matrix(q))
    np.testing.assert_allclose(np.linalg.norm(back), 1.0, atol=TOL)
    assert back[0] >= 0
    if abs(unit[0]) > 1e-6:
        np.testing.assert_allclose(back, np.sign(unit[0]) * unit, atol=1e-9)
    else:  # 180 degrees: the sign is genuinely ambiguous
        assert min(np.abs(back - unit).max(), np.abs(back + unit).max()) < 1e-9


@PROP
@given(unit_vectors, floats(0, 1e-6))
def test_quaternion_round_trip_near_180(axis, w):
    q = np.concatenate([[w], axis * math.sqrt(1 - w * w)])
    R = g.quaternion_to_matrix(q)
    back = g.matrix_to_quaternion(R)
    assert min(np.abs(back - q).max(), np.abs(back + q).max()) < 1e-9
    np.testing.assert_allclose(g.quaternion_to_matrix(back), R, atol=TOL)


# ---------------------------------------------------------------- axis-angle
@PROP
@given(unit_vectors, floats(0, math.pi - 1e-6))
def test_axis_angle_matches_rodrigues_and_round_trips(axis, angle):
    v = axis * angle
    R = g.axis_angle_to_matrix(v)
    np.testing.assert_allclose(R, cv2.Rodrigues(v)[0], atol=1e-9)
    np.testing.assert_allclose(g.matrix_to_axis_angle(R), v, atol=1e-8)


@PROP
@given(unit_vectors, floats(1e-12, 1e-5))
def test_axis_angle_near_zero(axis, angle):
    v = axis * angle
    R = g.axis_angle_to_matrix(v)
    np.testing.assert_allclose(R, Rotation.from_rotvec(v).as_matrix(), atol=1e-15)
    np.testing.assert_allclose(g.matrix_to_axis_angle(R), v, rtol=1e-6, atol=1e-17)


def test_axis_angle_exact_zero():
    np.testing.assert_array_equal(g.axis_angle_to_matrix(np.zeros(3)), np.eye(3))
    np.testing.assert_array_equal(g.matrix_to_axis_angle(np.eye(3)), np.zeros(3))


@PROP
@given(unit_vectors, floats(0, 1e-6))
def test_axis_angle_near_pi(axis, delta):
    v = axis * (math.pi - delta)
    R = g.axis_angle_to_matrix(v)
    np.testing.assert_allclose(R, Rotation.from_rotvec(v).as_matrix(), atol=1e-9)
    back = g.matrix_to_axis_angle(R)
    assert np.linalg.norm(back) <= math.pi + 1e-12
    # at pi the axis sign is ambiguous: v and -v are the same rotation
    assert min(np.abs(back - v).max(), np.abs(back + v).max()) < 1e-7
    np.testing.assert_allclose(g.axis_angle_to_matrix(back), R, atol=1e-9)


@PROP
@given(hnp.arrays(np.float64, 3, elements=floats(-10, 10)))
def test_axis_angle_beyond_pi_wraps(v):
    R = g.axis_angle_to_matrix(v)
    np.testing.assert_allclose(R, cv2.Rodrigues(v)[0], atol=1e-9)
    assert np.linalg.norm(g.matrix_to_axis_angle(R)) <= math.pi + 1e-9


# ------------------------------------------------------------------------ 6D
@PROP
@given(rotations)
def test_sixd_round_trip(R):
    d6 = g.matrix_to_sixd(R)
    np.testing.assert_allclose(d6, np.concatenate([R[:, 0], R[:, 1]]), atol=0)
    np.testing.assert_allclose(g.sixd_to_matrix(d6), R, atol=TOL)


@PROP
@given(rotations, hnp.arrays(np.float64, 6, elements=floats(-0.4, 0.4)), floats(0.1, 100))
def test_sixd_from_perturbed_input_is_gram_schmidt_rotation(R, noise, scale):
    d6 = scale * (g.matrix_to_sixd(R) + noise)
    a1, a2 = d6[:3], d6[3:]
    out = g.sixd_to_matrix(d6)
    assert_rotation(out)
    np.testing.assert_allclose(out[:, 0], a1 / np.linalg.norm(a1), atol=TOL)
    # the second column lies in span(a1, a2), on a2's side
    assert abs(np.dot(np.cross(a1, a2), out[:, 1])) < 1e-9 * np.linalg.norm(np.cross(a1, a2))
    assert np.dot(out[:, 1], a2) > 0


# --------------------------------------------------- outputs are rotations
@PROP
@given(
    hnp.arrays(np.float64, (5, 3), elements=floats(-400, 400)),
    hnp.arrays(np.float64, (5, 4), elements=floats(-1, 1).filter(lambda x: abs(x) > 0.05)),
    hnp.arrays(np.float64, (5, 3), elements=floats(-20, 20)),
    hnp.arrays(np.float64, (5, 3, 3), elements=floats(-5, 5)),
)
def test_every_constructor_returns_rotations(e, q, v, M):
    assert_rotation(g.euler_to_matrix(e))
    assert_rotation(g.quaternion_to_matrix(q))
    assert_rotation(g.axis_angle_to_matrix(v))
    assert_rotation(g.nearest_rotation(M))  # even a singular M gives a rotation
    assert_rotation(g.sixd_to_matrix(g.matrix_to_sixd(M + 3 * np.eye(3))))


@PROP
@given(hnp.arrays(np.float64, (3, 3), elements=floats(-5, 5)))
def test_nearest_rotation_is_polar_factor(M):
    assume(np.linalg.svd(M, compute_uv=False).min() > 1e-2 and np.linalg.det(M) > 0)
    U, _ = polar(M)  # orthogonal polar factor = nearest orthogonal matrix
    np.testing.assert_allclose(g.nearest_rotation(M), U, atol=1e-7)


@PROP
@given(rotations, floats(0.01, 100))
def test_nearest_rotation_keeps_scaled_rotation(R, s):
    np.testing.assert_allclose(g.nearest_rotation(s * R), R, atol=TOL)


def test_is_rotation():
    assert g.is_rotation(g.euler_to_matrix([10, 20, 30]))
    assert not g.is_rotation(np.diag([1.0, 1.0, -1.0]))
    assert not g.is_rotation(2 * np.eye(3))
    assert not g.is_rotation(np.eye(4))


# ------------------------------------------------------------------ geodesic
@PROP
@given(rotations, rotations)
def test_geodesic_symmetric_and_matches_arccos(R1, R2):
    d12 = g.geodesic_distance(R1, R2)
    np.testing.assert_allclose(d12, g.geodesic_distance(R2, R1), atol=1e-9)
    assert 0 <= d12 <= 180
    ref = geodesic_arccos_deg(R1, R2)
    assume(1 < ref < 179)  # arccos itself is imprecise at the ends
    np.testing.assert_allclose(d12, ref, atol=1e-6)


@PROP
@given(rotations)
def test_geodesic_zero_on_identity(R):
    assert g.geodesic_distance(R, R) < 1e-6
    assert g.geodesic_distance(np.eye(3), np.eye(3)) == 0


@PROP
@given(rotations, unit_vectors, floats(0, math.pi))
def test_geodesic_equals_axis_angle(R, axis, angle):
    delta = g.axis_angle_to_matrix(axis * angle)
    np.testing.assert_allclose(g.geodesic_distance(R, R @ delta), math.degrees(angle), atol=1e-6)
    np.testing.assert_allclose(g.geodesic_distance(R, delta @ R, degrees=False), angle, atol=1e-8)


@PROP
@given(rotations, rotations, rotations)
def test_geodesic_triangle_inequality(A, B, C):
    assert g.geodesic_distance(A, C) <= g.geodesic_distance(A, B) + g.geodesic_distance(B, C) + 1e-7


# ------------------------------------------------------------- rotation mean
@PROP
@given(unit_vectors, floats(-180, 180), st.lists(st.tuples(floats(-70, 70), floats(0.1, 3)), min_size=1, max_size=8))
def test_rotation_mean_about_one_axis_is_circular_mean(axis, base, items):
    angles = np.deg2rad(base + np.array([a for a, _ in items]))
    w = np.array([wt for _, wt in items])
    Rs = g.axis_angle_to_matrix(axis[None] * angles[:, None])
    # chordal L2 mean of rotations about one axis = weighted circular mean of angles
    expected = math.atan2(np.sum(w * np.sin(angles)), np.sum(w * np.cos(angles)))
    mean = g.rotation_mean(Rs, w)
    assert g.geodesic_distance(mean, g.axis_angle_to_matrix(axis * expected)) < 1e-6


@PROP
@given(unit_vectors, floats(-170, 170), st.lists(floats(0, 80), min_size=1, max_size=5))
def test_rotation_mean_of_symmetric_spread_is_the_mean_angle(axis, base, offsets):
    degs = np.concatenate([[base], base + np.array(offsets), base - np.array(offsets)])
    Rs = g.axis_angle_to_matrix(axis[None] * np.deg2rad(degs)[:, None])
    assert g.geodesic_distance(g.rotation_mean(Rs), g.axis_angle_to_matrix(axis * np.deg2rad(np.mean(degs)))) < 1e-6


# ---------------------------------------------------------------- projection
@PROP
@given(
    unit_vectors,
    floats(0, 3.1),
    hnp.arrays(np.float64, 3, elements=floats(-200, 200)),
    floats(300, 3000),
    hnp.arrays(np.float64, (7, 3), elements=floats(-100, 100)),
    floats(200, 3000),
    floats(200, 3000),
    floats(-50, 1500),
    floats(-50, 1500),
)
def test_project_matches_cv2(axis, angle, txy, tz, X, fx, fy, cx, cy):
    rvec = axis * angle
    R = cv2.Rodrigues(rvec)[0]
    t = np.array([txy[0], txy[1], tz])
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    ref, _ = cv2.projectPoints(X, rvec, t, K, None)
    np.testing.assert_allclose(g.project(X, R, t, K), ref[:, 0, :], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(g.project_points(g.transform(X, R, t), K), ref[:, 0, :], rtol=1e-9, atol=1e-6)


def test_transform_and_project_are_batched():
    rng = np.random.default_rng(0)
    R = Rotation.random(4, random_state=1).as_matrix()
    t = np.c_[rng.uniform(-50, 50, (4, 2)), rng.uniform(400, 900, 4)]
    X = rng.uniform(-100, 100, (4, 6, 3))
    K = np.stack([np.array([[f, 0, 300], [0, f * 1.1, 200], [0, 0, 1]]) for f in (400, 500, 600, 700)])
    batched = g.project(X, R, t, K)
    assert batched.shape == (4, 6, 2)
    for i in range(4):
        np.testing.assert_allclose(batched[i], g.project(X[i], R[i], t[i], K[i]), atol=1e-9)
        np.testing.assert_allclose(g.transform(X[i, 0], R[i], t[i]), R[i] @ X[i, 0] + t[i], atol=1e-9)


@PROP
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_default_intrinsics(w, h):
    K = g.default_intrinsics(w, h)
    assert K[0, 0] == K[1, 1] == w
    assert K[0, 1] == K[1, 0] == K[2, 0] == K[2, 1] == 0 and K[2, 2] == 1
    # pixel (0,0) is the centre of the top-left pixel, so the optical axis hits
    # the middle between the first and the last pixel centre
    np.testing.assert_allclose(g.project_points(np.array([[0.0, 0.0, 1000.0]]), K)[0], [(w - 1) / 2, (h - 1) / 2])
    # fx = w: a point at x = z/2 lands half an image width right of the centre
    np.testing.assert_allclose(g.project_points(np.array([[500.0, 0.0, 1000.0]]), K)[0, 0], (w - 1) / 2 + w / 2)


def test_to_threejs_flips_y_and_z():
    R = g.euler_to_matrix([20, -10, 5])
    t = np.array([10.0, 20.0, 600.0])
    R3, t3 = g.to_threejs(R, t)
    F = np.diag([1.0, -1.0, -1.0])
    np.testing.assert_allclose(R3, F @ R @ F)
    np.testing.assert_allclose(t3, [10.0, -20.0, -600.0])
    Rb, tb = g.to_threejs(np.stack([R, R.T]), np.stack([t, 2 * t]))
    np.testing.assert_allclose(tb[1], [20.0, -40.0, -1200.0])
    np.testing.assert_allclose(Rb[1], F @ R.T @ F)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call",
    [
        lambda: g.euler_to_matrix([1, 2]),
        lambda: g.matrix_to_euler(np.eye(4)),
        lambda: g.quaternion_to_matrix([0, 0, 0, 0]),
        lambda: g.quaternion_to_matrix([1, 0, 0]),
        lambda: g.axis_angle_to_matrix("abc"),
        lambda: g.sixd_to_matrix([1, 0, 0, 2, 0, 0]),
        lambda: g.sixd_to_matrix(np.ones(5)),
        lambda: g.geodesic_distance(np.eye(3), np.eye(2)),
        lambda: g.rotation_mean(np.eye(3)[None], weights=[1, 2]),
        lambda: g.rotation_mean(np.zeros((0, 3, 3))),
        lambda: g.project_points(np.ones((4, 2)), np.eye(3)),
        lambda: g.transform(np.ones((4, 3)), np.eye(3), [1, 2]),
        lambda: g.default_intrinsics(0, 10),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(g.GeometryInputError) as info:
        call()
    assert isinstance(info.value, ValueError) and str(info.value)
