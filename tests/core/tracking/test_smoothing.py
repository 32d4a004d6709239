"""The smoother on synthetic sequences with a known trajectory and blunders."""

import numpy as np
import pytest

from workers.core import geometry
from workers.core.tracking.smoothing import smooth_track
from workers.core.tracking.synthetic import make_sequence


def jitter(Rs):
    return float(geometry.geodesic_distance(Rs[:-1], Rs[1:]).mean())


def raw_rotations(seq):
    """The raw proposals with missing frames held (what a viewer of raw proposals sees)."""
    out, last = [], None
    for i, p in enumerate(seq.proposals):
        last = p[0] if p is not None else (last if last is not None else seq.truth_R[i])
        out.append(last)
    return np.stack(out)


@pytest.mark.parametrize("seed", range(6))
def test_smoothed_is_less_jittery_and_no_farther_from_truth(seed):
    seq = make_sequence(n=300, seed=seed)
    track = smooth_track(seq.proposals)
    raw = raw_rotations(seq)
    assert jitter(track.R) < jitter(raw)
    err_smooth = geometry.geodesic_distance(track.R, seq.truth_R)
    err_raw = geometry.geodesic_distance(raw, seq.truth_R)
    assert err_smooth.mean() <= err_raw.mean()
    assert err_smooth.max() < 10.0  # no blunder survives
    t_err = np.linalg.norm(track.t - seq.truth_t, axis=1).mean()
    t_raw = np.mean([np.linalg.norm(p[1] - seq.truth_t[i]) for i, p in enumerate(seq.proposals) if p is not None])
    assert t_err < t_raw


def test_blunders_are_rejected_and_gaps_marked_filled():
    seq = make_sequence(n=200, seed=11, blunder_rate=0.08, missing_rate=0.1)
    track = smooth_track(seq.proposals)
    missing = np.array([p is None for p in seq.proposals])
    assert track.rejected[seq.blunders].mean() > 0.9
    assert track.rejected[~seq.blunders & ~missing].mean() < 0.02
    assert np.array_equal(track.filled, missing | track.rejected)


def test_no_proposal_at_all_is_no_track_and_one_proposal_is_held():
    assert smooth_track([None, None]) is None
    R = geometry.euler_to_matrix([20, 5, -3])
    track = smooth_track([None, (R, None), None])
    assert track.t is None and track.filled.tolist() == [True, False, True]
    assert geometry.geodesic_distance(track.R, np.stack([R] * 3)).max() < 1e-6


def test_quaternion_sign_and_180_boundary_do_not_matter():
    # yaw sweeping through +-180 (a head seen from behind): Euler angles wrap, the track must not
    euler = np.stack([np.linspace(150, 210, 61), np.zeros(61), np.zeros(61)], -1)
    euler[:, 0] = (euler[:, 0] + 180) % 360 - 180
    Rs = geometry.euler_to_matrix(euler * [1, 0, 0])
    track = smooth_track([(R, None) for R in Rs])
    assert geometry.geodesic_distance(track.R, Rs).max() < 0.5


def test_one_and_two_frame_sequences():
    R = geometry.euler_to_matrix([20, 5, -3])
    one = smooth_track([(R, np.array([0.0, 0, 500]))])
    assert geometry.geodesic_distance(one.R[0], R) < 1e-9 and np.allclose(one.t, [[0, 0, 500]])
    two = smooth_track([(R, None), (R, None)])
    assert two.R.shape == (2, 3, 3)
