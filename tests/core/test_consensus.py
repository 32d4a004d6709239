"""workers/core/consensus.py against an independent implementation: a per-face
loop written with scipy.spatial.transform.Rotation (its own log/exp maps and
composition), and against the definition of a geodesic median (no rotation
nearby has a smaller summed geodesic distance to the members)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from workers.core import consensus as cs


def scipy_geodesic_median(rots: Rotation, start: Rotation, iterations: int = 5000) -> Rotation:
    center = start
    for _ in range(iterations):
        v = (center.inv() * rots).as_rotvec()
        d = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
        step = (v / d[:, None]).sum(0) / (1 / d).sum()
        center = center * Rotation.from_rotvec(step)
        if np.linalg.norm(step) < 1e-12:
            break
    return center


def scipy_consensus(rots: Rotation, method: str, outlier_deg=cs.OUTLIER_DEG, factor=cs.OUTLIER_FACTOR):
    """(consensus Rotation, inlier mask) by the module's rule, with scipy maths: the
    medoid by pairwise magnitudes, scipy's own chordal mean, a Weiszfeld loop."""
    n = len(rots)
    pair = np.array([[(rots[i].inv() * rots[j]).magnitude() for j in range(n)] for i in range(n)])
    medoid = rots[int(np.argmin(pair.sum(1)))]
    d = np.rad2deg((medoid.inv() * rots).magnitude())
    inlier = ~(d > max(outlier_deg, factor * np.median(d)))
    mean = rots[inlier].mean()
    if method == "chordal":
        return mean, inlier
    return scipy_geodesic_median(rots[inlier], mean), inlier


def summed_distance(center: Rotation, rots: Rotation) -> float:
    return float((center.inv() * rots).magnitude().sum())


def random_sets(rng, n_faces, k, spread_deg):
    truth = Rotation.random(n_faces, random_state=rng)
    noise = Rotation.from_rotvec(rng.normal(size=(n_faces * k, 3)) * np.deg2rad(spread_deg) / np.sqrt(3))
    members = Rotation.from_quat(np.repeat(truth.as_quat(), k, axis=0)) * noise
    return truth, members


def as_batch(members: Rotation, n_faces: int, k: int) -> np.ndarray:
    return members.as_matrix().reshape(n_faces, k, 3, 3)


@pytest.mark.parametrize("method", cs.METHODS)
@pytest.mark.parametrize("k", [3, 5])
def test_matches_scipy_on_random_sets(k, method):
    rng = np.random.default_rng(k)
    n = 40
    _, members = random_sets(rng, n, k, spread_deg=10)
    R = as_batch(members, n, k).copy()
    R[::4, 1] = Rotation.random(len(R[::4]), random_state=rng).as_matrix()  # some far-off members
    out = cs.consensus(R, method=method)
    for f in range(n):
        rots = Rotation.from_matrix(R[f])
        expected, inlier = scipy_consensus(rots, method)
        got = Rotation.from_matrix(out.R[f])
        assert (out.inlier[f] == inlier).all()
        if method == "chordal":
            assert (got.inv() * expected).magnitude() < 1e-9
        else:
            # Weiszfeld converges linearly (slowest where the median sits on a member): both stop
            # within 0.05 degrees of each other, far below any label's noise, and the module's
            # summed distance is within 1e-6 rad of the reference's
            assert (got.inv() * expected).magnitude() < np.deg2rad(0.05)
            assert summed_distance(got, rots[inlier]) <= summed_distance(expected, rots[inlier]) + 1e-6
        d = np.rad2deg((got.inv() * rots).magnitude())
        # distances come from 2 acos|<a, b>|: a few 1e-6 degrees off where a member sits on the median
        assert np.allclose(out.distance_deg[f], d, atol=2e-5)
        assert out.dispersion_deg[f] == pytest.approx(np.median(d), abs=2e-5)


def test_is_a_geodesic_median_no_nearby_rotation_is_better():
    rng = np.random.default_rng(7)
    n, k = 20, 4
    _, members = random_sets(rng, n, k, spread_deg=20)
    out = cs.consensus(as_batch(members, n, k), method="geodesic_median", outlier_deg=180)  # no rejection
    for f in range(n):
        rots = members[f * k : (f + 1) * k]
        center = Rotation.from_matrix(out.R[f])
        best = summed_distance(center, rots)
        for step in Rotation.from_rotvec(rng.normal(size=(30, 3)) * np.deg2rad(0.5)):
            assert summed_distance(center * step, rots) >= best - 1e-9


