"""Choosing the reliability constants (workers/core/reliability.py), not a test.

Simulated teams on the *fitting* seeds 1000-1009 only (the tests, the bench and
docs/QUALITY.md report on other seeds): 6 annotators with geodesic RMS noise
1, 2, 3, 5 degrees, one who blunders (sigma 1, every 10th label turned 60-120
degrees) and one who accepts every proposal unmoved (proposals 4 degrees off);
each face gets 3 of them at random. For each candidate (PRIOR_LABELS, HUBER_K,
HONEYPOT_WEIGHT) prints the median geodesic error of the consensus to the truth
on faces with 3 labels, against the unweighted chordal consensus and the best
annotator alone, and the Spearman rank of the noise estimates (JSON lines).

Run: .venv/bin/python bench/fit_reliability.py [--faces N]"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.core import geometry
from workers.core import reliability as rel
from workers.core.consensus import consensus, group_by_face, pad, quaternion_distance_rad

SIGMAS = (1.0, 2.0, 3.0, 5.0)  # then the blunderer (1.0 + blunders) and the acceptor
FIT_SEEDS = range(1000, 1010)


def team(n_faces: int, seed: int, per_face: int = 3, honeypot_share: float = 0.05):
    """Flat simulated labels: (truth q (F, 4), face, annotator, q, proposal q, honeypot arrays, true sigma)."""
    rng = np.random.default_rng(seed)
    n_ann = len(SIGMAS) + 2
    truth = geometry.euler_to_matrix(rng.uniform([-85, -30, -20], [85, 30, 20], (n_faces, 3)))
    proposal = truth @ geometry.axis_angle_to_matrix(rng.normal(size=(n_faces, 3)) * np.deg2rad(4) / np.sqrt(3))
    who = np.argsort(rng.random((n_faces, n_ann)), axis=1)[:, :per_face]
    annotator = who.reshape(-1)
    face = np.repeat(np.arange(n_faces), per_face)
    sig = np.array([*SIGMAS, 1.0, 0.0])[annotator]
    R = truth[face] @ geometry.axis_angle_to_matrix(
        rng.normal(size=(len(face), 3)) * np.deg2rad(sig / np.sqrt(3))[:, None]
    )
    blunder = (annotator == len(SIGMAS)) & (rng.random(len(face)) < 0.1)
    axis = rng.normal(size=(int(blunder.sum()), 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    R[blunder] = R[blunder] @ geometry.axis_angle_to_matrix(axis * np.deg2rad(rng.uniform(60, 120, (len(axis), 1))))
    acc = annotator == len(SIGMAS) + 1
    R[acc] = proposal[face[acc]]
    q = geometry.matrix_to_quaternion(R)
    pq = geometry.matrix_to_quaternion(proposal[face])
    # honeypot answers: fresh labels of other faces vs the truth, with the same noise model
    n_hp = int(honeypot_share * len(face))
    hp_ann = rng.integers(0, n_ann, n_hp)
    hp_sig = np.array([*SIGMAS, 1.0, 4.0])[hp_ann]
    hp_err = np.linalg.norm(rng.normal(size=(n_hp, 3)), axis=1) * hp_sig / np.sqrt(3)
    hp_err[(hp_ann == len(SIGMAS)) & (rng.random(n_hp) < 0.1)] = 90.0
    return geometry.matrix_to_quaternion(truth), face, annotator, q, pq, hp_ann, hp_err


def evaluate(n_faces, seed, **constants):
    tq, face, annotator, q, pq, hp_ann, hp_err = team(n_faces, seed)
    est = rel.estimate(
        face, annotator, q, np.ones(len(face), bool), pq, hp_annotator=hp_ann, hp_error_deg=hp_err, **constants
    )
    three = est.members.mask.sum(1) >= 3
    err_w = np.rad2deg(quaternion_distance_rad(est.result.quaternion, tq[est.members.faces]))
    faces, row, slot, width = group_by_face(face)
    plain = consensus(
        pad(q, row, slot, len(faces), width, fill=1.0),
        None,
        pad(np.ones(len(face), bool), row, slot, len(faces), width, fill=False).astype(bool),
    )
    err_c = np.rad2deg(quaternion_distance_rad(plain.quaternion, tq[faces]))
    single = np.rad2deg(quaternion_distance_rad(q, tq[face]))
    best = min(np.median(single[annotator == a]) for a in range(len(SIGMAS) + 2))
    true_noise = np.array([*SIGMAS, 1.0, 4.0])
    est_noise = est.noise.lookup(np.arange(len(true_noise)))
    est_noise[-1] = est.noise.lookup(np.array([rel.PROPOSER]))[0]  # the acceptor's labels are the proposer's
    rank = np.corrcoef(np.argsort(np.argsort(true_noise[:-1])), np.argsort(np.argsort(est_noise[:-1])))[0, 1]
    return {
        "weighted": float(np.median(err_w[three])),
        "chordal": float(np.median(err_c[np.isin(faces, est.members.faces[three])])),
        "best_single": float(best),
        "rank": float(rank),
        "rounds": est.rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=3000)
    args = parser.parse_args()
    for prior, k, hw in itertools.product((2.0, 5.0, 20.0), (1.0, 2.0, 3.0, 100.0), (1.0, 2.0, 4.0)):
        runs = [evaluate(args.faces, s, prior_labels=prior, huber_k=k, honeypot_weight=hw) for s in FIT_SEEDS]
        print(
            json.dumps(
                {
                    "prior_labels": prior,
                    "huber_k": k,
                    "honeypot_weight": hw,
                    **{key: round(float(np.mean([r[key] for r in runs])), 4) for key in runs[0]},
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
