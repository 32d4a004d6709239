"""SLERP / lerp between keyframes equals scipy's Slerp to 1e-6 rad."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from workers.core import geometry
from workers.core.tracking.interpolation import interpolate_between, lerp, slerp, slerp_quaternions

U = np.linspace(0, 1, 23)


def scipy_slerp(R0, R1, u):
    return Slerp([0, 1], Rotation.from_matrix(np.stack([R0, R1])))(u).as_matrix()


def gap_rad(A, B):
    return geometry.geodesic_distance(A, B, degrees=False)


@pytest.mark.parametrize("seed", range(20))
def test_random_pairs_match_scipy(seed):
    R0, R1 = Rotation.random(2, random_state=seed).as_matrix()
    assert gap_rad(slerp(R0, R1, U), scipy_slerp(R0, R1, U)).max() < 1e-6


@pytest.mark.parametrize("deg", [170.0, 179.0, 0.001, 0.0])
def test_far_and_near_pairs_match_scipy(deg):
    R0 = Rotation.from_euler("xyz", [10, -20, 30], degrees=True).as_matrix()
    R1 = (
        R0
        @ Rotation.from_rotvec(
            np.deg2rad(deg) * np.array([0.2, 0.9, -0.4]) / np.linalg.norm([0.2, 0.9, -0.4])
        ).as_matrix()
    )
    ours = slerp(R0, R1, U)
    assert gap_rad(ours, scipy_slerp(R0, R1, U)).max() < 1e-6
    # constant angular speed along the shorter arc
    assert np.allclose(geometry.geodesic_distance(R0, ours), deg * U, atol=1e-5)


def test_q_and_minus_q_is_the_same_rotation():
    q0 = Rotation.from_euler("zyx", [40, 10, -70], degrees=True).as_quat()[[3, 0, 1, 2]]
    q1 = Rotation.from_euler("zyx", [-100, 30, 20], degrees=True).as_quat()[[3, 0, 1, 2]]
    a = geometry.quaternion_to_matrix(slerp_quaternions(q0, q1, U))
    b = geometry.quaternion_to_matrix(slerp_quaternions(q0, -q1, U))
    c = geometry.quaternion_to_matrix(slerp_quaternions(-q0, q1, U))
    expected = scipy_slerp(geometry.quaternion_to_matrix(q0), geometry.quaternion_to_matrix(q1), U)
    for got in (a, b, c):
        assert gap_rad(got, expected).max() < 1e-6


def test_yaw_across_180_takes_the_short_way():
    R0, R1 = geometry.euler_to_matrix([[0, 0, 175]]), geometry.euler_to_matrix([[0, 0, -175]])
    mid = slerp(R0[0], R1[0], 0.5)
    assert geometry.geodesic_distance(mid, geometry.euler_to_matrix([0, 0, 180])) < 1e-6


def test_translation_is_linear_and_endpoints_exact():
    t0, t1 = np.array([0.0, 10, 600]), np.array([30.0, -10, 700])
    assert np.allclose(lerp(t0, t1, 0.25), [7.5, 5, 625])
    R0, R1 = Rotation.random(2, random_state=3).as_matrix()
    poses = interpolate_between(10, (R0, t0), 20, (R1, t1), range(10, 21))
    assert gap_rad(poses[0][0], R0) < 1e-9 and gap_rad(poses[-1][0], R1) < 1e-7
    assert np.allclose(poses[5][1], (t0 + t1) / 2)
    assert gap_rad(poses[5][0], scipy_slerp(R0, R1, [0.5])[0]) < 1e-6
    assert interpolate_between(0, (R0, None), 2, (R1, t1), [1])[0][1] is None