@pytest.mark.parametrize("method", cs.METHODS)
def test_signs_of_the_quaternions_do_not_matter(method):
    rng = np.random.default_rng(3)
    n, k = 30, 3
    _, members = random_sets(rng, n, k, spread_deg=8)
    q = members.as_quat()[:, [3, 0, 1, 2]].reshape(n, k, 4)  # scipy (x, y, z, w) -> (w, x, y, z)
    flipped = q * np.where(rng.random((n, k, 1)) < 0.5, -1.0, 1.0)
    a, b = cs.consensus(q, method=method), cs.consensus(flipped, method=method)
    assert np.allclose(a.R, b.R, atol=1e-9)
    assert np.allclose(a.dispersion_deg, b.dispersion_deg, atol=1e-9)
    assert (a.inlier == b.inlier).all()


@pytest.mark.parametrize("method", cs.METHODS)
def test_member_179_degrees_away_is_rejected_and_ignored(method):
    rng = np.random.default_rng(11)
    n, k = 25, 4
    _truth, members = random_sets(rng, n, k, spread_deg=3)
    R = as_batch(members, n, k).copy()
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    far = Rotation.from_matrix(R[:, 0]) * Rotation.from_rotvec(axis * np.deg2rad(179))
    R[:, 0] = far.as_matrix()
    out = cs.consensus(R, method=method)
    assert not out.inlier[:, 0].any() and out.inlier[:, 1:].all()
    assert np.all(out.distance_deg[:, 0] > 150)
    for f in range(n):
        others = Rotation.from_matrix(R[f, 1:])
        expected = others.mean() if method == "chordal" else scipy_geodesic_median(others, others.mean())
        assert (Rotation.from_matrix(out.R[f]).inv() * expected).magnitude() < np.deg2rad(0.05)


def test_antipodal_quaternions_of_one_rotation_agree_exactly():
    q = Rotation.random(1, random_state=5).as_quat()[0][[3, 0, 1, 2]]
    out = cs.consensus(np.stack([q, -q, q])[None])
    assert out.inlier.all()
    assert out.dispersion_deg[0] < 2e-5
    assert (Rotation.from_matrix(out.R[0]).inv() * Rotation.from_quat(q[[1, 2, 3, 0]])).magnitude() < 1e-7


def test_ragged_members_translation_and_empty_faces():
    R = np.tile(np.eye(3), (3, 3, 1, 1))
    t = np.array(
        [
            [[0, 0, 500], [10, 0, 500], [0, 0, 9000.0]],
            [[1, 2, 600], [np.nan, np.nan, np.nan], [0, 0, 0]],
            [[0, 0, 0]] * 3,
        ],
        dtype=float,
    )
    mask = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 0]], bool)
    out = cs.consensus(R, t, mask)
    assert out.member_count.tolist() == [3, 2, 0]
    assert np.allclose(out.t[0], [0, 0, 500])  # coordinate-wise median: the far depth is outvoted
    assert np.allclose(out.t[1], [1, 2, 600])  # the member without t is left out of t only
    assert np.isnan(out.R[2]).all() and np.isnan(out.t[2]).all() and np.isnan(out.dispersion_deg[2])


def test_weights():
    rng = np.random.default_rng(2)
    rots = Rotation.from_euler("y", [0, 10, 4], degrees=True)
    w = np.array([1.0, 5.0, 2.0])
    chordal = cs.consensus(rots.as_matrix()[None], weights=w[None], outlier_deg=180)
    assert (Rotation.from_matrix(chordal.R[0]).inv() * rots.mean(weights=w)).magnitude() < 1e-9
    median = cs.consensus(rots.as_matrix()[None], weights=w[None], method="geodesic_median", outlier_deg=180)
    # a weighted median sits on a member holding more than half the weight
    assert (Rotation.from_matrix(median.R[0]).inv() * rots[1]).magnitude() < 1e-6
    del rng


def test_group_by_face_and_pad():
    faces, row, slot, width = cs.group_by_face(np.array([7, 3, 7, 9, 7]))
    assert faces.tolist() == [3, 7, 9] and width == 3
    padded = cs.pad(np.array([1.0, 2, 3, 4, 5]), row, slot, len(faces), width)
    assert np.array_equal(np.sort(padded[1][~np.isnan(padded[1])]), [1, 3, 5])
    assert padded[0, 0] == 2 and padded[2, 0] == 4


def test_no_faces_or_no_members():
    for shape in [(0, 3), (4, 0)]:
        out = cs.consensus(np.zeros(shape + (3, 3)))
        assert out.R.shape == (shape[0], 3, 3) and out.member_count.tolist() == [0] * shape[0]
