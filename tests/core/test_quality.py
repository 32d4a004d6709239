"""workers/core/quality.py: scores from known synthetic annotators, leave-one-out
agreement checked against scipy, the noise floor's bins."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from workers.core import quality as q

SIGMAS = [0.5, 2.0, 6.0]


def team(n_faces=300, seed=0):
    rng = np.random.default_rng(seed)
    truth = Rotation.from_euler("yxz", rng.uniform([-80, -20, -10], [80, 20, 10], (n_faces, 3)), degrees=True)
    proposal = truth * Rotation.from_rotvec(rng.normal(size=(n_faces, 3)) * np.deg2rad(4) / np.sqrt(3))
    R, who, face, prop = [], [], [], []
    for a, sigma in enumerate(SIGMAS + ["acceptor"]):
        if sigma == "acceptor":
            R.append(proposal.as_matrix())
        else:
            R.append(
                (
                    truth * Rotation.from_rotvec(rng.normal(size=(n_faces, 3)) * np.deg2rad(sigma) / np.sqrt(3))
                ).as_matrix()
            )
        who += [a] * n_faces
        face += list(range(n_faces))
        prop.append(proposal.as_matrix())
    n = len(who)
    labels = q.LabelTable(
        annotator=np.array(who),
        face=np.array(face),
        R=np.concatenate(R),
        t=np.full((n, 3), np.nan),
        time_s=np.tile(np.arange(1, 5.0), n // 4 + 1)[:n],
        finished_at=1.7e9 + np.arange(n) * 10.0,
        proposal_R=np.concatenate(prop),
        review=np.zeros(n, np.int8),
        counts_for_consensus=np.ones(n, bool),
    )
    hp = np.arange(n) % 10 == 0
    honeypots = q.HoneypotTable(
        annotator=np.array(who)[hp],
        abs_yaw=np.full(hp.sum(), 20.0),
        error_deg=np.array([([*SIGMAS, 4.0])[a] for a in np.array(who)[hp]]),
    )
    return truth, labels, honeypots


def test_scores_rank_known_annotators():
    _, labels, honeypots = team()
    figures = q.report_figures(labels, honeypots, review_deg=5.0)
    s = figures["scores"]
    assert s[0]["agreement_geodesic_median"] < s[1]["agreement_geodesic_median"] < s[2]["agreement_geodesic_median"]
    assert s[3]["proposal_moved_median"] == pytest.approx(0, abs=1e-5)
    assert min(s[a]["proposal_moved_median"] for a in range(3)) > 1.0
    assert [s[a]["honeypot_geodesic_median"] for a in range(4)] == [0.5, 2.0, 6.0, 4.0]
    assert s[0]["faces"] == 300 and s[0]["honeypot_answers"] == 30
    assert s[0]["throughput_per_hour"] == pytest.approx(300 * 3600 / labels.time_s[:300].sum())
    assert sum(b["n"] for b in figures["noise_floor"]) == figures["faces_with_overlap"] == 300


@pytest.mark.parametrize("n_annotators", [2, 3, 4])
def test_agreement_is_the_distance_to_the_other_annotators_consensus(n_annotators):
    _, labels, _honeypots = team(n_faces=20)
    keep = labels.annotator < n_annotators  # 1, 2 or 3 others per face: each path of the computation
    labels = q.LabelTable(**{k: None if v is None else v[keep] for k, v in vars(labels).items()})
    fc = q.face_consensus(labels)
    agreement = q.leave_one_out_distance(labels, fc)
    for i in (0, 7, 25, len(labels.face) - 1):
        others = (labels.face == labels.face[i]) & (np.arange(len(labels.face)) != i)
        mean = Rotation.from_matrix(labels.R[others]).mean()  # small spread: no outlier among them
        expected = np.rad2deg((mean.inv() * Rotation.from_matrix(labels.R[i])).magnitude())
        assert agreement[i] == pytest.approx(expected, abs=1e-4)


def test_no_labels_at_all():
    empty = q.LabelTable(
        annotator=np.zeros(0, int),
        face=np.zeros(0, int),
        R=np.zeros((0, 3, 3)),
        t=np.zeros((0, 3)),
        time_s=np.zeros(0),
        finished_at=np.zeros(0),
        proposal_R=np.zeros((0, 3, 3)),
        review=np.zeros(0, np.int8),
        counts_for_consensus=np.zeros(0, bool),
    )
    figures = q.report_figures(empty, q.HoneypotTable(np.zeros(0, int), np.zeros(0), np.zeros(0)), 5.0)
    assert figures["faces_labeled"] == 0 and figures["scores"] == {} and figures["dispersion_median"] is None
