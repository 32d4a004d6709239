"""Frame labels (keyframe | interpolated | smoothed_proposal), linking, spikes."""

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from workers.core import geometry
from workers.core.tracking.labels import INTERPOLATED, KEYFRAME, SMOOTHED_PROPOSAL, frame_labels
from workers.core.tracking.linking import Detection, link_detections
from workers.core.tracking.smoothing import smooth_track
from workers.core.tracking.spikes import angular_velocity, next_spike, spike_frames
from workers.core.tracking.synthetic import make_sequence


def test_kinds_and_exact_interpolation_between_keyframes():
    seq = make_sequence(n=50, seed=2)
    track = smooth_track(seq.proposals)
    keys = {10: (seq.truth_R[10], seq.truth_t[10]), 30: (seq.truth_R[30], seq.truth_t[30])}
    labels = frame_labels(50, keys, track)
    assert [lab.kind for lab in labels[9:12]] == [SMOOTHED_PROPOSAL, KEYFRAME, INTERPOLATED]
    assert labels[31].kind == SMOOTHED_PROPOSAL
    expected = Slerp([10, 30], Rotation.from_matrix(np.stack([keys[10][0], keys[30][0]])))(
        np.arange(11, 30)
    ).as_matrix()
    got = np.stack([lab.R for lab in labels[11:30]])
    assert geometry.geodesic_distance(got, expected, degrees=False).max() < 1e-6
    assert np.allclose(labels[20].t, (keys[10][1] + keys[30][1]) / 2)
    # outside the keyframes: the track carried by the keyframe's correction (no jump at the keyframe)
    assert (
        geometry.geodesic_distance(labels[9].R, keys[10][0])
        < 2 * geometry.geodesic_distance(track.R[9], track.R[10]) + 1e-6
    )
    step_track = geometry.geodesic_distance(track.R[40], track.R[41])
    assert abs(geometry.geodesic_distance(labels[40].R, labels[41].R) - step_track) < 1e-6


def test_without_track_the_nearest_keyframe_is_held_and_without_anything_no_label():
    R = geometry.euler_to_matrix([10, 0, 0])
    labels = frame_labels(5, {2: (R, None)})
    assert labels[0].kind == INTERPOLATED and geometry.geodesic_distance(labels[0].R, R) < 1e-9
    assert frame_labels(3, {}) == [None, None, None]


def test_two_faces_crossing_keep_their_tracks():
    left, right = geometry.euler_to_matrix([40, 0, 0]), geometry.euler_to_matrix([-40, 0, 0])
    frames = []
    for f in range(20):
        x = 10 * f
        # the two boxes overlap fully at f = 10; pose continuity decides there
        frames.append([Detection((100 + x, 100, 200 + x, 200), left), Detection((300 - x, 100, 400 - x, 200), right)])
    tracks = link_detections(frames)
    assert len(tracks) == 2
    for tr in tracks:
        poses = [frames[f][d].R for f, d in sorted(tr.members.items())]
        assert len(poses) == 20
        assert max(geometry.geodesic_distance(poses[0], p) for p in poses) < 1e-9


def test_a_gap_longer_than_max_gap_starts_a_new_track():
    det = Detection((0, 0, 100, 100), None)
    tracks = link_detections([[det], [], [], [det]], max_gap=1)
    assert len(tracks) == 2
    assert len(link_detections([[det], [], [], [det]], max_gap=2)) == 1


def test_spikes_are_the_blunders():
    seq = make_sequence(n=200, seed=5, missing_rate=0.0, blunder_rate=0.05)
    Rs = np.stack([p[0] for p in seq.proposals])
    spikes = spike_frames(Rs, fps=25)
    assert set(np.nonzero(seq.blunders)[0]) <= set(spikes)
    assert angular_velocity(Rs, 25)[0] == 0
    assert next_spike(spikes, spikes[0]) == spikes[1] and next_spike([3], 3) is None


def test_interpolation_runs_on_frame_numbers_when_some_are_missing():
    R0, R1 = geometry.euler_to_matrix([0, 0, 0]), geometry.euler_to_matrix([40, 0, 0])
    labels = frame_labels([3, 4, 7, 13], {3: (R0, None), 13: (R1, None)})
    assert [lab.frame for lab in labels] == [3, 4, 7, 13]
    assert abs(geometry.geodesic_distance(R0, labels[2].R) - 16.0) < 1e-6  # (7 - 3) / 10 of 40 degrees
